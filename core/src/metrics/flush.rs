//! Writing a process's counts to Postgres, where `/metrics` sums every process's.
//!
//! Every process (web and worker, N of each) runs one flusher ([`start`]) that every
//! [`FLUSH_INTERVAL`] adds what it counted since its last successful flush to its own rows
//! of `metric_samples` (one row per process × sample, `db::metrics::add`). Adding
//! increments rather than overwriting totals is what keeps every counter monotonic across
//! the sum: a process that restarts starts new rows from zero and its old rows stay; rows
//! not written for [`STALE_AFTER`] (a process gone, or a series idle) are folded into one
//! retired row per sample at scrape time, which changes no sum, and a row folded while its
//! process still lives simply starts again from that process's next increment. A flush
//! that fails keeps its increments for the next one; only a flush committed whose answer
//! was lost can count an increment twice. Nothing here logs label values.

use std::{
    collections::HashMap,
    sync::OnceLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use sqlx::PgPool;

use super::{global, Registry, Sample};
use crate::db;

/// How often a process writes its counts.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// Rows not written for this long are folded into the retired totals.
pub const STALE_AFTER: Duration = Duration::from_secs(300);

/// Writes one registry's increments as one process.
#[derive(Debug)]
pub struct Flusher {
    process: String,
    /// What the last successful flush brought each sample to.
    flushed: tokio::sync::Mutex<HashMap<(String, String), f64>>,
}

impl Flusher {
    /// A flusher writing as `process` (unique per running process: see [`process_id`]).
    pub fn new(process: impl Into<String>) -> Self {
        Self { process: process.into(), flushed: Default::default() }
    }

    /// Adds what `registry` counted since the last successful flush to this process's
    /// rows; returns how many samples changed. Flushes never overlap.
    pub async fn flush(&self, registry: &Registry, pool: &PgPool) -> Result<usize, sqlx::Error> {
        let mut flushed = self.flushed.lock().await;
        let now = registry.snapshot();
        let deltas: Vec<Sample> = now
            .iter()
            .filter_map(|s| {
                let before = flushed.get(&(s.name.clone(), s.labels.clone())).copied().unwrap_or(0.0);
                let delta = s.value - before;
                (delta != 0.0).then(|| Sample { value: delta, ..s.clone() })
            })
            .collect();
        if deltas.is_empty() {
            return Ok(0);
        }
        db::metrics::add(pool, &self.process, &deltas).await?;
        for s in now {
            flushed.insert((s.name, s.labels), s.value);
        }
        Ok(deltas.len())
    }
}

/// A name no other running process has: role, host (`DYNO` on Heroku), pid, start time.
pub fn process_id(role: &str) -> String {
    let host =
        std::env::var("DYNO").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_else(|_| "local".into());
    let started = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    format!("{role}:{host}:{}:{started}", std::process::id())
}

static GLOBAL: OnceLock<Flusher> = OnceLock::new();

/// Starts this process's flusher of the [`global`] registry (once per process: later
/// calls do nothing, so `mujibak dev`, which is web and worker at once, flushes once).
/// Must be called inside the Tokio runtime.
pub fn start(pool: PgPool, role: &str) {
    let mut started = false;
    GLOBAL.get_or_init(|| {
        started = true;
        Flusher::new(process_id(role))
    });
    if !started {
        return;
    }
    tokio::spawn(async move {
        let mut failing = false;
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match flush_now(&pool).await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("metrics flush works again");
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "metrics flush failed; counts are kept for the next one");
                }
                Err(_) => {}
            }
        }
    });
}

/// Flushes the global registry now (before a scrape renders, and at shutdown); nothing
/// if [`start`] was never called in this process.
pub async fn flush_now(pool: &PgPool) -> Result<usize, sqlx::Error> {
    match GLOBAL.get() {
        Some(flusher) => flusher.flush(global(), pool).await,
        None => Ok(0),
    }
}
