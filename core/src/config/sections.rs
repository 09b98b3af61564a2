//! The typed sections of [`Config`](super::Config): one struct per concern, filled by
//! `Config::from_lookup` from the environment variables listed in `config/mod.rs`.

use std::time::Duration;

use secrecy::SecretString;

/// The WhatsApp Cloud API.
#[derive(Debug, Clone)]
pub struct WhatsAppConfig {
    pub graph_url: String,
    pub api_version: String,
    /// Total time of one Graph API call.
    pub timeout: Duration,
    /// How long a send with an unknown outcome waits for Meta's status webhook before it
    /// is sent once more.
    pub reconcile_after: Duration,
    /// The largest customer media file downloaded (`MEDIA_MAX_MB`).
    pub media_max_bytes: u64,
}

/// Which output-token field the model server understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenField {
    MaxCompletionTokens,
    MaxTokens,
}

/// The model that writes replies.
#[derive(Debug, Clone)]
pub struct AiConfig {
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// The default model.
    pub model: String,
    /// The models a business may choose (`OPENAI_MODELS`), the default first. A stored
    /// choice outside it is never sent: the default is used instead.
    pub models: Vec<String>,
    pub token_field: TokenField,
    pub timeout: Duration,
    pub max_tokens: u32,
    pub debounce: Duration,
    /// The model that transcribes voice notes; `None`: they are not transcribed.
    pub transcribe_model: Option<String>,
    /// The vision-capable model that describes images; `None`: they are not described.
    pub vision_model: Option<String>,
}

/// Local stand-ins used by `mujibak dev` (never in production).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub smtp_port: u16,
    pub mail_dir: std::path::PathBuf,
    pub graph_port: u16,
    pub openai_port: u16,
    pub moyasar_port: u16,
}

/// Outgoing email.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// SMTP server; `None` means email cannot be sent (web still queues it).
    pub smtp_url: Option<SecretString>,
    pub from: String,
    pub support_address: String,
}

/// Sign-in sessions and the client address they are rate-limited by.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub idle: Duration,
    pub max_age: Duration,
    /// Whether `X-Forwarded-For` (last hop) names the client: true behind Heroku's router.
    pub trust_proxy: bool,
}

/// Postgres: the only backing store.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Secret: the URL usually carries a password, so `Debug` never shows it.
    pub url: SecretString,
    pub max_connections: u32,
    /// Bounds on every statement of the pool (`db::connect`); zero turns one off.
    pub timeouts: DatabaseTimeouts,
}

/// How long a statement may run, wait for a lock, or a transaction sit idle, before
/// Postgres ends it (`DATABASE_STATEMENT_TIMEOUT_SECS`, `DATABASE_LOCK_TIMEOUT_SECS`,
/// `DATABASE_IDLE_IN_TRANSACTION_SECS`). Zero: no limit (migrations run without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseTimeouts {
    pub statement: Duration,
    pub lock: Duration,
    pub idle_in_transaction: Duration,
}

impl DatabaseTimeouts {
    /// No limits.
    pub const NONE: Self =
        Self { statement: Duration::ZERO, lock: Duration::ZERO, idle_in_transaction: Duration::ZERO };
}

/// The HTTP listener.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub port: u16,
    pub base_url: String,
    /// Whether `BASE_URL` was set (`web` and `worker` refuse to start without it).
    pub base_url_set: bool,
    /// `ALLOW_LOOPBACK_HTTP`: `web` and `worker` may run with an http `BASE_URL` on this
    /// machine's own address (the benchmark, the chaos run, tests of the binary).
    pub allow_loopback_http: bool,
    /// Connections serving requests at once (`WEB_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Open connections of one client (`WEB_MAX_CONNECTIONS_PER_CLIENT`).
    pub max_connections_per_client: usize,
    /// Live inbox streams at once (`WEB_MAX_STREAMS`).
    pub max_streams: usize,
    /// Webhook body bytes being read at once (`WEBHOOK_INFLIGHT_MB`).
    pub webhook_inflight_bytes: usize,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logging.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// Queue runtime knobs that operators may want to change without a deploy.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Finished (`Done`) job rows older than this are deleted by the prune job.
    pub retention: Duration,
    /// Finished job rows that never failed are deleted this long after they finished, once
    /// the queues page's rollup has counted them (`JOB_DONE_RETENTION_MINUTES`).
    pub done_retention: Duration,
    /// Dead job rows (and their error history) older than this are deleted.
    pub dead_retention: Duration,
    /// Cron expression of the prune job, evaluated in Asia/Riyadh.
    pub prune_schedule: String,
    /// Processed (or given-up) raw webhook events older than this are deleted by the
    /// prune job: they repeat message text and phone numbers.
    pub inbound_retention: Duration,
    /// How long in-flight work may take to finish after SIGTERM (Heroku allows 30 s).
    pub shutdown_timeout: Duration,
    /// Run each job on the runtime's worker threads (every core) rather than all of a
    /// process's jobs on one (`WORKER_PARALLEL_JOBS`; the bench compares the two).
    pub parallel_jobs: bool,
    /// Jobs at once per queue that waits on an outside service (replies, sends, media,
    /// email), not a share of the pool (`WORKER_PROVIDER_CONCURRENCY`; 0: a share).
    pub provider_concurrency: usize,
}

impl HttpConfig {
    /// Whether the app is served over https (cookies get `Secure`, responses get HSTS).
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// Operating the service: the readiness probe.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    /// `/readyz` answers 503 when a queue's oldest due job has waited longer than this.
    pub readyz_max_queue_age: Duration,
}

/// Privacy promises that operators may tune within the policy's bounds.
#[derive(Debug, Clone)]
pub struct PrivacyConfig {
    /// How long after a deletion request the purge runs (the owner can cancel until
    /// then); at most 29 days.
    pub deletion_grace: chrono::Duration,
    /// Who hosts the app and where, as the sub-processor page names it: `HOSTING`, else
    /// `Heroku` when `DYNO` says the app runs on a Heroku dyno; `None`: not stated.
    pub hosting: Option<String>,
}

/// Payment through Moyasar (hosted invoices, webhooks).
#[derive(Debug, Clone)]
pub struct MoyasarConfig {
    /// `https://api.moyasar.com/v1`, or the sandbox's.
    pub api_url: String,
    /// `sk_test_…` or `sk_live_…`: Basic auth username, never shown.
    pub secret_key: SecretString,
    /// The Secret Token set on the webhook in Moyasar's dashboard (compared with each
    /// event's `secret_token`).
    pub webhook_secret: SecretString,
    /// Whether the key is a live one: events whose `live` differs are refused.
    pub live: bool,
    /// Total time of one Moyasar API call.
    pub timeout: Duration,
}

/// Collecting what invoices say is owed.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Moyasar; `None` when `MOYASAR_SECRET_KEY` is unset (invoices are issued without a
    /// payment link).
    pub moyasar: Option<MoyasarConfig>,
    /// Days after issue an unpaid invoice's reminder is emailed.
    pub remind_after_days: u32,
    /// Days after issue an unpaid invoice pauses the business's bot (until it is paid).
    pub suspend_after_days: u32,
}
