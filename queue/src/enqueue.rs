//! Enqueueing: a job is pushed inside the caller's transaction, so it exists only if the
//! rows it points to commit with it. Every push carries the job's `max_attempts`, its
//! explicit queue name and its group (claims are fair between groups); a job wakes a
//! listening worker once its transaction has committed and its time has come (`announce`).
//! Dedupe belongs in the caller's own unique keys.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

pub use crate::db::push::{NewJob, RunAt};
use crate::{announce, db::push as db, job::Job};

/// Why a queue operation (enqueue, cron tick, schema set-up) failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("could not encode the job payload: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("could not set up apalis' schema: {0}")]
    Setup(#[from] apalis_postgres::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The row of a job with payload `payload` (a new id).
pub fn row(payload: Vec<u8>, max_attempts: u32, group: Option<String>, run_at: Option<RunAt>) -> NewJob {
    NewJob {
        id: ulid::Ulid::generate().to_string(),
        payload,
        max_attempts: max_attempts as i32,
        tenant: group,
        run_at,
    }
}

/// The row that would enqueue `job` (to run at `run_at`, or now).
pub fn prepare<J: Job>(job: &J, run_at: Option<RunAt>) -> Result<NewJob, QueueError> {
    Ok(row(serde_json::to_vec(job)?, J::MAX_ATTEMPTS, job.group(), run_at))
}

/// Inserts `rows` of `queue` on the caller's connection, in as few statements as possible.
pub async fn push_rows(conn: &mut PgConnection, queue: &str, rows: &[NewJob]) -> Result<(), QueueError> {
    for chunk in rows.chunks(5_000) {
        db::push(conn, queue, chunk).await?;
    }
    for row in rows {
        announce::due_in(&row.id, delay(row.run_at));
    }
    Ok(())
}

/// How long from now a job to run at `run_at` is due (announced then, once committed).
/// Counted from after the push, so never before the `run_at` the database set (an `At`
/// time is read on this process's clock: one running ahead of the database's announces
/// early, and the workers' poll finds the job).
fn delay(run_at: Option<RunAt>) -> Duration {
    match run_at {
        None => Duration::ZERO,
        Some(RunAt::In(delay)) => delay,
        Some(RunAt::At(at)) => (at - Utc::now()).to_std().unwrap_or_default(),
    }
}

/// Pushes `job` to run now, on the caller's connection or transaction (`&mut *tx`).
/// Returns the job's id.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J) -> Result<String, QueueError> {
    let row = prepare(job, None)?;
    push_rows(conn, J::QUEUE, std::slice::from_ref(&row)).await?;
    Ok(row.id)
}

/// Pushes `job` to run once `delay` has passed since the transaction began.
pub async fn enqueue_in<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    delay: Duration,
) -> Result<String, QueueError> {
    let row = prepare(job, Some(RunAt::In(delay)))?;
    push_rows(conn, J::QUEUE, std::slice::from_ref(&row)).await?;
    Ok(row.id)
}

/// Pushes `job` to run at `at`.
pub async fn enqueue_at<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    at: DateTime<Utc>,
) -> Result<String, QueueError> {
    let row = prepare(job, Some(RunAt::At(at)))?;
    push_rows(conn, J::QUEUE, std::slice::from_ref(&row)).await?;
    Ok(row.id)
}

/// Pushes an encoded payload with a known id to `queue` (the cron scheduler records the
/// id with its tick).
pub(crate) async fn push_payload(
    conn: &mut PgConnection,
    queue: &str,
    id: String,
    payload: Vec<u8>,
    max_attempts: u32,
) -> Result<String, QueueError> {
    let row = NewJob { id, payload, max_attempts: max_attempts as i32, tenant: None, run_at: None };
    push_rows(conn, queue, std::slice::from_ref(&row)).await?;
    Ok(row.id)
}
