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
