//! Inserting jobs into apalis' `apalis.jobs` (on the caller's transaction), with the
//! tenant claims are fair between and a `run_at` that lets a worker claim it the moment
//! it commits (the process's announcer then wakes one: `crate::announce`). Claiming,
//! settling and rescuing are in `queue.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A job row to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub payload: Vec<u8>,
    pub max_attempts: i32,
    /// Claims are fair between tenants; `None` for system jobs.
    pub tenant: Option<String>,
    /// When it may run: `None` for now.
    pub run_at: Option<RunAt>,
}

/// When a job may first run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunAt {
    /// This long after the enqueueing transaction began.
    In(Duration),
    At(DateTime<Utc>),
}

/// Inserts jobs of `queue` on the caller's connection (in its transaction). A job to run
/// now gets the transaction's own `now()` as `run_at`, so it is due the moment it commits
/// (an application clock running ahead of the database's would leave it waiting). The
/// caller announces it (`crate::announce::due`).
pub async fn push(conn: &mut sqlx::PgConnection, queue: &str, jobs: &[NewJob]) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let payloads: Vec<&[u8]> = jobs.iter().map(|j| j.payload.as_slice()).collect();
    let max_attempts: Vec<i32> = jobs.iter().map(|j| j.max_attempts).collect();
    let tenants: Vec<Option<&str>> = jobs.iter().map(|j| j.tenant.as_deref()).collect();
    let delays: Vec<Option<f64>> = jobs
        .iter()
        .map(|j| match j.run_at {
            Some(RunAt::In(d)) => Some(d.as_secs_f64()),
            _ => None,
        })
        .collect();
    let ats: Vec<Option<DateTime<Utc>>> = jobs
        .iter()
        .map(|j| match j.run_at {
            Some(RunAt::At(at)) => Some(at),
            _ => None,
        })
        .collect();
    sqlx::query(
        "insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata)
         select j.id, $2, j.job, 'Pending', 0, j.max_attempts,
                coalesce(j.at, now() + make_interval(secs => coalesce(j.delay, 0))), 0,
                case when j.tenant is null then ''::hstore else hstore('tenant', j.tenant) end
           from unnest($1::text[], $3::bytea[], $4::int4[], $5::text[], $6::float8[], $7::timestamptz[])
                as j (id, job, max_attempts, tenant, delay, at)",
    )
    .bind(&ids)
    .bind(queue)
    .bind(&payloads)
    .bind(&max_attempts)
    .bind(&tenants)
    .bind(&delays)
    .bind(&ats)
    .execute(conn)
    .await?;
    Ok(())
}
