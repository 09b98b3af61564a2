//! Putting claimed jobs back in the queue, each lost attempt recorded in `job_errors`:
//! the jobs of workers that stopped heartbeating (a crash or a kill), the jobs a live
//! worker's claim took but whose answer never reached it (a connection cut between the
//! claim's commit and its reply), and the jobs a worker hands back at shutdown.

use std::time::Duration;

use sqlx::PgPool;

/// Puts back the running jobs of `queue` whose worker has not been seen for `dead_after`
/// (or whose worker row is gone and which were claimed over `dead_after` ago: a worker
/// pruned while stalled claims again before its next beat registers it),
/// recording each lost attempt as `crashed`. Nothing is rescued until the database itself
/// has been up for `dead_after`: after a Postgres restart, live workers get that long to
/// reconnect and heartbeat. The jobs of `rescuer` (the worker asking) are never taken: it
/// is alive, whatever its row says when its own heartbeat could not be written. Also
/// deletes worker rows unseen for ten times as long that no job references. Returns the
/// jobs rescued.
pub async fn rescue_orphans(
    pool: &PgPool,
    queue: &str,
    dead_after: Duration,
    rescuer: &str,
) -> Result<u64, sqlx::Error> {
    let secs = dead_after.as_secs_f64();
    let rescued: Vec<String> = sqlx::query_scalar(
        "with stale as (
            select j.id from apalis.jobs j left join apalis.workers w on w.id = j.lock_by
             where j.job_type = $1 and j.status in ('Running', 'Queued')
               and (w.last_seen < now() - make_interval(secs => $2)
                    or (w.id is null and j.lock_at < now() - make_interval(secs => $2)))
               and j.lock_by is distinct from $3
               and pg_postmaster_start_time() < now() - make_interval(secs => $2)
             for update of j skip locked),
         rescued as (
            update apalis.jobs j
               set status = 'Pending', lock_by = null, lock_at = null, done_at = null,
                   last_result = '{\"Err\": \"the worker stopped heartbeating\"}'
              from stale where j.id = stale.id
          returning j.id, j.job_type, j.attempts),
         recorded as (
            insert into job_errors (task_id, queue, attempt, kind, message)
            select id, job_type, greatest(attempts, 1), 'crashed',
                   'the worker running this attempt stopped heartbeating (crash or kill)'
              from rescued
            on conflict (task_id, attempt) do nothing)
         select id from rescued",
    )
    .bind(queue)
    .bind(secs)
    .bind(rescuer)
    .fetch_all(pool)
    .await?;
    sqlx::query(
        "delete from apalis.workers w
          where w.worker_type = $1 and w.last_seen < now() - make_interval(secs => $2 * 10)
            and not exists (select 1 from apalis.jobs j where j.lock_by = w.id)",
    )
    .bind(queue)
    .bind(secs)
    .execute(pool)
    .await?;
    Ok(rescued.len() as u64)
}

/// Puts back the jobs of `queue` that the database says `worker` holds but the worker
/// does not know of (not in `held`), claimed over `older_than` ago: a claim whose answer
/// was lost (the connection cut between its commit and its reply). Recorded as `lost`;
/// the attempt counts. The age keeps a claim whose answer is on its way out of reach.
pub async fn rescue_lost(
    pool: &PgPool,
    queue: &str,
    worker: &str,
    held: &[String],
    older_than: Duration,
) -> Result<u64, sqlx::Error> {
    let rescued: Vec<String> = sqlx::query_scalar(
        "with lost as (
            update apalis.jobs
               set status = 'Pending', lock_by = null, lock_at = null, done_at = null,
                   last_result = '{\"Err\": \"the claim never reached its worker\"}'
             where job_type = $1 and lock_by = $2 and status in ('Running', 'Queued')
               and id <> all($3) and lock_at < now() - make_interval(secs => $4)
         returning id, job_type, attempts),
         recorded as (
            insert into job_errors (task_id, queue, attempt, kind, message)
            select id, job_type, greatest(attempts, 1), 'lost',
                   'claimed for this worker, but the claim''s answer never reached it (connection lost)'
              from lost
            on conflict (task_id, attempt) do nothing)
         select id from lost",
    )
    .bind(queue)
    .bind(worker)
    .bind(held)
    .bind(older_than.as_secs_f64())
    .fetch_all(pool)
    .await?;
    Ok(rescued.len() as u64)
}

/// At shutdown: the jobs `workers` still hold go back to the queue at once (recorded as
/// `interrupted`; the attempt counts), except those in `unstarted` (claimed but never
/// started: their attempt is given back and nothing is recorded), and the workers' rows
/// are removed.
pub async fn hand_back(pool: &PgPool, workers: &[String], unstarted: &[String]) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let back: Vec<String> = sqlx::query_scalar(
        "with back as (
            update apalis.jobs
               set status = 'Pending', lock_by = null, lock_at = null, done_at = null,
                   attempts = case when id = any($2) then greatest(attempts - 1, 0) else attempts end,
                   last_result = '{\"Err\": \"interrupted by a shutdown\"}'
             where lock_by = any($1) and status in ('Running', 'Queued')
         returning id, job_type, attempts),
         recorded as (
            insert into job_errors (task_id, queue, attempt, kind, message)
            select id, job_type, greatest(attempts, 1), 'interrupted',
                   'the worker shut down before this attempt finished; handed back'
              from back where id <> all($2)
            on conflict (task_id, attempt) do nothing)
         select id from back",
    )
    .bind(workers)
    .bind(unstarted)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "delete from apalis.workers w where w.id = any($1)
            and not exists (select 1 from apalis.jobs j where j.lock_by = w.id)",
    )
    .bind(workers)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(back.len() as u64)
}
