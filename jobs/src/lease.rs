//! A worker's lease on the jobs it claims: its row in `apalis.workers`, kept fresh by a
//! heartbeat task of its own (independent of the fetch loop, so a worker that is busy,
//! waiting for work or blocked on a slow claim never looks dead), the rescue of dead
//! workers' jobs on every beat, and the settling of each attempt's outcome the moment it
//! ends. An outcome that cannot be written (the database is away) is kept and written by
//! the next beats: a blip neither re-runs a finished job nor turns its outcome into
//! another. The lease knows the jobs it holds, so a job the database says it holds but
//! whose claim never reached it (the answer lost in an outage) is put back by its own
//! beat: a live worker's lost claim has nobody else to rescue it. The lease ends when its worker is dropped (a kill, a restart, a shutdown).

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, Weak,
    },
    time::Duration,
};

use mujibak_core::db::{
    queue::{self as db, Settled, Settlement},
    rescue,
};
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;

use crate::settler::Settler;

/// One worker's lease; shared by its backend and the tasks it has handed out.
#[derive(Debug)]
pub(crate) struct Lease {
    pub(crate) worker: String,
    pub(crate) queue: &'static str,
    pool: PgPool,
    settler: Arc<Settler>,
    /// Jobs claimed under this lease whose outcome is not settled yet.
    in_flight: AtomicUsize,
    /// The ids of the jobs claimed under this lease whose outcome is not written yet
    /// (running, waiting to be handed out, or kept in `pending`).
    held: Mutex<HashSet<String>>,
    /// Outcomes the database refused (connection lost); retried on every beat.
    pending: Mutex<Vec<Settlement>>,
}

impl Lease {
    /// Registers `worker` and starts its heartbeat: every `every`, it records that the
    /// worker lives, writes pending outcomes and rescues the jobs of workers of `queue`
    /// unseen for `dead_after`.
    pub(crate) async fn start(
        pool: PgPool,
        worker: String,
        queue: &'static str,
        every: Duration,
        dead_after: Duration,
        settler: Arc<Settler>,
    ) -> Result<Arc<Self>, sqlx::Error> {
        db::register_worker(&pool, &worker, queue).await?;
        tracing::debug!(worker = %worker, queue, "worker registered");
        let lease = Arc::new(Self {
            worker,
            queue,
            pool,
            settler,
            in_flight: AtomicUsize::new(0),
            held: Mutex::default(),
            pending: Mutex::default(),
        });
        tokio::spawn(beat_while_alive(Arc::downgrade(&lease), every, dead_after));
        Ok(lease)
    }

    /// Records the jobs just claimed under this lease.
    pub(crate) fn claimed<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut held = self.held();
        let before = held.len();
        held.extend(ids.into_iter().map(str::to_owned));
        self.in_flight.fetch_add(held.len() - before, Ordering::Relaxed);
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Jobs claimed whose outcome has not been settled.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Writes an attempt's outcome now (batched with the process's other outcomes), or
    /// keeps it for the next beat if the database cannot take it. `None` when it was kept.
    pub(crate) async fn settle(&self, s: Settlement) -> Option<Settled> {
        let _ = self.in_flight.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        match self.settler.settle(s.clone()).await {
            Ok(settled) => {
                self.held().remove(&s.task_id);
                if !settled.applied {
                    tracing::warn!(queue = self.queue, task.id = %s.task_id, attempt = s.attempt,
                        "outcome not applied: the job was taken from this worker meanwhile");
                }
                Some(settled)
            }
            Err(e) => {
                tracing::warn!(queue = self.queue, task.id = %s.task_id, error = %e,
                    "could not record the outcome; will retry on the next heartbeat");
                self.pending.lock().unwrap_or_else(|p| p.into_inner()).push(s);
                None
            }
        }
    }

    async fn beat(&self, dead_after: Duration) {
        self.flush_pending().await;
        match db::heartbeat(&self.pool, &self.worker).await {
            Ok(true) => {}
            Ok(false) => {
                if let Err(e) = db::register_worker(&self.pool, &self.worker, self.queue).await {
                    tracing::warn!(worker = %self.worker, error = %e, "heartbeat: could not register again");
                }
            }
            Err(e) => tracing::warn!(worker = %self.worker, error = %e, "heartbeat failed; retrying"),
        }
        match rescue::rescue_orphans(&self.pool, self.queue, dead_after, &self.worker).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(queue = self.queue, jobs = n, "re-queued the jobs of a dead worker"),
            Err(e) => tracing::warn!(queue = self.queue, error = %e, "orphan rescue failed; retrying"),
        }
        let held: Vec<String> = self.held().iter().cloned().collect();
        match rescue::rescue_lost(&self.pool, self.queue, &self.worker, &held, dead_after).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                queue = self.queue,
                jobs = n,
                "re-queued jobs claimed for this worker whose claim never reached it"
            ),
            Err(e) => tracing::warn!(queue = self.queue, error = %e, "lost-claim rescue failed; retrying"),
        }
    }

    async fn flush_pending(&self) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for s in pending {
            if let Err(e) = db::settle(&self.pool, &s).await {
                tracing::warn!(queue = self.queue, task.id = %s.task_id, error = %e, "outcome still not recorded");
                self.pending.lock().unwrap_or_else(|p| p.into_inner()).push(s);
            } else {
                self.held().remove(&s.task_id);
                tracing::info!(queue = self.queue, task.id = %s.task_id, "recorded an outcome kept during a database outage");
            }
        }
    }
}

/// Beats until the lease is dropped; holds it only for the length of one beat.
async fn beat_while_alive(lease: Weak<Lease>, every: Duration, dead_after: Duration) {
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer.tick().await; // the first tick is immediate: registration just wrote last_seen
    loop {
        timer.tick().await;
        let Some(lease) = lease.upgrade() else { return };
        lease.beat(dead_after).await;
    }
}
