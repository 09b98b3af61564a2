//! The queues page's per-minute statistics (`job_stats_minute`), rolled up by every worker
//! process once a minute from the finished job rows (`core::ops::stats::rollup_due`),
//! beside its workers ([`companion`]: `Workers::alongside`).
//!
//! Not a queued job, on purpose: each queue costs every worker process a database
//! connection (one claim loop per queue), and this is derived data — rewriting a minute is
//! idempotent, an advisory lock keeps two processes from writing at once, and each run
//! starts a few minutes before the last minute it found, so a worker that was down catches
//! up by itself (up to a day back).

use std::{future::Future, time::Duration};

use mujibak_core::ops::stats;
use sqlx::PgPool;

/// Time between rollups.
pub const EVERY: Duration = Duration::from_secs(60);

/// The rollup as a companion of the workers (stops with them); finished rows that never
/// failed are kept `keep_done` once counted.
pub fn companion(keep_done: Duration) -> mujibak_queue::workers::Companion {
    Box::new(move |pool, shutdown| Box::pin(run(pool, keep_done, shutdown)))
}

/// Rolls up every [`EVERY`] (first after a few seconds) until `shutdown`.
pub async fn run(pool: PgPool, keep_done: Duration, shutdown: impl Future<Output = ()>) {
    let keep_done = chrono::Duration::from_std(keep_done).unwrap_or(chrono::Duration::days(365));
    tokio::pin!(shutdown);
    let mut wait = Duration::from_secs(5);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut shutdown => break,
        }
        wait = EVERY;
        match stats::rollup_due(&pool, keep_done).await {
            Ok(Some(stats::Rolled { rows, pruned })) => {
                tracing::debug!(rows, pruned, "rolled up job statistics and pruned the finished jobs counted")
            }
            Ok(None) => tracing::debug!("another worker is rolling up job statistics"),
            Err(e) => tracing::warn!(error = %e, "could not roll up job statistics; retrying next minute"),
        }
    }
}
