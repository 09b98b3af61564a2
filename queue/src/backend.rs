//! The apalis backend every worker uses: [`PgQueue`], over apalis' `apalis.jobs` table.
//!
//! apalis-postgres' own backend fetches a batch into a buffer and sends no heartbeat while
//! the buffer waits for free slots (so a live worker's jobs get rescued and run twice),
//! writes acks only after every in-flight job has ended (so a shutdown with one long job
//! re-runs every job that finished meanwhile), stops its worker on any database error and
//! fetches strictly first-in first-out (so one tenant's flood delays every other tenant).
//! This backend instead:
//! - when apalis asks (it does only when a slot is free) claims as many jobs as the
//!   worker has free slots, in one statement, and hands them out as apalis asks next
//!   (they start at once: nothing waits in a buffer for a slot);
//! - claims round-robin by tenant (from the next tenant after the last one served that
//!   has a runnable job, each tenant's oldest job first; a claim of several slots may take
//!   several jobs of one tenant), so a backlog delays another tenant by at most one round
//!   of claims;
//! - keeps liveness in a [`Lease`] with its own heartbeat, not in the fetch loop;
//! - never ends its worker on a database error: it waits for the next wake-up and tries
//!   again;
//! - hands each task its lease, so the runtime settles every attempt as it ends (the
//!   process's outcomes are written together: `settler.rs`).

use std::{
    collections::VecDeque,
    marker::PhantomData,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis::prelude::{Backend, MetadataStore, Task, TaskBuilder, TaskId, WorkerContext};
use apalis_core::backend::{finalize::Ephemeral, BackendConfig};
use std::future::Future;

use crate::db::queue::{self as db, Claimed, Outcome, Settlement};
use futures::{future::BoxFuture, FutureExt, StreamExt};
use sqlx::PgPool;

use crate::{
    job::Job,
    lease::Lease,
    settler::{within, Settler},
    throttle::Throttle,
    wake::Wakeups,
};

/// The metadata key the tenant of a job is kept under (claims are fair between tenants).
pub(crate) const TENANT_KEY: &str = "tenant";

/// Why a worker's backend failed. It never does (errors are logged and retried), but
/// apalis needs the type.
#[derive(Debug, thiserror::Error)]
#[error("queue backend: {0}")]
pub struct QueueBackendError(String);

/// What every task carries to the runtime's `execute`: the lease it runs under and its
/// attempt as claimed.
#[derive(Clone, Debug)]
pub(crate) struct Claim {
    pub(crate) lease: Arc<Lease>,
    pub(crate) attempt: i32,
    pub(crate) max_attempts: i32,
    /// The queue's adaptive limit, when its jobs wait on a provider.
    pub(crate) throttle: Option<Arc<Throttle>>,
    /// The places an occasional queue's attempt waits for (`Job::OCCASIONAL`).
    pub(crate) gate: Option<Arc<tokio::sync::Semaphore>>,
}

enum State {
    Start,
    /// A restarted worker waits before registering (a database that is down is not hammered).
    Delaying(std::pin::Pin<Box<tokio::time::Sleep>>),
    Registering(BoxFuture<'static, Result<Arc<Lease>, sqlx::Error>>),
    /// Claim now (just woken, or the last claim found work).
    Claim,
    Claiming(BoxFuture<'static, Result<Vec<Claimed>, sqlx::Error>>),
    /// Nothing to do until the next wake-up.
    Waiting,
    /// The provider's limit holds claims back (`throttle`): look again after this.
    Throttled(std::pin::Pin<Box<tokio::time::Sleep>>),
}

/// How often a throttled queue looks again whether a job ended (no database involved).
const THROTTLED_RECHECK: Duration = Duration::from_millis(20);

/// The jobs of queue `J::QUEUE`, claimed for one worker.
pub struct PgQueue<J> {
    pool: PgPool,
    heartbeat: Duration,
    dead_after: Duration,
    wakeups: Wakeups,
    state: State,
    lease: Option<Arc<Lease>>,
    /// The tenant served last (round-robin cursor).
    cursor: Option<String>,
    /// Claimed for slots that are free, not yet handed to apalis.
    claimed: VecDeque<Claimed>,
    concurrency: usize,
    throttle: Option<Arc<Throttle>>,
    gate: Option<Arc<tokio::sync::Semaphore>>,
    settler: Arc<Settler>,
    start_delay: Duration,
    _job: PhantomData<fn() -> J>,
}

impl<J: Job> PgQueue<J> {
    pub(crate) fn new(
        pool: PgPool,
        heartbeat: Duration,
        dead_after: Duration,
        wakeups: Wakeups,
        concurrency: usize,
        throttle: Option<Arc<Throttle>>,
        settler: Arc<Settler>,
    ) -> Self {
        Self {
            pool,
            heartbeat,
            dead_after,
            wakeups,
            state: State::Start,
            lease: None,
            cursor: None,
            claimed: VecDeque::new(),
            concurrency: concurrency.max(1),
            throttle,
            gate: None,
            settler,
            start_delay: Duration::ZERO,
            _job: PhantomData,
        }
    }

    /// Each attempt waits for one of `gate`'s places before it runs (an occasional queue).
    pub(crate) fn gated(mut self, gate: Option<Arc<tokio::sync::Semaphore>>) -> Self {
        self.gate = gate;
        self
    }

    /// Waits `delay` before the worker registers and claims (after a restart).
    pub(crate) fn start_after(mut self, delay: Duration) -> Self {
        self.start_delay = delay;
        self
    }

    /// Turns a claimed row into a task; a payload that does not decode is settled dead at
    /// once (it can never run) and `None` is returned.
    fn task(&self, lease: &Arc<Lease>, claimed: Claimed) -> Option<Task<J>> {
        let args = match serde_json::from_slice::<J>(&claimed.job) {
            Ok(args) => args,
            Err(e) => {
                tracing::error!(queue = J::QUEUE, task.id = %claimed.id, error = %e, "job payload does not decode; killed");
                let lease = lease.clone();
                let settlement = Settlement {
                    task_id: claimed.id,
                    queue: J::QUEUE.to_owned(),
                    worker: lease.worker.clone(),
                    attempt: claimed.attempts,
                    outcome: Outcome::Dead {
                        status: "Killed",
                        kind: "undecodable".into(),
                        message: format!("the payload does not decode as this queue's job: {e}"),
                    },
                };
                tokio::spawn(async move { lease.settle(settlement).await });
                return None;
            }
        };
        let Ok(ulid) = claimed.id.parse() else {
            tracing::error!(queue = J::QUEUE, task.id = %claimed.id, "job id is not a ULID; killed");
            let message = format!("the job id {:?} is not a ULID: apalis cannot run it", claimed.id);
            let outcome = Outcome::Dead { status: "Killed", kind: "bad_id".into(), message };
            let settlement = Settlement {
                task_id: claimed.id,
                queue: J::QUEUE.to_owned(),
                worker: lease.worker.clone(),
                attempt: claimed.attempts,
                outcome,
            };
            let lease = lease.clone();
            tokio::spawn(async move { lease.settle(settlement).await });
            return None;
        };
        let id = TaskId::from_ulid(ulid);
        let mut metadata = MetadataStore::new();
        let _ = metadata.insert(TENANT_KEY, claimed.tenant.as_str());
        let claim = Claim {
            lease: lease.clone(),
            attempt: claimed.attempts,
            max_attempts: claimed.max_attempts,
            throttle: self.throttle.clone(),
            gate: self.gate.clone(),
        };
        Some(
            TaskBuilder::new(args)
                .task_id(id)
                // apalis adds one when the task starts: it then reads as the claimed attempt.
                .attempt(claimed.attempts.saturating_sub(1).max(0) as usize)
                .max_attempts(claimed.max_attempts.max(1) as usize)
                .lock_by(Some(lease.worker.clone()))
                .with_metadata(metadata)
                .data(claim)
                .build(),
        )
    }
}

impl<J: Job> Backend for PgQueue<J> {
    type Task = Task<J>;
    type Error = QueueBackendError;

    fn poll_ready(&mut self, _: &mut Context<'_>, _: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        loop {
            match &mut self.state {
                State::Start if !self.start_delay.is_zero() => {
                    let delay = std::mem::take(&mut self.start_delay);
                    self.state = State::Delaying(Box::pin(tokio::time::sleep(delay)));
                }
                State::Delaying(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => self.state = State::Start,
                },
                State::Start => {
                    let fut = Lease::start(
                        self.pool.clone(),
                        worker.name().to_owned(),
                        J::QUEUE,
                        self.heartbeat,
                        self.dead_after,
                        self.settler.clone(),
                    );
                    self.state = State::Registering(fut.boxed());
                }
                State::Registering(fut) => match fut.poll_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(lease)) => {
                        self.lease = Some(lease);
                        self.state = State::Claim;
                    }
                    Poll::Ready(Err(e)) => {
                        tracing::warn!(queue = J::QUEUE, error = %e, "cannot register the worker; retrying");
                        self.state = State::Waiting;
                    }
                },
                State::Claim => {
                    let Some(lease) = self.lease.clone() else {
                        self.state = State::Start;
                        continue;
                    };
                    if let Some(claimed) = self.claimed.pop_front() {
                        if let Some(task) = self.task(&lease, claimed) {
                            return Poll::Ready(Some(Ok(task)));
                        }
                        continue;
                    }
                    let free = match &self.throttle {
                        None => self.concurrency.saturating_sub(lease.in_flight()).max(1),
                        Some(throttle) => {
                            let now = std::time::Instant::now();
                            let allowed = throttle.allowed(now).min(self.concurrency);
                            let free = allowed.saturating_sub(lease.in_flight());
                            if free == 0 {
                                let wait = throttle.paused_for(now).unwrap_or(THROTTLED_RECHECK);
                                self.state = State::Throttled(Box::pin(tokio::time::sleep(wait)));
                                continue;
                            }
                            free
                        }
                    };
                    let (pool, worker, cursor) =
                        (self.pool.clone(), lease.worker.clone(), self.cursor.clone());
                    let fut = async move {
                        within(db::claim(&pool, J::QUEUE, &worker, cursor.as_deref(), free)).await
                    }
                    .boxed();
                    self.state = State::Claiming(fut);
                }
                State::Claiming(fut) => {
                    match fut.poll_unpin(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(claimed)) if claimed.is_empty() => self.state = State::Waiting,
                        Poll::Ready(Ok(claimed)) if self.lease.as_ref().is_some_and(|l| l.lost()) => {
                            // Answered after the lease was lost: these may be someone else's by
                            // now. Not run; if still this worker's, its own beat puts them back.
                            tracing::warn!(queue = J::QUEUE, jobs = claimed.len(),
                            "a claim was answered after the lease was lost; leaving its jobs to the rescue");
                            self.state = State::Waiting;
                        }
                        Poll::Ready(Ok(claimed)) => {
                            if let Some(lease) = &self.lease {
                                lease.claimed(claimed.iter().map(|c| (c.id.as_str(), c.attempts)));
                            }
                            self.cursor = claimed.last().map(|c| c.tenant.clone());
                            self.claimed.extend(claimed);
                            self.state = State::Claim;
                        }
                        Poll::Ready(Err(e)) => {
                            tracing::warn!(queue = J::QUEUE, error = %e, "claim failed; retrying at the next wake-up");
                            self.state = State::Waiting;
                        }
                    }
                }
                State::Throttled(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => self.state = State::Claim,
                },
                State::Waiting => {
                    let mut woken = false;
                    while let Poll::Ready(Some(())) = self.wakeups.poll_next_unpin(cx) {
                        woken = true;
                    }
                    if !woken {
                        return Poll::Pending;
                    }
                    self.state = if self.lease.is_some() { State::Claim } else { State::Start };
                }
            }
        }
    }

    fn poll_close(&mut self, _: &mut Context<'_>, _: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        // Jobs claimed but not handed out are still locked by this worker: the shutdown's
        // hand-back (or, after a crash, the rescue) returns them to the queue.
        Poll::Ready(Ok(()))
    }
}

impl<J: Job> BackendConfig for PgQueue<J> {
    type Args = J;
    type Id = ulid::Ulid;
    type Kind = Ephemeral;
    type Config = ();
    type Layer = tower_layer::Identity;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        tower_layer::Identity::new()
    }
}
