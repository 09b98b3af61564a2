//! SQL the queue runtime runs against apalis' `apalis.jobs` table and our `job_errors`
//! history: retry scheduling, error history, job state for ops and tests, and pruning.
//! Job rows are not tenant-owned (payloads carry ids only), so no tenant id here.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};

/// One attempt's error, as kept in `job_errors`.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct JobErrorRow {
    pub task_id: String,
    pub queue: String,
    pub attempt: i32,
    pub kind: String,
    pub message: String,
    pub retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What to record about one failed attempt.
#[derive(Debug, Clone)]
pub struct NewJobError<'a> {
    pub task_id: &'a str,
    pub queue: &'a str,
    pub attempt: i32,
    pub kind: &'a str,
    pub message: &'a str,
    pub retry_at: Option<DateTime<Utc>>,
}

/// The columns of an apalis job row that ops and tests look at.
#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: String,
    pub job_type: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub lock_by: Option<String>,
}

impl JobRow {
    /// Dead: it will never run again (aborted, or failed with no attempts left).
    pub fn is_dead(&self) -> bool {
        self.status == "Killed" || (self.status == "Failed" && self.attempts >= self.max_attempts)
    }
}

/// Moves a job's `run_at` forward: the runtime's backoff, since apalis re-fetches a failed
/// job as soon as `run_at` has passed. Returns the new `run_at`.
pub async fn schedule_retry(
    pool: &PgPool,
    task_id: &str,
    delay: Duration,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "update apalis.jobs set run_at = now() + make_interval(secs => $2)
         where id = $1 returning run_at",
    )
    .bind(task_id)
    .bind(delay.as_secs_f64())
    .fetch_one(pool)
    .await
}

/// Records one attempt's error. Idempotent per (task, attempt).
pub async fn record_error(pool: &PgPool, e: &NewJobError<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into job_errors (task_id, queue, attempt, kind, message, retry_at)
         values ($1, $2, $3, $4, $5, $6) on conflict (task_id, attempt) do nothing",
    )
    .bind(e.task_id)
    .bind(e.queue)
    .bind(e.attempt)
    .bind(e.kind)
    .bind(e.message)
    .bind(e.retry_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Attempts of `task_id` that left an error row, ascending.
pub async fn recorded_attempts(pool: &PgPool, task_id: &str) -> Result<Vec<i32>, sqlx::Error> {
    sqlx::query_scalar("select attempt from job_errors where task_id = $1 order by attempt")
        .bind(task_id)
        .fetch_all(pool)
        .await
}

/// The full error history of one job, oldest attempt first.
pub async fn errors(pool: &PgPool, task_id: &str) -> Result<Vec<JobErrorRow>, sqlx::Error> {
    sqlx::query_as("select * from job_errors where task_id = $1 order by attempt")
        .bind(task_id)
        .fetch_all(pool)
        .await
}

/// `select <JobRow columns> from apalis.jobs <tail>`.
macro_rules! select_jobs {
    ($tail:literal) => {
        concat!(
            "select id, job_type, status, attempts, max_attempts, run_at, done_at, lock_by from apalis.jobs ",
            $tail
        )
    };
}

/// One job row by id.
pub async fn find(pool: &PgPool, task_id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as(select_jobs!("where id = $1")).bind(task_id).fetch_optional(pool).await
}

/// Every job row of a queue, oldest first (tests and small ops views).
pub async fn list_by_queue(pool: &PgPool, queue: &str) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as(select_jobs!("where job_type = $1 order by id")).bind(queue).fetch_all(pool).await
}

/// Deletes `Done` job rows finished before `before`, in batches so no long lock is held,
/// then the error history of jobs that no longer exist and is older than `before`.
/// Pending, running, failed and killed rows are kept. Returns the job rows deleted.
pub async fn prune_finished(pool: &PgPool, before: DateTime<Utc>, batch: i64) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let done = sqlx::query(
            "delete from apalis.jobs where id in (
                select id from apalis.jobs where status = 'Done' and done_at < $1
                limit $2 for update skip locked)",
        )
        .bind(before)
        .bind(batch)
        .execute(pool)
        .await?
        .rows_affected();
        total += done;
        if done < batch as u64 {
            break;
        }
    }
    sqlx::query(
        "delete from job_errors e where e.created_at < $1
           and not exists (select 1 from apalis.jobs j where j.id = e.task_id)",
    )
    .bind(before)
    .execute(pool)
    .await?;
    // Worker rows of long-gone processes (unique names accumulate); jobs reference them.
    sqlx::query(
        "delete from apalis.workers w where w.last_seen < $1
           and not exists (select 1 from apalis.jobs j where j.lock_by = w.id)",
    )
    .bind(before)
    .execute(pool)
    .await?;
    Ok(total)
}
