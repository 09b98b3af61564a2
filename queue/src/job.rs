//! The contract between a job and the engine: [`Job`] (a payload of ids and its handler),
//! [`Context`] (what every handler of a job type receives: at least the pool the engine
//! runs on), the one failure taxonomy [`JobError`], and what a handler may ask the engine
//! while it runs: [`current_attempt`] and [`fence`].

use std::{future::Future, time::Duration};

use serde::{de::DeserializeOwned, Serialize};
use sqlx::PgPool;

use crate::backoff::Backoff;

/// What the handlers of a job type receive; the engine claims, beats and settles on its
/// pool, and tells it how each attempt ended (for the application's metrics).
pub trait Context: Clone + Send + Sync + 'static {
    /// The pool the engine and the handlers use.
    fn pool(&self) -> &PgPool;

    /// An attempt of a job of `queue` ended as `finished`, having run `ran` (none when it
    /// was not run: the attempt guard). Does nothing unless the application counts it.
    fn finished(&self, _queue: &'static str, _finished: Finished, _ran: Option<Duration>) {}
}

/// How an attempt ended, for [`Context::finished`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    Done,
    Retry,
    Dead,
}

/// A durable job: a serialisable payload of ids only, and its handler.
///
/// The engine supplies everything else: queue wiring, attempt guard, timeout, backoff,
/// error history. Handlers must be idempotent (reload state by id, do nothing if the work
/// is already done): delivery is at-least-once.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// What the handler receives.
    type Context: Context;
    /// Explicit, stable queue name. Renaming it strands the jobs already queued.
    const QUEUE: &'static str;
    /// Attempts before the job is dead (pushed with every job; apalis' default is 25).
    const MAX_ATTEMPTS: u32 = 8;
    /// Wall-clock limit of one attempt; exceeding it counts as a transient failure.
    const TIMEOUT: Duration = Duration::from_secs(60);
    /// Jobs of this type run at once in one worker process.
    const CONCURRENCY: usize = 8;
    /// Most of an attempt is an outside call (the model, the Graph API, SMTP) made holding
    /// no pooled connection: such a queue runs `WorkerOptions::outside_concurrency` jobs at
    /// once instead of a share of the pool (its short database steps count as one
    /// connection in the fit, and queue for the pool like any other's).
    const WAITS_OUTSIDE: bool = false;
    /// Jobs of this queue are occasional (pruning, billing, exports, deletions, sweeps):
    /// the process's occasional queues share a few connections between them
    /// (`fit::OCCASIONAL_CONNECTIONS`) instead of one each, and an attempt waits for one
    /// of those places before it runs (after its claim, before its timeout starts).
    const OCCASIONAL: bool = false;
    /// Delays between attempts after transient failures.
    const BACKOFF: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(3600));

    /// The group the job belongs to (a tenant): claims are fair between groups (one
    /// group's backlog delays another's jobs by at most one round). `None`: no group.
    fn group(&self) -> Option<String> {
        None
    }

    /// Does the work.
    fn run(self, ctx: &Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Why an attempt failed, which decides what happens next.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth retrying after a backoff (timeouts, 5xx, a database blip).
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// The provider asked us to wait: retry no sooner than `retry_after`. `slows_queue`:
    /// the provider limits this client as a whole (too many requests), so the queue runs
    /// fewer at once and pauses claims for the wait (`throttle`); not when only this job's
    /// own target is limited (one recipient written to too often).
    #[error("rate limited (retry after {}s): {source:#}", retry_after.as_secs())]
    RateLimited { retry_after: Duration, source: anyhow::Error, slows_queue: bool },
    /// Retrying cannot help: record why and stop.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
    /// The attempt was taken over by another worker while this one was cut off from
    /// Postgres ([`fence`]): stop, write nothing.
    #[error("taken over by another worker while this one was cut off from the database")]
    Superseded,
}

impl JobError {
    pub fn transient(e: impl Into<anyhow::Error>) -> Self {
        Self::Transient(e.into())
    }

    pub fn permanent(e: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(e.into())
    }

    /// The provider refuses us for going too fast: retry after `retry_after`, and slow the
    /// queue down (see [`JobError::RateLimited`]).
    pub fn rate_limited(retry_after: Duration, e: impl Into<anyhow::Error>) -> Self {
        Self::RateLimited { retry_after, source: e.into(), slows_queue: true }
    }

    /// This job's own target is limited (not the client as a whole): retry no sooner than
    /// `retry_after`; the queue's pace is unchanged.
    pub fn retry_after(retry_after: Duration, e: impl Into<anyhow::Error>) -> Self {
        Self::RateLimited { retry_after, source: e.into(), slows_queue: false }
    }

    /// The `kind` column of the error history.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Transient(_) => "transient",
            Self::RateLimited { .. } => "rate_limited",
            Self::Permanent(_) => "permanent",
            Self::Superseded => "superseded",
        }
    }
}

/// A database error is transient: the query is retried after a backoff.
impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        Self::Transient(e.into())
    }
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        Self::Transient(e)
    }
}

/// Which attempt of its job a handler is running (see [`current_attempt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptInfo {
    pub number: u32,
    pub max: u32,
}

impl AttemptInfo {
    /// No retry will follow a failure of this attempt.
    pub fn is_last(&self) -> bool {
        self.number >= self.max
    }
}

tokio::task_local! {
    pub(crate) static ATTEMPT: AttemptInfo;
    pub(crate) static FENCE: Fence;
}

/// The attempt a handler runs, as its lease knows it (for [`fence`]).
#[derive(Clone, Debug)]
pub(crate) struct Fence {
    pub(crate) lease: std::sync::Arc<crate::lease::Lease>,
    pub(crate) task_id: String,
    pub(crate) attempt: i32,
}

/// The attempt being run, inside a handler (first attempt when called directly).
pub fn current_attempt() -> AttemptInfo {
    ATTEMPT.try_with(|a| *a).unwrap_or(AttemptInfo { number: 1, max: 1 })
}

/// Called by a handler before each outside effect (an email, a message sent, a paid API
/// call): at once while the worker's lease holds; after the worker was cut off from
/// Postgres for the orphan window, only once Postgres says this attempt is still the
/// worker's, else [`JobError::Superseded`] (another worker took the job over: this attempt
/// must not act on what it read before the cut). Outside the engine (a handler called
/// directly), always `Ok`.
pub async fn fence() -> Result<(), JobError> {
    let Ok(fence) = FENCE.try_with(Fence::clone) else { return Ok(()) };
    if fence.lease.confirm(&fence.task_id, fence.attempt).await {
        Ok(())
    } else {
        Err(JobError::Superseded)
    }
}
