//! Writing attempts' outcomes with as few round trips as the load allows, and keeping the
//! ones the database does not take. One writer task per worker process takes every
//! outcome waiting, writes all the `Done`s among them in one statement
//! (`db::queue::settle_done`) and each other outcome in its own transaction
//! (`db::queue::settle`), then answers each caller. An idle process writes an outcome the
//! moment it arrives; a busy one writes many per statement while the previous write is in
//! flight (the group commit of a database log), so nothing waits for a timer. Every write
//! has a deadline ([`WRITE_DEADLINE`]); a row locked by another transaction is skipped, not
//! waited for. An outcome not written (the database away, a locked row, the deadline) is
//! kept here, with its lease, and written by the next heartbeat of any worker of the
//! process, and before a shutdown hands unfinished jobs back (so a finished job is never
//! handed back to run again).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard, OnceLock, Weak},
    time::Duration,
};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::db::queue::{self as db, Outcome, Settled, Settlement};

/// Most outcomes written in one statement.
const BATCH: usize = 256;
/// The longest one write of outcomes may take before it counts as failed.
pub(crate) const WRITE_DEADLINE: Duration = Duration::from_secs(10);

type Request = (Settlement, oneshot::Sender<Result<Settled, sqlx::Error>>);

/// What holds claimed jobs (a worker's lease, `lease::Lease`), as the settler sees it.
pub(crate) trait Holder: Send + Sync {
    /// The attempt's outcome is written: the job is no longer held.
    fn forget(&self, id: &str, attempt: i32);
    /// The jobs claimed but never started.
    fn unstarted(&self) -> Vec<String>;
}

/// The outcome writer of one worker process (shared by its leases).
#[derive(Debug)]
pub(crate) struct Settler {
    pool: PgPool,
    writer: OnceLock<mpsc::UnboundedSender<Request>>,
    /// Outcomes not written yet, with the lease that holds their job.
    kept: Mutex<Vec<(Settlement, Weak<dyn Holder>)>>,
    /// Every lease of the process (its jobs claimed but never started, at shutdown).
    leases: Mutex<Vec<Weak<dyn Holder>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `call`, failing as a timed-out write after [`WRITE_DEADLINE`].
pub(crate) async fn within<T>(
    call: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    tokio::time::timeout(WRITE_DEADLINE, call).await.unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

impl Settler {
    pub(crate) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self { pool, writer: OnceLock::new(), kept: Mutex::default(), leases: Mutex::default() })
    }

    /// Remembers a lease of the process.
    pub(crate) fn enlist(&self, lease: Weak<dyn Holder>) {
        let mut leases = lock(&self.leases);
        leases.retain(|l| l.strong_count() > 0);
        leases.push(lease);
    }

    /// Writes one outcome, batched with whatever else is waiting; what [`db::settle`]
    /// would return. Written directly if the writer task is gone (its runtime ended).
    pub(crate) async fn settle(&self, s: Settlement) -> Result<Settled, sqlx::Error> {
        let writer = self.writer.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write(self.pool.clone(), rx));
            tx
        });
        let (answer, answered) = oneshot::channel();
        if let Err(mpsc::error::SendError((s, _))) = writer.send((s, answer)) {
            return within(db::settle(&self.pool, &s)).await;
        }
        match answered.await {
            Ok(result) => result,
            Err(_) => Err(sqlx::Error::WorkerCrashed),
        }
    }

    /// Keeps an outcome the database did not take, to write later.
    pub(crate) fn keep(&self, s: Settlement, lease: Weak<dyn Holder>) {
        lock(&self.kept).push((s, lease));
    }

    /// How many outcomes are kept.
    pub(crate) fn kept(&self) -> usize {
        lock(&self.kept).len()
    }

    /// Writes the kept outcomes it can, each in its own transaction; the others stay kept.
    pub(crate) async fn flush(&self) {
        let kept = std::mem::take(&mut *lock(&self.kept));
        for (s, lease) in kept {
            match within(db::settle(&self.pool, &s)).await {
                Ok(settled) => {
                    if let Some(lease) = lease.upgrade() {
                        lease.forget(&s.task_id, s.attempt);
                    }
                    tracing::info!(queue = %s.queue, task.id = %s.task_id, applied = settled.applied,
                        "recorded an outcome kept while the database could not take it");
                }
                Err(e) => {
                    tracing::warn!(queue = %s.queue, task.id = %s.task_id, error = %e, "outcome still not recorded");
                    self.keep(s, lease);
                }
            }
        }
    }

    /// Writes the kept outcomes, trying again until none is left or `within` has passed;
    /// how many are still kept.
    pub(crate) async fn flush_within(&self, within: Duration) -> usize {
        let until = tokio::time::Instant::now() + within;
        while self.kept() > 0 && tokio::time::Instant::now() < until {
            self.flush().await;
            if self.kept() > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        self.kept()
    }

    /// The jobs the process's leases claimed but never started.
    pub(crate) fn unstarted(&self) -> Vec<String> {
        lock(&self.leases).iter().filter_map(Weak::upgrade).flat_map(|l| l.unstarted()).collect()
    }
}

/// The writer task: runs until every sender is gone.
async fn write(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut waiting = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut waiting, BATCH).await > 0 {
        let (done, other): (Vec<Request>, Vec<Request>) =
            waiting.drain(..).partition(|(s, _)| s.outcome == Outcome::Done);
        for (s, answer) in other {
            let pool = pool.clone();
            tokio::spawn(async move {
                let _ = answer.send(within(db::settle(&pool, &s)).await);
            });
        }
        if done.is_empty() {
            continue;
        }
        let triples: Vec<(String, String, i32)> =
            done.iter().map(|(s, _)| (s.task_id.clone(), s.worker.clone(), s.attempt)).collect();
        match within(db::settle_done(&pool, &triples)).await {
            Ok(written) => {
                let applied: HashSet<String> = written.applied.into_iter().collect();
                let busy: HashSet<String> = written.busy.into_iter().collect();
                for (s, answer) in done {
                    let result = if busy.contains(&s.task_id) {
                        Err(sqlx::Error::Protocol("the job's row is locked by another transaction".into()))
                    } else {
                        Ok(Settled { applied: applied.contains(&s.task_id), retry_at: None })
                    };
                    let _ = answer.send(result);
                }
            }
            Err(e) => {
                let why = e.to_string();
                for (_, answer) in done {
                    let _ = answer.send(Err(sqlx::Error::Protocol(why.clone())));
                }
            }
        }
    }
}
