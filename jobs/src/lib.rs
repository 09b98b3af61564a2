//! Mujibak's jobs: one file per job (payload struct + handler) and the queue runtime that
//! makes apalis 1.0 safe by default. A job file implements [`Job`]
//! and nothing else; everything below is the runtime's:
//!
//! - `job`: the [`Job`] trait, [`JobError`] (transient / rate-limited / permanent), [`JobContext`].
//! - `enqueue`: push a job inside the caller's transaction, always with `max_attempts`
//!   and its tenant.
//! - `backend`: the apalis backend: one claim per free slot, round-robin by tenant,
//!   never stopped by a database error.
//! - `lease`: a worker's liveness (its own heartbeat), the rescue of dead workers' jobs,
//!   and each attempt's outcome written as it ends.
//! - `execute`: the wrapper apalis calls: attempt guard, timeout, panic capture, outcome
//!   (done, retry after a backoff with jitter, dead) with its error kept.
//! - `fit`: concurrency that fits the connection pool.
//! - `wake`: LISTEN/NOTIFY plus an interval fallback, reconnecting after a database blip.
//! - `cron`: durable cron ticks with start-up catch-up, evaluated in Asia/Riyadh.
//! - `worker`: THE registry of queues and schedules, unique worker names, restarts,
//!   graceful shutdown that hands unfinished jobs back.
//! - `schema`: apalis' migrations and ours, and the pending-migration check.
//! - `notify`: emails to a tenant's owners from jobs.
//!
//! Jobs: `handle_inbound` → `generate_reply` → `send_message` (the WhatsApp pipeline),
//! `fetch_media` (a customer's file downloaded, transcribed or described, before its reply),
//! `reconcile_send` (a send with an unknown outcome), `sweep_inbound` (webhook events a
//! dead job left behind), `send_email` (outbox delivery), `prune_jobs` (finished and dead
//! job rows), `prune_sessions` (ended sessions, stale rate-limit windows),
//! `delete_account` (an account's purge after its grace, and the daily sweep that no
//! deletion outlives the 30-day promise), `export_data` (a tenant's data export, and the
//! hourly expiry of old ones), `notify_breach` (one user's security incident notice),
//! `billing` (the monthly invoice run, each business's invoice, and collecting it through
//! Moyasar: payment links, webhook events, the hourly reconciliation and dunning).

mod backend;
pub mod backoff;
pub mod billing;
mod collect;
pub mod cron;
pub mod delete_account;
pub mod enqueue;
mod execute;
pub mod export_data;
pub mod fetch_media;
pub mod fit;
pub mod generate_reply;
pub mod handle_inbound;
pub mod job;
mod lease;
pub mod notify;
pub mod notify_breach;
pub mod plan_limit;
pub mod prune_jobs;
pub mod prune_sessions;
pub mod reconcile_send;
pub mod schema;
pub mod send_email;
pub mod send_message;
mod settler;
mod spawn;
pub mod stats_rollup;
pub mod sweep_inbound;
mod wake;
pub mod worker;

pub use enqueue::{enqueue, enqueue_at, enqueue_in, enqueue_many};
pub use job::{current_attempt, fence, Job, JobContext, JobError, PaymentsContext, WhatsAppContext};
