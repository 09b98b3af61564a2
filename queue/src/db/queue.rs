//! The queue runtime's own SQL over apalis' tables (`apalis.jobs`, `apalis.workers`) and
//! our `job_errors`: worker registration and heartbeats, claiming as many jobs as a worker
//! has free slots round-robin by tenant, settling an attempt's outcome the moment it ends
//! (many `Done`s in one statement), each outcome written only onto the attempt it belongs
//! to (`lock_by` and `attempts` both match). Putting jobs back (a dead worker's, a lost claim's,
//! at shutdown) is `rescue.rs`. apalis' own fetch, ack and orphan queries are not used
//! (`backend.rs` says why). Job rows carry ids only; the group (tenant) in `metadata` only
//! orders claims.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};

/// A job claimed by a worker: its payload and attempt (already counted).
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: String,
    pub job: Vec<u8>,
    /// This attempt's number (1-based): incremented by the claim itself.
    pub attempts: i32,
    pub max_attempts: i32,
    /// `''` for jobs that belong to no tenant.
    pub tenant: String,
}

/// How an attempt ended, as the runtime records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `Done`.
    Done,
    /// `Failed`, to run again once `delay` has passed.
    Retry { delay: Duration, kind: String, message: String },
    /// Never runs again: `Killed` (aborted) or `Failed` (attempts exhausted).
    Dead { status: &'static str, kind: String, message: String },
}

/// One attempt's end, to be written by [`settle`].
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub task_id: String,
    pub queue: String,
    pub worker: String,
    pub attempt: i32,
    pub outcome: Outcome,
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// `false` when the worker no longer held the job (rescued meanwhile): nothing changed
    /// but the error history.
    pub applied: bool,
    pub retry_at: Option<DateTime<Utc>>,
}

/// Creates (or revives) the worker's row; jobs it claims reference it.
pub async fn register_worker(pool: &PgPool, worker: &str, queue: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into apalis.workers (id, worker_type, storage_name, layers, last_seen, started_at)
         values ($1, $2, 'mujibak', '', now(), now())
         on conflict (id) do update set last_seen = now()",
    )
    .bind(worker)
    .bind(queue)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records that the worker is alive. `false` if its row is gone (pruned while the process
/// was stalled): the caller registers again.
pub async fn heartbeat(pool: &PgPool, worker: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update apalis.workers set last_seen = now() where id = $1")
        .bind(worker)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether `worker` still holds attempt `attempt` of job `id` (running it).
pub async fn still_holds(pool: &PgPool, id: &str, worker: &str, attempt: i32) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from apalis.jobs
                         where id = $1 and lock_by = $2 and attempts = $3 and status = 'Running')",
    )
    .bind(id)
    .bind(worker)
    .bind(attempt)
    .fetch_one(pool)
    .await
}

/// The claim statement, with an extra condition on the tenant.
macro_rules! claim_sql {
    ($tenant_filter:literal) => {
        concat!(
            "with pick as (
                select id from apalis.jobs
                where job_type = $1
                  and (status = 'Pending' or (status = 'Failed' and attempts < max_attempts))
                  and run_at <= now() ",
            $tenant_filter,
            " order by job_type, coalesce(metadata -> 'tenant', ''), priority desc, run_at, id
                limit $3
                for update skip locked)
             update apalis.jobs j
                set status = 'Running', lock_by = $2, lock_at = now(), done_at = null,
                    attempts = j.attempts + 1
               from pick where j.id = pick.id
             returning j.id, j.job, j.attempts, j.max_attempts,
                       coalesce(j.metadata -> 'tenant', '') as tenant"
        )
    };
}

/// Claims up to `limit` runnable jobs of `queue` for `worker`, in tenant order starting
/// after `after_tenant` (each tenant's oldest first), wrapping around to the first tenant
/// when fewer follow. Each claim counts the attempt. Returned in claim order. When the
/// wrap-around's statement fails, the jobs the first one claimed are still returned: they
/// are this worker's now, and dropping them would leave them held by nobody at work.
pub async fn claim(
    pool: &PgPool,
    queue: &str,
    worker: &str,
    after_tenant: Option<&str>,
    limit: usize,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut claimed = claim_after(pool, queue, worker, after_tenant, limit).await?;
    if after_tenant.is_some() && claimed.len() < limit {
        match claim_after(pool, queue, worker, None, limit - claimed.len()).await {
            Ok(more) => claimed.extend(more),
            Err(e) if !claimed.is_empty() => {
                tracing::warn!(queue, error = %e, "claim: the wrap-around failed; running what was claimed");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(claimed)
}

async fn claim_after(
    pool: &PgPool,
    queue: &str,
    worker: &str,
    after_tenant: Option<&str>,
    limit: usize,
) -> Result<Vec<Claimed>, sqlx::Error> {
    // Two statements, not `$4 is null or …`: a generic plan of that could not start the
    // index scan at the cursor and would walk a flooding tenant's whole backlog.
    let sql = match after_tenant {
        Some(_) => claim_sql!("and coalesce(metadata -> 'tenant', '') > $4"),
        None => claim_sql!(""),
    };
    let query = sqlx::query_as(sql).bind(queue).bind(worker).bind(limit.max(1) as i64);
    let mut claimed: Vec<Claimed> = match after_tenant {
        Some(tenant) => query.bind(tenant).fetch_all(pool).await?,
        None => query.fetch_all(pool).await?,
    };
    claimed.sort_by(|a, b| (&a.tenant, &a.id).cmp(&(&b.tenant, &b.id)));
    Ok(claimed)
}

/// What [`settle_done`] did with each outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoneWritten {
    /// Written: the named worker still held that attempt.
    pub applied: Vec<String>,
    /// Still held by that attempt, but its row was locked by another transaction: not
    /// written, and not waited for (the caller keeps the outcome and writes it later).
    pub busy: Vec<String>,
}

/// Writes many `Done` outcomes, each `(id, worker, attempt)`, in one statement: only onto
/// the attempt each belongs to (the worker still holds the job and it is on that attempt),
/// skipping rows another transaction has locked rather than waiting for them. The rest
/// (the job was taken from the worker, or is on another attempt) change nothing.
pub async fn settle_done(pool: &PgPool, done: &[(String, String, i32)]) -> Result<DoneWritten, sqlx::Error> {
    let ids: Vec<&str> = done.iter().map(|(id, _, _)| id.as_str()).collect();
    let workers: Vec<&str> = done.iter().map(|(_, w, _)| w.as_str()).collect();
    let attempts: Vec<i32> = done.iter().map(|(_, _, a)| *a).collect();
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "with d as (select * from unnest($1::text[], $2::text[], $3::int[]) as d (id, worker, attempt)),
         target as (
            select j.id from apalis.jobs j join d on j.id = d.id
             where j.lock_by = d.worker and j.status = 'Running' and j.attempts = d.attempt
             for update of j skip locked),
         written as (
            update apalis.jobs j
               set status = 'Done', done_at = now(), lock_by = null, last_result = '{\"Ok\": null}'
              from target where j.id = target.id
         returning j.id)
         select id, true from written
         union all
         select d.id, false from d join apalis.jobs j on j.id = d.id
          where j.lock_by = d.worker and j.status = 'Running' and j.attempts = d.attempt
            and d.id not in (select id from written)",
    )
    .bind(&ids)
    .bind(&workers)
    .bind(&attempts)
    .fetch_all(pool)
    .await?;
    let (applied, busy): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, written)| *written);
    Ok(DoneWritten {
        applied: applied.into_iter().map(|(id, _)| id).collect(),
        busy: busy.into_iter().map(|(id, _)| id).collect(),
    })
}

/// Writes an attempt's outcome, and its error if any, in one transaction. Only a job the
/// worker still holds, on the attempt named, changes; the error is kept either way (once
/// per attempt). A row locked by another transaction is waited for at most a second (then
/// the caller keeps the outcome for later).
pub async fn settle(pool: &PgPool, s: &Settlement) -> Result<Settled, sqlx::Error> {
    let (status, delay, error) = match &s.outcome {
        Outcome::Done => ("Done", None, None),
        Outcome::Retry { delay, kind, message } => {
            ("Failed", Some(delay.as_secs_f64()), Some((kind, message)))
        }
        Outcome::Dead { status, kind, message } => (*status, None, Some((kind, message))),
    };
    let last_result = match error {
        None => serde_json::json!({ "Ok": null }),
        Some((_, message)) => serde_json::json!({ "Err": message }),
    };
    let mut tx = pool.begin().await?;
    sqlx::query("set local lock_timeout = '1s'").execute(&mut *tx).await?;
    let updated: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "update apalis.jobs
            set status = $3, done_at = now(), lock_by = null, last_result = $5,
                run_at = case when $4::float8 is null then run_at else now() + make_interval(secs => $4) end
          where id = $1 and lock_by = $2 and status = 'Running' and attempts = $6
      returning case when $4::float8 is null then null else run_at end",
    )
    .bind(&s.task_id)
    .bind(&s.worker)
    .bind(status)
    .bind(delay)
    .bind(&last_result)
    .bind(s.attempt)
    .fetch_optional(&mut *tx)
    .await?;
    let retry_at = updated.flatten();
    if let Some((kind, message)) = error {
        sqlx::query(
            "insert into job_errors (task_id, queue, attempt, kind, message, retry_at)
             values ($1, $2, $3, $4, $5, $6) on conflict (task_id, attempt) do nothing",
        )
        .bind(&s.task_id)
        .bind(&s.queue)
        .bind(s.attempt)
        .bind(kind)
        .bind(message)
        .bind(retry_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Settled { applied: updated.is_some(), retry_at })
}
