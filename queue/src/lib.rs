//! The queue engine under Mujibak's jobs: apalis 1.0 workers on Postgres with apalis'
//! sharp edges filed off, so that a job type holds only its payload and its handler. It
//! knows nothing of the application: a job's handler receives its own [`Context`] (which
//! gives the engine its pool and hears how each attempt ended), and claims are fair between
//! the groups jobs name ([`Job::group`]). The guarantees, each with its mechanism and its
//! test, are in this crate's README.
//!
//! - `job`: the [`Job`] and [`Context`] traits, [`JobError`] (transient, rate-limited,
//!   permanent, superseded), [`current_attempt`] and [`fence`].
//! - `enqueue`: pushing a job inside the caller's transaction, always with `max_attempts`
//!   and its group.
//! - `backend`: the apalis backend: one claim per free slot, round-robin by group, never
//!   stopped by a database error.
//! - `lease`: a worker's liveness (its own heartbeat), the rescue of dead workers' jobs,
//!   the rules of the orphan window, each attempt's outcome written as it ends.
//! - `settler`: outcomes written in batches, and kept when the database cannot take them.
//! - `execute`: the wrapper apalis calls: attempt guard, timeout, panic capture, outcome.
//! - `fit`: concurrency that fits the connection pool; `spawn`: jobs on every core.
//! - `throttle`: a provider-bound queue's jobs at once, cut when the provider refuses us
//!   and raised again as attempts succeed.
//! - `take`: pending jobs of one group taken over by another job's transaction, which
//!   does their work set-based and marks them done in it.
//! - `announce`: new jobs announced (NOTIFY) after their transaction committed, never in it.
//! - `wake`: LISTEN/NOTIFY plus an interval fallback, reconnecting after a database blip.
//! - `cron`: durable cron ticks with start-up catch-up, in a schedule's time zone.
//! - `workers`: a process's workers: unique names, restarts, graceful shutdown.
//! - `schema`: apalis' own migrations (the application's follow them).
//! - `db`: the engine's SQL.

pub mod announce;
mod backend;
pub mod backoff;
pub mod cron;
pub mod db;
pub mod enqueue;
mod execute;
pub mod fit;
pub mod job;
mod lease;
pub mod schema;
mod settler;
mod spawn;
pub mod take;
pub mod throttle;
mod wake;
pub mod workers;

pub use enqueue::{enqueue, enqueue_at, enqueue_in, QueueError};
pub use job::{current_attempt, fence, AttemptInfo, Context, Finished, Job, JobError};
pub use workers::{WorkerOptions, Workers};
