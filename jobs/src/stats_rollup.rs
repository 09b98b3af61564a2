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

/// The rollup as a companion of the workers (stops with them).
pub fn companion() -> mujibak_queue::workers::Companion {
    Box::new(|pool, shutdown| Box::pin(run(pool, shutdown)))
}

/// Rolls up every [`EVERY`] (first after a few seconds) until `shutdown`.
pub async fn run(pool: PgPool, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut wait = Duration::from_secs(5);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut shutdown => break,
        }
        wait = EVERY;
        match stats::rollup_due(&pool).await {
            Ok(Some(rows)) => tracing::debug!(rows, "rolled up job statistics"),
            Ok(None) => tracing::debug!("another worker is rolling up job statistics"),
            Err(e) => tracing::warn!(error = %e, "could not roll up job statistics; retrying next minute"),
        }
    }
}
