//! Waking workers without a NOTIFY inside the enqueuing transaction. Postgres takes a
//! database-wide lock when a transaction that sent a NOTIFY commits and holds it until the
//! commit is flushed, so every notifying transaction of every process commits one at a
//! time (measured on the development machine: a one-row insert does about 17,000 commits
//! a second at concurrency 32, and 3,000 when each also notifies). apalis' insert trigger
//! notified inside every enqueuing transaction; it is dropped (migration
//! `notify_after_commit`), and each process announces its new jobs itself, after they
//! committed:
//!
//! - [`due`] (called by every push of a job to run now) hands the job's id to the
//!   process's announcer, a task started by [`start`] (the worker and web processes call it);
//! - the announcer looks for the ids it holds in `apalis.jobs`: a row it can see has
//!   committed, and its queue is announced on apalis' channel, one NOTIFY per queue for
//!   the whole round, in a transaction of its own that does not wait for its flush
//!   (`synchronous_commit = off`: a lost wake-up is caught by the workers' fallback poll);
//! - an id it cannot see yet (its transaction is still open) is looked for again in the
//!   next round, until [`GIVE_UP`] (a rolled-back job never appears).
//!
//! Rounds run back to back while there are ids; one NOTIFY transaction is in flight per
//! process at a time. Without a started announcer (a command-line tool), jobs are found by
//! the workers' fallback poll. One database per process.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::db::announce as db;

/// How long an id the announcer cannot see is looked for (its transaction may still be
/// open); after that, the fallback poll finds the job if it ever commits.
pub const GIVE_UP: Duration = Duration::from_secs(10);
/// The pause between rounds that found ids not committed yet.
const RETRY: Duration = Duration::from_millis(2);
/// The pause after a failed round (the database is away).
const AFTER_ERROR: Duration = Duration::from_millis(200);

type Announcements = mpsc::UnboundedSender<String>;

fn announcer() -> &'static Mutex<Option<Announcements>> {
    static ANNOUNCER: OnceLock<Mutex<Option<Announcements>>> = OnceLock::new();
    ANNOUNCER.get_or_init(Mutex::default)
}

/// Starts this process's announcer on `pool`'s database, unless one is running. Must be
/// called inside the Tokio runtime.
pub fn start(pool: &PgPool) {
    let mut slot = announcer().lock().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|tx| !tx.is_closed()) {
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(pool.clone(), rx));
    *slot = Some(tx);
}

/// Announces job `id` (to run now) once its transaction has committed.
pub fn due(id: &str) {
    let slot = announcer().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = slot.as_ref() {
        let _ = tx.send(id.to_owned());
    }
}

async fn run(pool: PgPool, mut rx: mpsc::UnboundedReceiver<String>) {
    let mut waiting: HashMap<String, Instant> = HashMap::new();
    loop {
        if waiting.is_empty() {
            let Some(id) = rx.recv().await else { return };
            waiting.insert(id, Instant::now());
        }
        while let Ok(id) = rx.try_recv() {
            waiting.entry(id).or_insert_with(Instant::now);
        }
        let ids: Vec<String> = waiting.keys().cloned().collect();
        match db::announce_committed(&pool, &ids).await {
            Ok(seen) => {
                for id in seen {
                    waiting.remove(&id);
                }
                waiting.retain(|_, since| since.elapsed() < GIVE_UP);
                if !waiting.is_empty() {
                    // Not committed yet: look again shortly, or as soon as another comes.
                    let _ = tokio::time::timeout(RETRY, async {
                        if let Some(id) = rx.recv().await {
                            waiting.entry(id).or_insert_with(Instant::now);
                        }
                    })
                    .await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "announcing new jobs failed; the fallback poll finds them meanwhile");
                waiting.retain(|_, since| since.elapsed() < GIVE_UP);
                tokio::time::sleep(AFTER_ERROR).await;
            }
        }
    }
}
