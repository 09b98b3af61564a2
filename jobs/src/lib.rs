//! Mujibak's jobs: one file per job (payload struct + handler) and the registry of queues
//! and schedules. A job file implements [`Job`] and nothing else; the queue engine under
//! them (claims, leases, outcomes, wake-ups, cron, workers) is its own crate,
//! `mujibak_queue`, which knows nothing of Mujibak:
//!
//! - `job`: the [`Job`] trait, the [`JobContext`] handlers receive, and [`Queued`], a job as
//!   the engine runs it (its tenant the engine's fairness group, its attempts counted in
//!   the metrics). [`JobError`] is the engine's.
//! - `enqueue`: push a job inside the caller's transaction, always with `max_attempts`
//!   and its tenant.
//! - `worker`: THE registry of queues and schedules (in Riyadh time), and the worker
//!   process's run.
//! - `schema`: apalis' migrations and ours, and the pending-migration check.
//! - `notify`: emails to a tenant's owners from jobs.
//! - `stats_rollup`: the queues page's per-minute statistics, beside the workers.
//! - `sends`: the payloads of `send_message` and `reconcile_send`, which queue each other.
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

pub mod billing;
mod collect;
pub mod delete_account;
pub mod enqueue;
pub mod export_data;
pub mod fetch_media;
pub mod generate_reply;
pub mod handle_inbound;
pub mod job;
pub mod notify;
pub mod notify_breach;
pub mod plan_limit;
pub mod prune_jobs;
pub mod prune_sessions;
pub mod reconcile_send;
pub mod schema;
pub mod send_email;
pub mod send_message;
pub mod sends;
pub mod stats_rollup;
pub mod sweep_inbound;
pub mod worker;

pub use enqueue::{enqueue, enqueue_at, enqueue_in, enqueue_many, enqueue_many_in};
pub use job::{Job, JobContext, PaymentsContext, Queued, WhatsAppContext};
pub use mujibak_queue::{backoff, cron, current_attempt, fence, fit, JobError};
