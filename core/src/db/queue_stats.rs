//! Queue gauges for `/metrics` and `/readyz`, read at request time: jobs by queue and
//! state, and each queue's oldest due job. Both read only live rows through partial
//! indexes (`jobs_fair_claim`, `jobs_running_by_worker`, `jobs_runnable_by_age`), so
//! their cost follows the backlog, never the million finished rows. Job rows are not
//! tenant-owned (payloads carry ids only).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Live jobs by (queue, state): `pending` (due), `scheduled` (run_at ahead), `retrying`
/// (failed with attempts left), `running` (claimed).
pub const DEPTH_SQL: &str = "
    select job_type, case when status = 'Failed' then 'retrying'
                          when run_at > now() then 'scheduled'
                          else 'pending' end as state, count(*)
      from apalis.jobs
     where status = 'Pending' or (status = 'Failed' and attempts < max_attempts)
     group by 1, 2
    union all
    select job_type, 'running', count(*)
      from apalis.jobs where status in ('Running', 'Queued')
     group by 1";

/// The oldest due job of every queue that has one: a loose index scan over
/// `jobs_runnable_by_age` (one index probe per queue), so no queue list is needed.
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

/// Live jobs by (queue, state, count).
pub async fn depth(pool: &PgPool) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(DEPTH_SQL).fetch_all(pool).await
}

/// (queue, run_at of its oldest due job), oldest first.
pub async fn oldest_due(pool: &PgPool) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(OLDEST_SQL).fetch_all(pool).await
}
