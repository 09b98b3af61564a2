//! The contract between a job file and the runtime: [`Job`], the one failure taxonomy
//! [`JobError`] every job returns, and the [`JobContext`] handlers receive.

use std::{future::Future, time::Duration};

use mujibak_core::{
    clients::{openai::ReplyModel, smtp::Mailer, whatsapp::GraphClient},
    crypto::Keyring,
    domain::TenantId,
};
use serde::{de::DeserializeOwned, Serialize};
use sqlx::PgPool;

use crate::backoff::Backoff;

/// A durable job: a serialisable payload of ids only, and its handler.
///
/// The runtime supplies everything else: queue wiring, attempt guard, timeout, backoff,
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

/// Why an attempt failed, which decides what happens next.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth retrying after a backoff (timeouts, 5xx, a database blip).
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// The provider asked us to wait: retry no sooner than `retry_after`.
    #[error("rate limited (retry after {}s): {source:#}", retry_after.as_secs())]
    RateLimited { retry_after: Duration, source: anyhow::Error },
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

    pub fn rate_limited(retry_after: Duration, e: impl Into<anyhow::Error>) -> Self {
        Self::RateLimited { retry_after, source: e.into() }
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

/// Called by a handler before each outside effect (an email, a WhatsApp send, a model or
/// Moyasar call): at once while the worker's lease holds; after the worker was cut off from
/// Postgres for the orphan window, only once Postgres says this attempt is still the
/// worker's, else [`JobError::Superseded`] (another worker took the job over: this attempt
/// must not act on what it read before the cut). Outside the runtime (a handler called
/// directly), always `Ok`.
pub async fn fence() -> Result<(), JobError> {
    let Ok(fence) = FENCE.try_with(Fence::clone) else { return Ok(()) };
    if fence.lease.confirm(&fence.task_id, fence.attempt).await {
        Ok(())
    } else {
        Err(JobError::Superseded)
    }
}

/// The attempt being run, inside a handler (first attempt when called directly).
pub fn current_attempt() -> AttemptInfo {
    ATTEMPT.try_with(|a| *a).unwrap_or(AttemptInfo { number: 1, max: 1 })
}

/// What every handler receives: shared clients and settings, built once per process.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub db: PgPool,
    /// Finished job rows older than this are pruned.
    pub job_retention: Duration,
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
