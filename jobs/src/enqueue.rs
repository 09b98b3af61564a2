//! Enqueueing: a job is pushed inside the caller's transaction, so it exists only if the
//! business rows it points to commit with it. Every push carries the job's `max_attempts`
//! and its explicit queue name. Dedupe belongs in the caller's own unique keys, never in
//! apalis' idempotency key (a duplicate there aborts the whole transaction).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis::prelude::{TaskBuilder, TaskId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::job::Job;

/// Why a queue operation (enqueue, cron tick, schema set-up) failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("could not encode the job payload: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("could not insert the job: {0}")]
    Push(#[from] apalis_postgres::Error),
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

/// Pushes `job` to run once `delay` has passed (1-second resolution).
pub async fn enqueue_in<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    delay: Duration,
) -> Result<String, QueueError> {
    let at = SystemTime::now() + delay;
    push(conn, job, Some(at)).await
}

/// Pushes `job` to run at `at` (1-second resolution).
pub async fn enqueue_at<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    at: DateTime<Utc>,
) -> Result<String, QueueError> {
    push(conn, job, Some(at.into())).await
}

async fn push<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    at: Option<SystemTime>,
) -> Result<String, QueueError> {
    push_payload(conn, J::QUEUE, serde_json::to_vec(job)?, J::MAX_ATTEMPTS, None, at).await
}

/// Pushes an encoded payload to `queue` (the cron scheduler needs the id up front).
pub(crate) async fn push_payload(
    conn: &mut PgConnection,
    queue: &str,
    payload: Vec<u8>,
    max_attempts: u32,
    id: Option<String>,
    at: Option<SystemTime>,
) -> Result<String, QueueError> {
    let id = id.unwrap_or_else(|| ulid::Ulid::generate().to_string());
    let ulid = ulid::Ulid::from_string(&id).map_err(|e| sqlx::Error::Protocol(format!("bad job id: {e}")))?;
    let mut builder =
        TaskBuilder::new(payload).task_id(TaskId::from_ulid(ulid)).max_attempts(max_attempts as usize);
    if let Some(at) = at {
        let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        builder = builder.run_at_timestamp(secs);
    }
    apalis_postgres::queries::push_tasks(conn, queue, vec![builder.build()]).await?;
    Ok(id)
}
