//! A worker's lease on the jobs it claims: its row in `apalis.workers`, kept fresh by a
//! heartbeat task of its own (independent of the fetch loop, so a worker that is busy,
//! waiting for work or blocked on a slow claim never looks dead). Each beat writes the
//! heartbeat, and only then, beside the next beats (never delaying them), the outcomes the
//! database did not take before (`settler`) and the search for orphans. The lease knows the jobs it holds (id and attempt), so a job the
//! database says it holds but whose claim never reached it (the answer lost in an outage)
//! is put back by its own beat: a live worker's lost claim has nobody else to rescue it.
//! The lease ends when its worker is dropped (a kill, a restart, a shutdown).
//!
//! Outages that are not a Postgres restart (a partition, a pooler restart, a failover to
//! a standby that started long ago) are met from both sides of one window, the orphan
//! window (`dead_after`):
//! - a worker rescues other workers' jobs only once its own heartbeat has reached Postgres
//!   without a break for the whole window, so whoever gets through first after an outage
//!   does not take the jobs of workers that were cut off with it;
//! - a worker whose own heartbeat has not reached Postgres for the window, less one beat,
//!   has lost its lease: its jobs may be someone else's now. Before an outside effect a job
//!   asks [`Lease::confirm`] (through `job::fence`), which, while the lease is lost, waits
//!   for a heartbeat to get through and then asks Postgres whether the attempt is still
//!   this worker's; a claim answered after the lease was lost is not run. A job taken over
//!   stops there, and writes nothing.
//!
//! Every call has a deadline (`settler::WRITE_DEADLINE`): a hung statement counts as a
//! failed beat, never as a stalled one.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard, Weak,
    },
    time::Duration,
};

use crate::db::{
    queue::{self as db, Settled, Settlement},
    rescue,
};
use sqlx::PgPool;
use tokio::time::{Instant, MissedTickBehavior};

use crate::settler::{within, Holder, Settler};

/// How a lease's heartbeats have gone.
#[derive(Debug, Default, Clone, Copy)]
struct Beats {
    /// When the last heartbeat that reached Postgres was sent.
    last_ok: Option<Instant>,
    /// When the current unbroken run of heartbeats began.
    unbroken_since: Option<Instant>,
}

/// One worker's lease; shared by its backend and the tasks it has handed out.
#[derive(Debug)]
pub(crate) struct Lease {
    pub(crate) worker: String,
    pub(crate) queue: &'static str,
    pool: PgPool,
    settler: Arc<Settler>,
    every: Duration,
    dead_after: Duration,
    /// Jobs claimed under this lease whose outcome is not settled yet.
    in_flight: AtomicUsize,
    /// The jobs claimed under this lease whose outcome is not written yet (running,
    /// waiting to be handed out, or kept by the settler), with the attempt claimed.
    held: Mutex<HashMap<String, i32>>,
    /// Of those, the ones not started yet (given their attempt back at a shutdown).
    waiting: Mutex<HashSet<String>>,
    beats: Mutex<Beats>,
    /// A beat's follow-up (kept outcomes, rescues) is running.
    maintaining: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Lease {
    /// Registers `worker` and starts its heartbeat: every `every`, it records that the
    /// worker lives, writes kept outcomes and rescues the jobs of workers of `queue`
    /// unseen for `dead_after`.
    pub(crate) async fn start(
        pool: PgPool,
        worker: String,
        queue: &'static str,
        every: Duration,
        dead_after: Duration,
        settler: Arc<Settler>,
    ) -> Result<Arc<Self>, sqlx::Error> {
        let sent = Instant::now();
        within(db::register_worker(&pool, &worker, queue)).await?;
        tracing::debug!(worker = %worker, queue, "worker registered");
        let lease = Arc::new(Self {
            worker,
            queue,
            pool,
            settler,
            every,
            dead_after,
            in_flight: AtomicUsize::new(0),
            held: Mutex::default(),
            waiting: Mutex::default(),
            beats: Mutex::new(Beats { last_ok: Some(sent), unbroken_since: Some(sent) }),
            maintaining: AtomicBool::new(false),
        });
        lease.settler.enlist(Arc::downgrade(&lease) as Weak<dyn Holder>);
        tokio::spawn(beat_while_alive(Arc::downgrade(&lease)));
        Ok(lease)
    }

    /// Records the jobs just claimed under this lease: `(id, attempt)`.
    pub(crate) fn claimed<'a>(&self, jobs: impl IntoIterator<Item = (&'a str, i32)>) {
        let mut held = lock(&self.held);
        let mut waiting = lock(&self.waiting);
        for (id, attempt) in jobs {
            if held.insert(id.to_owned(), attempt).is_none() {
                self.in_flight.fetch_add(1, Ordering::Relaxed);
            }
            waiting.insert(id.to_owned());
        }
    }

    /// The job `id` has started.
    pub(crate) fn started(&self, id: &str) {
        lock(&self.waiting).remove(id);
    }

    /// The jobs claimed under this lease and not started.
    pub(crate) fn unstarted(&self) -> Vec<String> {
        lock(&self.waiting).iter().cloned().collect()
    }

    /// Forgets attempt `attempt` of `id` (its outcome is written, or it was taken over).
    pub(crate) fn forget(&self, id: &str, attempt: i32) {
        let mut held = lock(&self.held);
        if held.get(id) == Some(&attempt) {
            held.remove(id);
        }
        lock(&self.waiting).remove(id);
    }

    /// Jobs claimed whose outcome has not been settled.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether the lease is lost: no heartbeat has reached Postgres for the orphan window
    /// less one beat (others may have taken its jobs by now).
    pub(crate) fn lost(&self) -> bool {
        let last = lock(&self.beats).last_ok;
        last.is_none_or(|at| at.elapsed() + self.every >= self.dead_after)
    }

    /// Whether attempt `attempt` of `id` may still act: at once while the lease holds;
    /// while it is lost, once a heartbeat gets through again and Postgres says the
    /// attempt is still this worker's (waiting as long as that takes).
    pub(crate) async fn confirm(&self, id: &str, attempt: i32) -> bool {
        if !self.lost() {
            return true;
        }
        tracing::warn!(queue = self.queue, task.id = %id, "lease lost; waiting for Postgres before acting");
        loop {
            if !self.lost() {
                match within(db::still_holds(&self.pool, id, &self.worker, attempt)).await {
                    Ok(true) => return true,
                    Ok(false) => {
                        tracing::warn!(queue = self.queue, task.id = %id, attempt,
                            "the job was taken over while this worker was cut off; stopping it");
                        self.forget(id, attempt);
                        return false;
                    }
                    Err(e) => {
                        tracing::warn!(queue = self.queue, error = %e, "checking the job's owner failed")
                    }
                }
            }
            tokio::time::sleep(self.every.min(Duration::from_millis(200))).await;
        }
    }

    /// Writes an attempt's outcome now (batched with the process's other outcomes), or
    /// keeps it (in the settler) for the next beat if the database cannot take it. `None`
    /// when it was kept.
    pub(crate) async fn settle(self: &Arc<Self>, s: Settlement) -> Option<Settled> {
        let _ = self.in_flight.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        match self.settler.settle(s.clone()).await {
            Ok(settled) => {
                self.forget(&s.task_id, s.attempt);
                if !settled.applied {
                    tracing::warn!(queue = self.queue, task.id = %s.task_id, attempt = s.attempt,
                        "outcome not applied: the job was taken from this worker meanwhile");
                }
                Some(settled)
            }
            Err(e) => {
                tracing::warn!(queue = self.queue, task.id = %s.task_id, error = %e,
                    "could not record the outcome; will retry on the next heartbeat");
                self.settler.keep(s, Arc::downgrade(self) as Weak<dyn Holder>);
                None
            }
        }
    }

    async fn beat(self: &Arc<Self>) {
        let sent = Instant::now();
        let ok = match within(db::heartbeat(&self.pool, &self.worker)).await {
            Ok(true) => true,
            Ok(false) => match within(db::register_worker(&self.pool, &self.worker, self.queue)).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(worker = %self.worker, error = %e, "heartbeat: could not register again");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(worker = %self.worker, error = %e, "heartbeat failed; retrying");
                false
            }
        };
        let unbroken = self.record_beat(sent, ok);
        // The rest never delays the next heartbeat: it runs beside the beats, one at a time.
        if ok && !self.maintaining.swap(true, Ordering::AcqRel) {
            let lease = self.clone();
            tokio::spawn(async move {
                lease.maintain(unbroken).await;
                lease.maintaining.store(false, Ordering::Release);
            });
        }
    }

    /// After a beat that got through: writes the kept outcomes, rescues other workers'
    /// jobs once this worker's heartbeats have run `unbroken` for the whole orphan window,
    /// and puts back its own lost claims.
    async fn maintain(&self, unbroken: Duration) {
        self.settler.flush().await;
        if unbroken >= self.dead_after {
            match within(rescue::rescue_orphans(&self.pool, self.queue, self.dead_after, &self.worker)).await
            {
                Ok(0) => {}
                Ok(n) => tracing::warn!(queue = self.queue, jobs = n, "re-queued the jobs of a dead worker"),
                Err(e) => tracing::warn!(queue = self.queue, error = %e, "orphan rescue failed; retrying"),
            }
        }
        let held: Vec<String> = lock(&self.held).keys().cloned().collect();
        match within(rescue::rescue_lost(&self.pool, self.queue, &self.worker, &held, self.dead_after)).await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                queue = self.queue,
                jobs = n,
                "re-queued jobs claimed for this worker whose claim never reached it"
            ),
            Err(e) => tracing::warn!(queue = self.queue, error = %e, "lost-claim rescue failed; retrying"),
        }
    }

    /// Records a beat sent at `sent`; how long heartbeats have now reached Postgres without
    /// a break (a failed beat, or a gap of more than two beats between two that got
    /// through, breaks the run).
    fn record_beat(&self, sent: Instant, ok: bool) -> Duration {
        let mut beats = lock(&self.beats);
        if !ok {
            beats.unbroken_since = None;
            return Duration::ZERO;
        }
        let gap = beats.last_ok.map(|at| sent.saturating_duration_since(at));
        if gap.is_none_or(|g| g > self.every * 2) || beats.unbroken_since.is_none() {
            beats.unbroken_since = Some(sent);
        }
        beats.last_ok = Some(sent);
        beats.unbroken_since.map(|at| at.elapsed()).unwrap_or_default()
    }
}

impl Holder for Lease {
    fn forget(&self, id: &str, attempt: i32) {
        Lease::forget(self, id, attempt);
    }

    fn unstarted(&self) -> Vec<String> {
        Lease::unstarted(self)
    }
}

/// Beats until the lease is dropped; holds it only for the length of one beat.
async fn beat_while_alive(lease: Weak<Lease>) {
    let Some(every) = lease.upgrade().map(|l| l.every) else { return };
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer.tick().await; // the first tick is immediate: registration just wrote last_seen
    loop {
        timer.tick().await;
        let Some(lease) = lease.upgrade() else { return };
        lease.beat().await;
    }
}
