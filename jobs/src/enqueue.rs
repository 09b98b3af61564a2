//! Enqueueing: a job is pushed inside the caller's transaction, so it exists only if the
//! business rows it points to commit with it. Every push carries the job's `max_attempts`,
//! its explicit queue name and its tenant (claims are fair between tenants); a job to run
//! now always wakes a listening worker. Dedupe belongs in the caller's own unique keys.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mujibak_core::db::job_push::{self as db, NewJob, RunAt};
use sqlx::PgConnection;

use crate::job::Job;

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

/// Pushes `job` to run now, on the caller's connection or transaction (`&mut *tx`).
/// Returns the job's id.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J) -> Result<String, QueueError> {
    push(conn, job, None).await
}

/// Pushes `job` to run once `delay` has passed since the transaction began.
pub async fn enqueue_in<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    delay: Duration,
) -> Result<String, QueueError> {
    push(conn, job, Some(RunAt::In(delay))).await
}

/// Pushes `job` to run at `at`.
pub async fn enqueue_at<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    at: DateTime<Utc>,
) -> Result<String, QueueError> {
    push(conn, job, Some(RunAt::At(at))).await
}

/// Pushes several jobs of one type to run now, in as few statements as possible. Returns
/// their ids, in order.
pub async fn enqueue_many<J: Job>(conn: &mut PgConnection, jobs: &[J]) -> Result<Vec<String>, QueueError> {
    let rows = jobs.iter().map(|job| new_job(job, None)).collect::<Result<Vec<_>, _>>()?;
    for chunk in rows.chunks(5_000) {
        db::push(conn, J::QUEUE, chunk).await?;
    }
    Ok(rows.into_iter().map(|r| r.id).collect())
}

async fn push<J: Job>(conn: &mut PgConnection, job: &J, run_at: Option<RunAt>) -> Result<String, QueueError> {
    let row = new_job(job, run_at)?;
    db::push(conn, J::QUEUE, std::slice::from_ref(&row)).await?;
    Ok(row.id)
}

/// The row that would enqueue `job` to run now, for a caller that writes it in a statement
/// of its own (the webhook stores a delivery and its job in one).
pub fn prepare<J: Job>(job: &J) -> Result<NewJob, QueueError> {
    new_job(job, None)
}

fn new_job<J: Job>(job: &J, run_at: Option<RunAt>) -> Result<NewJob, QueueError> {
    Ok(NewJob {
        id: ulid::Ulid::generate().to_string(),
        payload: serde_json::to_vec(job)?,
        max_attempts: J::MAX_ATTEMPTS as i32,
        tenant: job.tenant().map(|t| t.to_string()),
        run_at,
    })
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
    db::push(conn, queue, std::slice::from_ref(&row)).await?;
    Ok(row.id)
}
