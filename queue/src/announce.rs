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
//!   [`due_in`] (a push to run later: a debounced reply, a retry's backoff) hands it over
//!   with its time, and the announcer keeps it until then (a job is never announced
//!   before its `run_at`: the time is counted from the push, which comes after the
//!   `now()` its `run_at` counts from, or from the retry's write); so a job to run later
//!   starts at its time, not up to a fallback poll later;
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
    collections::{BTreeMap, HashMap},
    sync::{Mutex, OnceLock},
    time::Duration,
};

use sqlx::PgPool;
use tokio::{sync::mpsc, time::Instant};

use crate::db::announce as db;

/// How long an id the announcer cannot see is looked for (its transaction may still be
/// open); after that, the fallback poll finds the job if it ever commits.
pub const GIVE_UP: Duration = Duration::from_secs(10);
/// The furthest ahead a job is kept to be announced at its time (a process holds those
/// ids in memory; later jobs are found by the workers' poll).
pub const KEEP_AT_MOST: Duration = Duration::from_secs(3_600);
/// The pause between rounds that found ids not committed yet.
const RETRY: Duration = Duration::from_millis(2);
/// The pause after a failed round (the database is away).
const AFTER_ERROR: Duration = Duration::from_millis(200);

/// A job's id, and when it is due (a job to run now: at once).
type Announcement = (String, Instant);
type Announcements = mpsc::UnboundedSender<Announcement>;

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
    due_in(id, Duration::ZERO);
}

/// Announces job `id` once `delay` has passed (and its transaction has committed). Called
/// after the job's `run_at` was set to `delay` from the database's `now()`, never before.
/// A job due more than [`KEEP_AT_MOST`] ahead is left to the workers' poll.
pub fn due_in(id: &str, delay: Duration) {
    if delay > KEEP_AT_MOST {
        return;
    }
    let slot = announcer().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = slot.as_ref() {
        let _ = tx.send((id.to_owned(), Instant::now() + delay));
    }
}

/// The ids the announcer looks for (since when), and those it keeps until their time.
#[derive(Default)]
struct Pending {
    waiting: HashMap<String, Instant>,
    later: BTreeMap<Instant, Vec<String>>,
}

impl Pending {
    fn add(&mut self, (id, at): Announcement) {
        if at <= Instant::now() {
            self.waiting.entry(id).or_insert_with(Instant::now);
        } else {
            self.later.entry(at).or_default().push(id);
        }
    }

    /// Moves the ids whose time has come to those looked for.
    fn ripen(&mut self) {
        let now = Instant::now();
        let later = self.later.split_off(&(now + Duration::from_nanos(1)));
        for id in std::mem::replace(&mut self.later, later).into_values().flatten() {
            self.waiting.entry(id).or_insert(now);
        }
    }
}

async fn run(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Announcement>) {
    let mut pending = Pending::default();
    loop {
        if pending.waiting.is_empty() {
            // Idle: the next push, or the time of the next job kept for later.
            let next = pending.later.keys().next().copied();
            tokio::select! {
                pushed = rx.recv() => match pushed {
                    Some(a) => pending.add(a),
                    None => return,
                },
                () = async { tokio::time::sleep_until(next.unwrap_or_else(Instant::now)).await },
                    if next.is_some() => {}
            }
        }
        while let Ok(a) = rx.try_recv() {
            pending.add(a);
        }
        pending.ripen();
        let waiting = &mut pending.waiting;
        if waiting.is_empty() {
            continue;
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
                    if let Ok(Some(a)) = tokio::time::timeout(RETRY, rx.recv()).await {
                        pending.add(a);
                    }
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
