//! What the queues page shows: per queue, live counts by state and the oldest runnable
//! job's age (from the open rows, `db::ops_queues::counts`), and, from the per-minute
//! rollup (`job_stats_minute`, written once a minute by each worker process:
//! `mujibak_jobs::stats_rollup`), throughput and
//! p50/p95 queue wait and run time over the last hour and day, plus the workers' heartbeats.
//! The rollup also keeps `apalis.jobs` small: a finished job that never failed is deleted
//! a few minutes after it was counted ([`rollup_due`]), so the page's history is the
//! rollup's, not the job rows'.
//!
//! Wait is the time from a job becoming runnable (`run_at`) to its claim (`lock_at`) for
//! the attempt that finished it; run time is claim to done (including the moment a claimed
//! job waits in its worker's buffer). Percentiles come from bucketed histograms, so they
//! are reported as the bucket's upper bound: "p95 ≤ 200 ms".

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::db::{
    job_rollup,
    ops_queues::{self, MinuteRow, QueueCounts, WorkerRow},
};

/// Histogram bucket bounds in milliseconds: bucket 0 is below the first bound, bucket i
/// is from bound i-1 up to bound i, the last is at or above the last bound.
pub const BOUNDS_MS: [f64; 16] =
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4, 3e4, 6e4, 3e5];
/// Buckets per histogram.
pub const BUCKETS: usize = BOUNDS_MS.len() + 1;

/// The upper bound (ms) of the bucket holding quantile `q` of `counts`; `None` if empty.
/// The last bucket has no upper bound: it reports the last bound.
pub fn quantile_ms(counts: &[i64], q: f64) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (i, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(BOUNDS_MS[i.min(BOUNDS_MS.len() - 1)]);
        }
    }
    Some(BOUNDS_MS[BOUNDS_MS.len() - 1])
}

/// Totals over a window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Window {
    pub done: i64,
    pub failed: i64,
    pub wait_p50_ms: Option<f64>,
    pub wait_p95_ms: Option<f64>,
    pub run_p50_ms: Option<f64>,
    pub run_p95_ms: Option<f64>,
}

/// One queue on the page.
#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    #[serde(flatten)]
    pub counts: QueueCounts,
    pub done_24h: i64,
    pub hour: Window,
    pub day: Window,
    /// Jobs done per minute over the last hour, oldest first, this minute last (60 points).
    pub per_minute: Vec<i64>,
    /// Jobs done per hour over the last day, oldest first (24 points).
    pub per_hour: Vec<i64>,
}

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub at: DateTime<Utc>,
    pub queues: Vec<QueueView>,
    pub workers: Vec<WorkerRow>,
}

/// Builds the page's data for `queues` (every queue the runtime has, listed even if idle).
pub async fn overview(pool: &PgPool, queues: &[&str]) -> Result<Overview, sqlx::Error> {
    let now = Utc::now();
    let counts = ops_queues::counts(pool).await?;
    let minutes = ops_queues::minutes_since(pool, now - Duration::hours(25)).await?;
    let workers = ops_queues::workers(pool).await?;
    let mut names: Vec<String> = queues.iter().map(|q| q.to_string()).collect();
    names.extend(counts.iter().map(|c| c.queue.clone()).filter(|q| !queues.contains(&q.as_str())));
    let views = names
        .into_iter()
        .map(|queue| {
            let counts = counts
                .iter()
                .find(|c| c.queue == queue)
                .cloned()
                .unwrap_or_else(|| QueueCounts::empty(&queue));
            let rows: Vec<&MinuteRow> = minutes.iter().filter(|m| m.queue == queue).collect();
            view(counts, &rows, now)
        })
        .collect();
    Ok(Overview { at: now, queues: views, workers })
}

fn view(counts: QueueCounts, rows: &[&MinuteRow], now: DateTime<Utc>) -> QueueView {
    // The last 60 minutes and the last 24 hours, each ending with this minute (rolled up
    // so far).
    let this_minute = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let hour_start = this_minute - Duration::minutes(59);
    let day_start = this_minute - Duration::minutes(24 * 60 - 1);
    let mut per_minute = vec![0; 60];
    let mut per_hour = vec![0; 24];
    for row in rows {
        let m = (row.minute - hour_start).num_minutes();
        if (0..60).contains(&m) {
            per_minute[m as usize] += row.done as i64;
        }
        let h = (row.minute - day_start).num_minutes().div_euclid(60);
        if row.minute >= day_start && (0..24).contains(&h) {
            per_hour[h as usize] += row.done as i64;
        }
    }
    let hour: Vec<&MinuteRow> = rows.iter().copied().filter(|r| r.minute >= hour_start).collect();
    let day: Vec<&MinuteRow> = rows.iter().copied().filter(|r| r.minute >= day_start).collect();
    let day = window(&day);
    QueueView { counts, done_24h: day.done, hour: window(&hour), day, per_minute, per_hour }
}

fn window(rows: &[&MinuteRow]) -> Window {
    let mut wait = vec![0i64; BUCKETS];
    let mut run = vec![0i64; BUCKETS];
    let (mut done, mut failed) = (0, 0);
    for row in rows {
        done += row.done as i64;
        failed += row.failed as i64;
        for (acc, n) in wait.iter_mut().zip(&row.wait_counts) {
            *acc += *n as i64;
        }
        for (acc, n) in run.iter_mut().zip(&row.run_counts) {
            *acc += *n as i64;
        }
    }
    Window {
        done,
        failed,
        wait_p50_ms: quantile_ms(&wait, 0.5),
        wait_p95_ms: quantile_ms(&wait, 0.95),
        run_p50_ms: quantile_ms(&run, 0.5),
        run_p95_ms: quantile_ms(&run, 0.95),
    }
}

/// Rolls up the minutes from `from` (inclusive) to `to` (exclusive), both on the minute,
/// rewriting their rows (never a minute whose finished rows may have been pruned); drops
/// rows older than two days. Returns the rows written, or `None` if another process holds
/// the rollup's lock (it is doing the same work).
pub async fn rollup(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<usize>, sqlx::Error> {
    let Some(mut tx) = job_rollup::lock(pool).await? else { return Ok(None) };
    let progress = job_rollup::progress(&mut tx).await?;
    let from = progress.pruned_before.map_or(from, |p| from.max(p));
    let rows = job_rollup::rewrite(&mut tx, from, to, &BOUNDS_MS, BUCKETS).await?;
    job_rollup::advance(&mut tx, to, None).await?;
    tx.commit().await?;
    Ok(Some(rows))
}

/// Minutes re-rolled before the last one rolled up (jobs settled a little late are counted).
pub const REROLL_MINUTES: i64 = 3;
/// Finished rows deleted per statement, and statements per run, once counted: a run
/// each minute keeps up with 200,000 jobs a minute (3,000 a second).
const PRUNE_BATCH: i64 = 20_000;
const PRUNE_BATCHES: usize = 10;

/// What one periodic run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rolled {
    /// Rollup rows written.
    pub rows: usize,
    /// Finished job rows deleted once counted.
    pub pruned: u64,
}

/// The periodic rollup: from a few minutes before where the last run stopped (or a day
/// back, whichever is later) to the end of this minute (so far: the next run rewrites it);
/// then, in the same transaction, the `Done` rows that never failed and finished more than
/// `keep_done` ago (and before the minutes each run rewrites) are deleted, and no later
/// run rewrites their minutes (a job with an
/// error history stays for `JOB_RETENTION_HOURS`, the prune job's). `None` if another
/// process holds the rollup's lock.
pub async fn rollup_due(pool: &PgPool, keep_done: Duration) -> Result<Option<Rolled>, sqlx::Error> {
    let now = Utc::now();
    let minute = |t: DateTime<Utc>| t.duration_trunc(Duration::minutes(1)).unwrap_or(t);
    let to = minute(now) + Duration::minutes(1);
    let day_back = to - Duration::hours(25);
    let Some(mut tx) = job_rollup::lock(pool).await? else { return Ok(None) };
    let progress = job_rollup::progress(&mut tx).await?;
    let from = [progress.rolled_to.map(|t| t - Duration::minutes(REROLL_MINUTES)), progress.pruned_before]
        .into_iter()
        .flatten()
        .fold(day_back, DateTime::max);
    let rows = job_rollup::rewrite(&mut tx, from, to, &BOUNDS_MS, BUCKETS).await?;
    // Every minute before `to` is counted now, and no later run rewrites one before
    // `prune_before`; a job settled a little late lands in the minutes every run rewrites.
    let prune_before = minute(now - keep_done).min(to - Duration::minutes(REROLL_MINUTES));
    let pruned = job_rollup::prune_counted(&mut tx, prune_before, PRUNE_BATCH, PRUNE_BATCHES).await?;
    job_rollup::advance(&mut tx, to, Some(prune_before)).await?;
    tx.commit().await?;
    Ok(Some(Rolled { rows, pruned }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_report_the_bucket_upper_bound() {
        let mut counts = vec![0; BUCKETS];
        assert_eq!(quantile_ms(&counts, 0.5), None);
        counts[3] = 90; // 5..10 ms
        counts[8] = 10; // 200..500 ms
        assert_eq!(quantile_ms(&counts, 0.5), Some(10.0));
        assert_eq!(quantile_ms(&counts, 0.9), Some(10.0));
        assert_eq!(quantile_ms(&counts, 0.95), Some(500.0));
        counts[BUCKETS - 1] = 1000;
        assert_eq!(quantile_ms(&counts, 0.99), Some(3e5));
    }
}
