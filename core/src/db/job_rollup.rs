//! The per-minute rollup of finished jobs (`job_stats_minute`) and the pruning of the
//! `Done` rows it has counted. One process at a time writes both, in one transaction under
//! an advisory lock ([`lock`]); `job_stats_progress` records how far the rollup has gone
//! (`rolled_to`) and below which minute `Done` rows may already be gone
//! (`pruned_before`), so no minute is ever rewritten from rows that were pruned. Job rows
//! are not tenant-owned.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// The advisory lock the rollup takes (any constant unique to it).
const ROLLUP_LOCK: i64 = 0x6d6a_625f_7374_6174; // "mjb_stat"

/// How far the rollup has gone.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct Progress {
    /// Minutes before this are rolled up (the next run rewrites a few before it).
    pub rolled_to: Option<DateTime<Utc>>,
    /// `Done` rows that finished before this may have been pruned: minutes before it are
    /// never rewritten.
    pub pruned_before: Option<DateTime<Utc>>,
}

/// A transaction holding the rollup's advisory lock, or `None` if another process holds it.
pub async fn lock(pool: &PgPool) -> Result<Option<Transaction<'static, Postgres>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(ROLLUP_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    Ok(locked.then_some(tx))
}

/// Where the rollup stands (nothing yet on a new database).
pub async fn progress(conn: &mut PgConnection) -> Result<Progress, sqlx::Error> {
    let row = sqlx::query_as("select rolled_to, pruned_before from job_stats_progress")
        .fetch_optional(conn)
        .await?;
    Ok(row.unwrap_or_default())
}

/// Moves the progress forward (never back).
pub async fn advance(
    conn: &mut PgConnection,
    rolled_to: DateTime<Utc>,
    pruned_before: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into job_stats_progress (rolled_to, pruned_before) values ($1, $2)
         on conflict (id) do update set
           rolled_to = greatest(job_stats_progress.rolled_to, excluded.rolled_to),
           pruned_before = greatest(job_stats_progress.pruned_before, excluded.pruned_before)",
    )
    .bind(rolled_to)
    .bind(pruned_before)
    .execute(conn)
    .await?;
    Ok(())
}

/// Rewrites the rollup rows of the minutes in [`from`, `to`) (both on a minute) from the
/// Done rows and the error history of those minutes, and drops rows older than two days.
/// Returns the rows written.
pub async fn rewrite(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bounds: &[f64],
    buckets: usize,
) -> Result<usize, sqlx::Error> {
    type Key = (String, DateTime<Utc>);
    let done: Vec<(String, DateTime<Utc>, i32, i32, i64)> = sqlx::query_as(
        "select job_type, date_trunc('minute', done_at),
                width_bucket(greatest(extract(epoch from lock_at - run_at), 0)::float8 * 1000, $3),
                width_bucket(greatest(extract(epoch from done_at - lock_at), 0)::float8 * 1000, $3),
                count(*)
           from apalis.jobs where status = 'Done' and done_at >= $1 and done_at < $2 and lock_at is not null
          group by 1, 2, 3, 4",
    )
    .bind(from)
    .bind(to)
    .bind(bounds)
    .fetch_all(&mut *conn)
    .await?;
    let failed: Vec<(String, DateTime<Utc>, i64)> = sqlx::query_as(
        "select queue, date_trunc('minute', created_at), count(*) from job_errors
          where created_at >= $1 and created_at < $2 group by 1, 2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut rows: BTreeMap<Key, (i32, i32, Vec<i32>, Vec<i32>)> = BTreeMap::new();
    let empty = || (0, 0, vec![0; buckets], vec![0; buckets]);
    for (queue, minute, wait, run, n) in done {
        let row = rows.entry((queue, minute)).or_insert_with(empty);
        row.0 += n as i32;
        row.2[(wait.max(0) as usize).min(buckets - 1)] += n as i32;
        row.3[(run.max(0) as usize).min(buckets - 1)] += n as i32;
    }
    for (queue, minute, n) in failed {
        rows.entry((queue, minute)).or_insert_with(empty).1 += n as i32;
    }
    sqlx::query("delete from job_stats_minute where (minute >= $1 and minute < $2) or minute < $3")
        .bind(from)
        .bind(to)
        .bind(Utc::now() - Duration::days(2))
        .execute(&mut *conn)
        .await?;
    for ((queue, minute), (done, failed, wait, run)) in &rows {
        sqlx::query(
            "insert into job_stats_minute (queue, minute, done, failed, wait_counts, run_counts)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(queue)
        .bind(minute)
        .bind(done)
        .bind(failed)
        .bind(wait)
        .bind(run)
        .execute(&mut *conn)
        .await?;
    }
    Ok(rows.len())
}

/// Deletes `Done` rows that finished before `before` and never failed an attempt (a job
/// with an error history is evidence: it stays for the longer retention of the prune
/// job), at most `batches` statements of `batch` rows. Returns how many went.
pub async fn prune_counted(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    batch: i64,
    batches: usize,
) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    for _ in 0..batches {
        let n = sqlx::query(
            "delete from apalis.jobs where id in (
                select j.id from apalis.jobs j
                 where j.status = 'Done' and j.done_at < $1
                   and not exists (select 1 from job_errors e where e.task_id = j.id)
                 limit $2 for update skip locked)",
        )
        .bind(before)
        .bind(batch)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        total += n;
        if n < batch as u64 {
            break;
        }
    }
    Ok(total)
}
