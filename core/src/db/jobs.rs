//! SQL over apalis' `apalis.jobs` table and our `job_errors` history for ops, tests and
//! pruning (the runtime's claim, settle and rescue SQL is in `queue.rs`). Job rows are not
//! tenant-owned (payloads carry ids only), so no tenant id here.

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

/// Deletes `Done` job rows finished before `done_before` and dead ones (aborted, or
/// failed with no attempt left) that died before `dead_before`, in batches so no long lock
/// is held; then the error history of jobs that no longer exist and is older than
/// `dead_before`, and worker rows unseen since `done_before` that no job references.
/// Pending, running and retrying rows are kept. Returns (done, dead) rows deleted.
pub async fn prune_finished(
    pool: &PgPool,
    done_before: DateTime<Utc>,
    dead_before: DateTime<Utc>,
    batch: i64,
) -> Result<(u64, u64), sqlx::Error> {
    let done = delete_in_batches(
        pool,
        "delete from apalis.jobs where id in (
            select id from apalis.jobs where status = 'Done' and done_at < $1
            limit $2 for update skip locked)",
        done_before,
        batch,
    )
    .await?;
    let dead = delete_in_batches(
        pool,
        "delete from apalis.jobs where id in (
            select id from apalis.jobs
             where (status = 'Killed' or (status = 'Failed' and attempts >= max_attempts)) and done_at < $1
             limit $2 for update skip locked)",
        dead_before,
        batch,
    )
    .await?;
    sqlx::query(
        "delete from job_errors e where e.created_at < $1
           and not exists (select 1 from apalis.jobs j where j.id = e.task_id)",
    )
    .bind(dead_before)
    .execute(pool)
    .await?;
    // Worker rows of long-gone processes (unique names accumulate); live jobs reference them.
    sqlx::query(
        "delete from apalis.workers w where w.last_seen < $1
           and not exists (select 1 from apalis.jobs j where j.lock_by = w.id)",
    )
    .bind(done_before)
    .execute(pool)
    .await?;
    Ok((done, dead))
}

async fn delete_in_batches(
    pool: &PgPool,
    sql: &'static str,
    before: DateTime<Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let n = sqlx::query(sql).bind(before).bind(batch).execute(pool).await?.rows_affected();
        total += n;
        if n < batch as u64 {
            return Ok(total);
        }
    }
}
