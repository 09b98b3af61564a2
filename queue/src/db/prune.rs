//! Pruning the engine's finished rows: `Done` jobs past their retention, dead ones past the
//! longer one (and their error history), and worker rows of long-gone processes. Work
//! (pending, running, retrying rows) is never pruned.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

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
