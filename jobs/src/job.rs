//! The contract between a job file and the queue engine (`mujibak_queue`): [`Job`], which
//! a job file implements (its payload of ids, its tenant, its handler over the
//! [`JobContext`] every handler receives), and [`Queued`], the job as the engine runs it.
//! The failure taxonomy [`JobError`] is the engine's.

use std::{future::Future, time::Duration};

use mujibak_core::{
    clients::{openai::ReplyModel, smtp::Mailer, whatsapp::GraphClient},
    crypto::Keyring,
    domain::TenantId,
    metrics::{self, JobOutcome},
};
use mujibak_queue::{backoff::Backoff, Finished};
pub use mujibak_queue::{current_attempt, fence, AttemptInfo, JobError};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sqlx::PgPool;

/// A durable job: a serialisable payload of ids only, and its handler.
///
/// The engine supplies everything else: queue wiring, attempt guard, timeout, backoff,
/// error history. Handlers must be idempotent (reload state by id, do nothing if the work
/// is already done): delivery is at-least-once.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
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
    /// (`mujibak_queue::fit::OCCASIONAL_CONNECTIONS`) instead of one each, and an attempt waits for one
    /// of those places before it runs (after its claim, before its timeout starts).
    const OCCASIONAL: bool = false;
    /// Delays between attempts after transient failures.
    const BACKOFF: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(3600));

    /// The tenant the job works for: claims are fair between tenants (one tenant's
    /// backlog delays another's jobs by at most one round). `None` for system jobs.
    fn tenant(&self) -> Option<TenantId> {
        None
    }

    /// Does the work.
    fn run(self, ctx: &JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// A job as the engine runs it: the same payload (serialised transparently: a job pushed
/// as `J` is read as `Queued<J>`), its tenant as the engine's fairness group, and every
/// attempt counted in the process's metrics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Queued<J>(pub J);

impl<J: Job> mujibak_queue::Job for Queued<J> {
    type Context = JobContext;
    const QUEUE: &'static str = J::QUEUE;
    const MAX_ATTEMPTS: u32 = J::MAX_ATTEMPTS;
    const TIMEOUT: Duration = J::TIMEOUT;
    const CONCURRENCY: usize = J::CONCURRENCY;
    const WAITS_OUTSIDE: bool = J::WAITS_OUTSIDE;
    const OCCASIONAL: bool = J::OCCASIONAL;
    const BACKOFF: Backoff = J::BACKOFF;

    fn group(&self) -> Option<String> {
        self.0.tenant().map(|t| t.to_string())
    }

    fn run(self, ctx: &JobContext) -> impl Future<Output = Result<(), JobError>> + Send {
        self.0.run(ctx)
    }
}

impl mujibak_queue::Context for JobContext {
    fn pool(&self) -> &PgPool {
        &self.db
    }

    fn finished(&self, queue: &'static str, finished: Finished, ran: Option<Duration>) {
        let outcome = match finished {
            Finished::Done => JobOutcome::Done,
            Finished::Retry => JobOutcome::Retry,
            Finished::Dead => JobOutcome::Dead,
        };
        metrics::job_finished(queue, outcome, ran);
    }
}

/// What every handler receives: shared clients and settings, built once per process.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub db: PgPool,
    /// Finished job rows older than this are pruned.
    pub job_retention: Duration,
    /// Finished job rows that never failed are pruned this long after they finished, once
    /// counted by the queues page's rollup (`stats_rollup`).
    pub done_job_retention: Duration,
    /// Dead job rows (and their error history) older than this are pruned.
    pub dead_job_retention: Duration,
    /// Processed (or given-up) raw webhook events older than this are pruned.
    pub inbound_retention: Duration,
    /// SMTP sender; `None` when `SMTP_URL` is unset (email jobs then fail and retry).
    pub mailer: Option<Mailer>,
    /// Sessions unused this long are pruned.
    pub session_idle: Duration,
    /// WhatsApp pipeline clients and settings; `None` in processes that do not run it.
    pub whatsapp: Option<WhatsAppContext>,
    /// The app's public URL (`BASE_URL`), for links in emails.
    pub base_url: String,
    /// The seller on invoices; `None`: the invoice run issues nothing (and retries).
    pub seller: Option<mujibak_core::billing::Seller>,
    /// Collecting payment: Moyasar and the dunning delays.
    pub payments: PaymentsContext,
}

impl JobContext {
    /// The WhatsApp clients; a job of the pipeline run where they are not configured fails
    /// for good (a retry would not configure them).
    pub fn whatsapp(&self) -> Result<&WhatsAppContext, JobError> {
        self.whatsapp
            .as_ref()
            .ok_or_else(|| JobError::permanent(anyhow::anyhow!("WhatsApp is not configured")))
    }
}

/// What the billing job needs to collect payment.
#[derive(Clone, Debug)]
pub struct PaymentsContext {
    /// `None` when `MOYASAR_SECRET_KEY` is unset: invoices carry no payment link.
    pub moyasar: Option<mujibak_core::clients::moyasar::MoyasarClient>,
    /// An unpaid invoice's reminder goes this long after issue.
    pub remind_after: chrono::Duration,
    /// An unpaid invoice pauses the bot this long after issue.
    pub suspend_after: chrono::Duration,
}

impl PaymentsContext {
    /// From the billing section of the configuration.
    pub fn new(config: &mujibak_core::config::BillingConfig) -> Self {
        Self {
            moyasar: config.moyasar.as_ref().map(mujibak_core::clients::moyasar::MoyasarClient::new),
            remind_after: chrono::Duration::days(config.remind_after_days.into()),
            suspend_after: chrono::Duration::days(config.suspend_after_days.into()),
        }
    }
}

impl Default for PaymentsContext {
    /// No Moyasar; the default delays (3 and 14 days).
    fn default() -> Self {
        Self {
            moyasar: None,
            remind_after: chrono::Duration::days(3),
            suspend_after: chrono::Duration::days(14),
        }
    }
}

/// What the WhatsApp jobs need.
#[derive(Clone, Debug)]
pub struct WhatsAppContext {
    pub graph: GraphClient,
    pub model: ReplyModel,
    pub keyring: Keyring,
    /// Wait for more customer messages before answering.
    pub debounce: Duration,
    /// The WhatsApp settings page, linked from the owner's re-authorisation email.
    pub settings_url: String,
}
