//! The ops console's SQL over single jobs: the filtered list (each state read through its
//! own index: `jobs_ops_open` for open rows, `jobs_done_at_finished` for Done ones), the
//! detail, and the staff actions. Each action is one conditional UPDATE or DELETE on the
//! caller's transaction: a worker's claim (the queue engine's `db::queue::claim`, `FOR UPDATE SKIP LOCKED` then
//! `status = 'Running'`) and an action on the same row serialise on the row lock, and the
//! loser's condition is re-checked on the winner's row — so a cancel that returned success
//! was applied to a job no worker held, and no worker can claim it afterwards.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};

/// A state the job list filters by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Scheduled,
    Running,
    Retrying,
    Dead,
    Done,
}

impl State {
    pub const ALL: [State; 6] =
        [State::Pending, State::Scheduled, State::Running, State::Retrying, State::Dead, State::Done];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Scheduled => "scheduled",
            State::Running => "running",
            State::Retrying => "retrying",
            State::Dead => "dead",
            State::Done => "done",
        }
    }

    /// (condition, order) of the list query for this state.
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            State::Pending => ("status = 'Pending' and run_at <= now()", "run_at, id"),
            State::Scheduled => ("status = 'Pending' and run_at > now()", "run_at, id"),
            State::Running => ("status in ('Running', 'Queued')", "lock_at, id"),
            State::Retrying => ("status = 'Failed' and attempts < max_attempts", "run_at, id"),
            State::Dead => (
                "(status = 'Killed' or (status = 'Failed' and attempts >= max_attempts))",
                "done_at desc, id",
            ),
            State::Done => ("status = 'Done'", "done_at desc, id"),
        }
    }
}

/// What the list filters by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub queue: Option<String>,
    pub state: Option<State>,
    pub tenant: Option<String>,
}

/// A row of the job list and the head of a job's detail.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct JobSummary {
    pub id: String,
    pub queue: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub lock_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub lock_by: Option<String>,
    pub tenant: Option<String>,
}

const COLUMNS: &str =
    "id, job_type as queue, status, attempts, max_attempts, run_at, lock_at, done_at, lock_by,
    nullif(metadata -> 'tenant', '') as tenant";

/// The list statement for `filter` (a test EXPLAINs each); binds: $1 queue, $2 tenant, $3 limit.
pub fn list_sql(filter: &Filter) -> String {
    let (cond, order) = filter.state.unwrap_or(State::Pending).sql();
    let mut sql = format!("select {COLUMNS} from apalis.jobs where {cond}");
    if filter.queue.is_some() {
        sql.push_str(" and job_type = $1");
    } else {
        sql.push_str(" and $1::text is null");
    }
    if filter.tenant.is_some() {
        sql.push_str(" and metadata -> 'tenant' = $2");
    } else {
        sql.push_str(" and $2::text is null");
    }
    sql.push_str(&format!(" order by {order} limit $3"));
    sql
}

/// Up to `limit` jobs matching `filter` (state defaults to pending).
pub async fn list(pool: &PgPool, filter: &Filter, limit: i64) -> Result<Vec<JobSummary>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(list_sql(filter)))
        .bind(&filter.queue)
        .bind(&filter.tenant)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// A job with its payload (ids only) and last result.
#[derive(Debug, Clone, FromRow)]
pub struct JobDetailRow {
    #[sqlx(flatten)]
    pub summary: JobSummary,
    pub job: Vec<u8>,
    pub last_result: Option<serde_json::Value>,
}

pub async fn find(pool: &PgPool, id: &str) -> Result<Option<JobDetailRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS}, job, last_result from apalis.jobs where id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The job's queue and tenant, locking nothing (for the audit row of an action).
pub async fn queue_and_tenant(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as("select job_type, nullif(metadata -> 'tenant', '') from apalis.jobs where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Runs a job that is scheduled, retrying or dead now (a dead one gets one more attempt);
/// the caller announces it to the workers once committed (no NOTIFY in the transaction).
/// `false` if it is pending, running, done or gone.
pub async fn retry_now(conn: &mut PgConnection, id: &str) -> Result<bool, sqlx::Error> {
    let queue: Option<String> = sqlx::query_scalar(
        "update apalis.jobs
            set status = 'Pending', run_at = now(), done_at = null, lock_by = null, lock_at = null,
                max_attempts = greatest(max_attempts, attempts + 1)
          where id = $1
            and ((status = 'Pending' and run_at > now()) or status = 'Failed' or status = 'Killed')
      returning job_type",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(queue.is_some())
}

/// Stops a job that has not started its next attempt (pending, scheduled or retrying): it
/// becomes `Killed` and never runs; its history records the cancel. `false` if it is
/// running, finished or gone.
pub async fn cancel(conn: &mut PgConnection, id: &str, reason: &str) -> Result<bool, sqlx::Error> {
    let cancelled: Option<(String, i32)> = sqlx::query_as(
        "update apalis.jobs
            set status = 'Killed', done_at = now(), lock_by = null,
                last_result = jsonb_build_object('Err', $2::text)
          where id = $1 and (status = 'Pending' or (status = 'Failed' and attempts < max_attempts))
      returning job_type, attempts",
    )
    .bind(id)
    .bind(reason)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((queue, attempts)) = cancelled else { return Ok(false) };
    sqlx::query(
        "insert into job_errors (task_id, queue, attempt, kind, message) values ($1, $2, $3, 'cancelled', $4)
         on conflict (task_id, attempt) do nothing",
    )
    .bind(id)
    .bind(queue)
    .bind(attempts + 1)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Deletes a dead job's row (its error history stays until pruned). `false` if the job is
/// not dead.
pub async fn discard(conn: &mut PgConnection, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "delete from apalis.jobs
          where id = $1 and (status = 'Killed' or (status = 'Failed' and attempts >= max_attempts))",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
