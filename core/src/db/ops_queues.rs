//! Queue figures for the queues page, `/metrics` and `/readyz`: live counts by queue and
//! state over the rows that are not Done (index `jobs_ops_open`: a million finished rows
//! are never read), each queue's oldest due job (`jobs_runnable_by_age`), the per-minute
//! rollup as the page reads it (`job_stats_minute`, written by `db::job_rollup`) and the
//! workers' heartbeats. Job rows are not tenant-owned.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};

/// Live counts of one queue.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct QueueCounts {
    pub queue: String,
    /// Runnable now.
    pub pending: i64,
    /// Waiting for their time (`run_at` in the future), first attempt.
    pub scheduled: i64,
    pub running: i64,
    /// Failed with attempts left (waiting for, or due for, their next attempt).
    pub retrying: i64,
    /// Never run again: aborted or cancelled (`Killed`), or failed with no attempt left.
    pub dead: i64,
    /// Seconds the oldest runnable job has waited past its `run_at`.
    pub oldest_pending_secs: Option<f64>,
}

impl QueueCounts {
    pub fn empty(queue: &str) -> Self {
        Self {
            queue: queue.to_owned(),
            pending: 0,
            scheduled: 0,
            running: 0,
            retrying: 0,
            dead: 0,
            oldest_pending_secs: None,
        }
    }
}

/// The statement behind [`counts`] (a test EXPLAINs it).
pub const COUNTS_SQL: &str = "select job_type as queue,
        count(*) filter (where status = 'Pending' and run_at <= now()) as pending,
        count(*) filter (where status = 'Pending' and run_at > now()) as scheduled,
        count(*) filter (where status in ('Running', 'Queued')) as running,
        count(*) filter (where status = 'Failed' and attempts < max_attempts) as retrying,
        count(*) filter (where status = 'Killed' or (status = 'Failed' and attempts >= max_attempts)) as dead,
        extract(epoch from now() - min(run_at) filter (
            where (status = 'Pending' or (status = 'Failed' and attempts < max_attempts)) and run_at <= now()
        ))::float8 as oldest_pending_secs
   from apalis.jobs where status <> 'Done' group by job_type order by job_type";

pub async fn counts(pool: &PgPool) -> Result<Vec<QueueCounts>, sqlx::Error> {
    sqlx::query_as(COUNTS_SQL).fetch_all(pool).await
}

/// The oldest due job of every queue that has one: a loose index scan over
/// `jobs_runnable_by_age`
/// (`/readyz` asks it on every probe: it never reads a dead or finished row) (one index probe per queue), so no queue list is needed.
pub const OLDEST_SQL: &str = "
    with recursive q as (
        (select job_type, run_at from apalis.jobs
          where status = 'Pending' or (status = 'Failed' and attempts < max_attempts)
          order by job_type, run_at limit 1)
        union all
        select n.job_type, n.run_at from q cross join lateral (
            select job_type, run_at from apalis.jobs
             where (status = 'Pending' or (status = 'Failed' and attempts < max_attempts))
               and job_type > q.job_type
             order by job_type, run_at limit 1) n)
    select job_type, run_at from q where run_at <= now() order by run_at";

/// (queue, run_at of its oldest due job), oldest first.
pub async fn oldest_due(pool: &PgPool) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(OLDEST_SQL).fetch_all(pool).await
}

/// One queue's minute of the rollup.
#[derive(Debug, Clone, FromRow)]
pub struct MinuteRow {
    pub queue: String,
    pub minute: DateTime<Utc>,
    pub done: i32,
    pub failed: i32,
    pub wait_counts: Vec<i32>,
    pub run_counts: Vec<i32>,
}

pub async fn minutes_since(pool: &PgPool, since: DateTime<Utc>) -> Result<Vec<MinuteRow>, sqlx::Error> {
    sqlx::query_as(
        "select queue, minute, done, failed, wait_counts, run_counts from job_stats_minute
          where minute >= $1 order by queue, minute",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}

/// A worker and its last heartbeat.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct WorkerRow {
    pub worker: String,
    pub queue: String,
    pub last_seen: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub running: i64,
}

/// Workers seen in the last hour, with the jobs each holds.
pub async fn workers(pool: &PgPool) -> Result<Vec<WorkerRow>, sqlx::Error> {
    sqlx::query_as(
        "select w.id as worker, w.worker_type as queue, w.last_seen, w.started_at,
                (select count(*) from apalis.jobs j where j.lock_by = w.id and j.status in ('Running', 'Queued')) as running
           from apalis.workers w where w.last_seen > now() - interval '1 hour'
          order by w.worker_type, w.id",
    )
    .fetch_all(pool)
    .await
}
