//! Enqueueing a job of this application: pushed inside the caller's transaction, so it
//! exists only if the business rows it points to commit with it, with the job's
//! `max_attempts`, its explicit queue name and its tenant (claims are fair between
//! tenants); a job to run now always wakes a listening worker. Dedupe belongs in the
//! caller's own unique keys. The rows are the engine's (`mujibak_queue::enqueue`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use mujibak_queue::enqueue::{push_rows, row};
pub use mujibak_queue::enqueue::{NewJob, QueueError, RunAt};
use sqlx::PgConnection;

use crate::job::Job;

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
    push_rows(conn, J::QUEUE, &rows).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Pushes several jobs of one type to run once `delay` has passed since the transaction
/// began, in as few statements as possible.
pub async fn enqueue_many_in<J: Job>(
    conn: &mut PgConnection,
    jobs: &[J],
    delay: Duration,
) -> Result<(), QueueError> {
    let rows = jobs.iter().map(|job| new_job(job, Some(RunAt::In(delay)))).collect::<Result<Vec<_>, _>>()?;
    push_rows(conn, J::QUEUE, &rows).await
}

async fn push<J: Job>(conn: &mut PgConnection, job: &J, run_at: Option<RunAt>) -> Result<String, QueueError> {
    let row = new_job(job, run_at)?;
    push_rows(conn, J::QUEUE, std::slice::from_ref(&row)).await?;
    Ok(row.id)
}

/// The row that would enqueue `job` to run now, for a caller that writes it in a statement
/// of its own (the webhook stores a delivery and its job in one).
pub fn prepare<J: Job>(job: &J) -> Result<NewJob, QueueError> {
    new_job(job, None)
}

fn new_job<J: Job>(job: &J, run_at: Option<RunAt>) -> Result<NewJob, QueueError> {
    Ok(row(serde_json::to_vec(job)?, J::MAX_ATTEMPTS, job.tenant().map(|t| t.to_string()), run_at))
}
