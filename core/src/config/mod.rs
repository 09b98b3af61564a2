//! Configuration, read from the environment only (a local `.env` is loaded by dotenvy
//! first). Every variable is listed here and in `.env.example`; a missing or malformed
//! one is reported with its name so the process can stop with one clear line.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | required | Postgres connection string |
//! | `DATABASE_MAX_CONNECTIONS` | 20 | pool size per process |
//! | `DATABASE_STATEMENT_TIMEOUT_SECS` | 30 | Postgres ends a statement of `web` or `worker` that runs longer (0: no limit; `migrate` has none) |
//! | `DATABASE_LOCK_TIMEOUT_SECS` | 10 | … one that waits longer for a lock (the job's attempt then fails and is retried) |
//! | `DATABASE_IDLE_IN_TRANSACTION_SECS` | 60 | … a transaction left idle longer (its locks are released) |
//! | `PORT` | 8080 | HTTP port of `web` / `dev` |
//! | `BASE_URL` | `http://localhost:$PORT` | public URL of the app; `web` and `worker` refuse one that is not https |
//! | `ALLOW_LOOPBACK_HTTP` | `false` | `true`: `web` and `worker` accept an http `BASE_URL` on localhost / 127.0.0.1 / [::1] (benchmarks, tests; never a deploy) |
//! | `LOG_FORMAT` | `text` | `text` or `json` |
//! | `JOB_RETENTION_HOURS` | 168 | finished job rows older than this are pruned (those with a failed attempt: see the next) |
//! | `JOB_DONE_RETENTION_MINUTES` | 5 | a finished job that never failed is deleted this long after it finished, once the queues page's per-minute rollup has counted it (the page's history is the rollup's); 1 to `JOB_RETENTION_HOURS` × 60 |
//! | `JOB_DEAD_RETENTION_HOURS` | 336 | dead job rows and their error history are kept this long |
//! | `JOB_PRUNE_SCHEDULE` | `0 17 * * * *` | cron (sec min hour dom mon dow, Asia/Riyadh) of the prune |
//! | `INBOUND_RETENTION_DAYS` | 30 | processed (or given-up) raw webhook events older than this are pruned; at least 8 (Meta redelivers for 7 days) |
//! | `DELETION_GRACE_DAYS` | 7 | days an owner can cancel an account deletion before the purge; 0 to 29 (the policy promises deletion within 30 days) |
//! | `HOSTING` | `Heroku` when `DYNO` is set, else unstated | who hosts the app and its database, and where (`Heroku, EU (Ireland)`), as the sub-processor page (`/privacy/processors`) names it |
//! | `SHUTDOWN_TIMEOUT_SECS` | 25 | grace period for in-flight work on SIGTERM |
//! | `WORKER_PARALLEL_JOBS` | `true` | run jobs on every core (`false`: all of a worker's jobs on one thread, as apalis' `Monitor` alone does) |
//! | `WORKER_PROVIDER_CONCURRENCY` | 1024 | jobs at once per queue that waits on Meta, the model or SMTP (replies, sends, media, email), whatever the pool's size (0: a share of the pool, as the other queues); a ceiling: fewer while the provider refuses us for going too fast (`queue::throttle`) |
//! | `SMTP_URL` | none (worker refuses to start) | `smtp://user:pass@host:587?tls=required`, `smtps://…` |
//! | `MAIL_FROM` | `Mujibak <no-reply@mujibak.com>` | sender of every email |
//! | `SUPPORT_EMAIL` | `support@mujibak.com` | shown in the footer and emails |
//! | `SESSION_IDLE_MINUTES` | 720 | a session unused this long ends |
//! | `SESSION_MAX_DAYS` | 30 | a session ends this long after sign-in, used or not |
//! | `TRUST_PROXY` | `false` | take the client address from `X-Forwarded-For` (Heroku: true) |
//! | `WEB_MAX_CONNECTIONS` | 512 | connections one web process serves requests on at once (32 of them kept for webhooks and health checks); one more is answered 503 |
//! | `WEB_MAX_CONNECTIONS_PER_CLIENT` | 64 | open connections of one client (address); past it, 503 |
//! | `WEB_MAX_STREAMS` | 256 | live inbox streams one web process keeps open, apart from the connections above |
//! | `WEBHOOK_INFLIGHT_MB` | 64 | webhook bodies being read at once, in MiB; past it a delivery is answered 503 (Meta retries) |
//! | `ENCRYPTION_KEYS` | none (web/worker refuse) | `kid:base64(32 bytes)[,older…]`, first is current |
//! | `WHATSAPP_GRAPH_URL` | `https://graph.facebook.com` | Graph API base (the sandbox in dev/tests) |
//! | `WHATSAPP_API_VERSION` | `v24.0` | Graph API version |
//! | `WHATSAPP_TIMEOUT_SECS` | 15 | total time of one Graph API call (connecting included) |
//! | `SEND_RECONCILE_SECS` | 120 | how long an interrupted send waits for Meta's status before it is sent once more |
//! | `MEDIA_MAX_MB` | 16 | largest customer media file downloaded and kept (larger ones are shown as too large) |
//! | `OPENAI_BASE_URL` | `https://api.openai.com/v1` | any OpenAI-compatible server (Ollama, vLLM) |
//! | `OPENAI_API_KEY` | none | bearer key; replies fail visibly without it |
//! | `OPENAI_MODEL` | `gpt-4o-mini` | default model |
//! | `OPENAI_MODELS` | `OPENAI_MODEL` | models a business may choose (comma-separated; the default is always one) |
//! | `OPENAI_TOKEN_FIELD` | `max_completion_tokens` | or `max_tokens` for older servers |
//! | `OPENAI_TIMEOUT_SECS` | 30 | total time one model call may take |
//! | `OPENAI_TRANSCRIBE_MODEL` | `whisper-1` | model that transcribes voice notes (`off`: voice notes are not transcribed); used only for businesses that turned on media understanding |
//! | `OPENAI_VISION_MODEL` | `OPENAI_MODEL` | vision-capable model that describes images (`off`: images are not described) |
//! | `REPLY_MAX_TOKENS` | 400 | output limit of one reply |
//! | `REPLY_DEBOUNCE_SECS` | 3 | wait for more customer messages before answering |
//! | `SANDBOX_SMTP_PORT` | 2525 | `mujibak dev`: port of the local SMTP sink |
//! | `SANDBOX_MAIL_DIR` | `.dev/mail` | `mujibak dev`: folder the sink writes `.eml` files to |
//! | `SANDBOX_GRAPH_PORT` | 2600 | `mujibak dev`: port of the local Graph API |
//! | `SANDBOX_OPENAI_PORT` | 2601 | `mujibak dev`: port of the local OpenAI-compatible server |
//! | `READYZ_MAX_QUEUE_AGE_SECS` | 300 | `/readyz` answers 503 when a queue's oldest due job waited longer |
//! | `SELLER_NAME` | none (no invoices are issued) | the seller printed on invoices and in their QR (Arabic first) |
//! | `SELLER_VAT_NUMBER` | none | the seller's 15-digit VAT registration number (starts and ends with 3) |
//! | `SELLER_ADDRESS` | none | the seller's address as printed on invoices |
//! | `MOYASAR_SECRET_KEY` | none (invoices carry no payment link) | `sk_test_…` or `sk_live_…`; the prefix sets the mode webhook events must match |
//! | `MOYASAR_WEBHOOK_SECRET` | required with the key | the webhook's Secret Token in Moyasar's dashboard (16+ characters) |
//! | `MOYASAR_API_URL` | `https://api.moyasar.com/v1` | Moyasar's API (the sandbox in dev/tests) |
//! | `MOYASAR_TIMEOUT_SECS` | 15 | total time of one Moyasar API call |
//! | `BILLING_REMIND_AFTER_DAYS` | 3 | days after issue an unpaid invoice is reminded by email |
//! | `BILLING_SUSPEND_AFTER_DAYS` | 14 | days after issue an unpaid invoice pauses the bot, until paid |
//! | `SANDBOX_MOYASAR_PORT` | 2602 | `mujibak dev`: port of the local Moyasar |

use std::{str::FromStr, time::Duration};

use secrecy::SecretString;

/// Why the configuration could not be read. `Display` is the one line an operator sees.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("configuration error: {name} is not set ({hint})")]
    Missing { name: &'static str, hint: &'static str },
    #[error("configuration error: {name} is malformed: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("configuration error: {name} is refused: {reason}")]
    Refused { name: &'static str, reason: String },
}

/// The whole configuration, in typed sections.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub queue: QueueConfig,
    pub mail: MailConfig,
    pub session: SessionConfig,
    pub privacy: PrivacyConfig,
    pub sandbox: SandboxConfig,
    pub whatsapp: WhatsAppConfig,
    pub ai: AiConfig,
    pub ops: OpsConfig,
    /// The seller on invoices; `None` when unset (the invoice run then issues nothing).
    pub seller: Option<crate::billing::Seller>,
    pub billing: BillingConfig,
    /// Keys for secrets at rest; `None` when `ENCRYPTION_KEYS` is unset.
    pub keyring: Option<crate::crypto::Keyring>,
}

mod payments;
pub mod processors;
mod roles;
mod sections;

pub use roles::{required, Role};
pub use sections::*;

impl Config {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let database = DatabaseConfig {
            url: SecretString::from(env.required(
                "DATABASE_URL",
                "the Postgres connection string, e.g. postgres://user@127.0.0.1:5432/mujibak",
            )?),
            max_connections: env.parsed("DATABASE_MAX_CONNECTIONS", 20)?,
            timeouts: DatabaseTimeouts {
                statement: Duration::from_secs(env.parsed("DATABASE_STATEMENT_TIMEOUT_SECS", 30)?),
                lock: Duration::from_secs(env.parsed("DATABASE_LOCK_TIMEOUT_SECS", 10)?),
                idle_in_transaction: Duration::from_secs(
                    env.parsed("DATABASE_IDLE_IN_TRANSACTION_SECS", 60)?,
                ),
            },
        };
        if database.max_connections == 0 {
            return Err(invalid("DATABASE_MAX_CONNECTIONS", "must be at least 1"));
        }
        let port: u16 = env.parsed("PORT", 8080)?;
        let base_url_set = env.optional("BASE_URL").is_some();
        let base_url = env.optional("BASE_URL").unwrap_or_else(|| format!("http://localhost:{port}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(invalid("BASE_URL", "must start with http:// or https://"));
        }
        let format = match env.optional("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid("LOG_FORMAT", format!("expected text or json, got {other:?}")))
            }
        };
        let retention_hours: u64 = env.parsed("JOB_RETENTION_HOURS", 168)?;
        let done_retention_minutes: u64 = env.parsed("JOB_DONE_RETENTION_MINUTES", 5)?;
        if done_retention_minutes == 0 || done_retention_minutes > retention_hours * 60 {
            return Err(invalid(
                "JOB_DONE_RETENTION_MINUTES",
                "use 1 up to JOB_RETENTION_HOURS × 60: finished jobs are kept at least a minute, and no longer than the others",
            ));
        }
        let dead_retention_hours: u64 = env.parsed("JOB_DEAD_RETENTION_HOURS", 336)?;
        if dead_retention_hours < retention_hours {
            return Err(invalid(
                "JOB_DEAD_RETENTION_HOURS",
                "dead jobs are evidence: keep them at least as long as JOB_RETENTION_HOURS",
            ));
        }
        let prune_schedule = env.optional("JOB_PRUNE_SCHEDULE").unwrap_or_else(|| "0 17 * * * *".to_owned());
        let inbound_days: u64 = env.parsed("INBOUND_RETENTION_DAYS", 30)?;
        if inbound_days < 8 {
            return Err(invalid(
                "INBOUND_RETENTION_DAYS",
                "Meta redelivers a webhook for up to 7 days: keep events at least 8 days so a redelivery is still recognised",
            ));
        }
        let grace_days: u32 = env.parsed("DELETION_GRACE_DAYS", 7)?;
        if grace_days > crate::deletion::MAX_GRACE_DAYS {
            return Err(invalid(
                "DELETION_GRACE_DAYS",
                "the privacy policy promises deletion within 30 days: use 0 to 29",
            ));
        }
        let shutdown_secs: u64 = env.parsed("SHUTDOWN_TIMEOUT_SECS", 25)?;
        let smtp_url = env.optional("SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(invalid("SMTP_URL", "must start with smtp:// or smtps://"));
            }
        }
        let keyring = match env.optional("ENCRYPTION_KEYS") {
            None => None,
            Some(spec) => Some(
                crate::crypto::Keyring::parse(&SecretString::from(spec))
                    .map_err(|e| invalid("ENCRYPTION_KEYS", e.to_string()))?,
            ),
        };
        let token_field = match env.optional("OPENAI_TOKEN_FIELD").as_deref() {
            None | Some("max_completion_tokens") => TokenField::MaxCompletionTokens,
            Some("max_tokens") => TokenField::MaxTokens,
            Some(other) => {
                return Err(invalid(
                    "OPENAI_TOKEN_FIELD",
                    format!("expected max_completion_tokens or max_tokens, got {other:?}"),
                ))
            }
        };
        let model = env.optional("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()).trim().to_owned();
        let mut models = vec![model.clone()];
        for m in env.optional("OPENAI_MODELS").unwrap_or_default().split(',').map(str::trim) {
            if !m.is_empty() && !models.iter().any(|known| known == m) {
                models.push(m.to_owned());
            }
        }
        let vision_default = model.clone();
        let ai = AiConfig {
            base_url: env
                .optional("OPENAI_BASE_URL")
                .unwrap_or_else(|| "https://api.openai.com/v1".into())
                .trim_end_matches('/')
                .to_owned(),
            api_key: env.optional("OPENAI_API_KEY").map(SecretString::from),
            model,
            models,
            token_field,
            timeout: Duration::from_secs(env.parsed("OPENAI_TIMEOUT_SECS", 30)?),
            max_tokens: env.parsed("REPLY_MAX_TOKENS", 400)?,
            debounce: Duration::from_secs(env.parsed("REPLY_DEBOUNCE_SECS", 3)?),
            transcribe_model: unless_off(env.optional("OPENAI_TRANSCRIBE_MODEL"), "whisper-1"),
            vision_model: unless_off(env.optional("OPENAI_VISION_MODEL"), &vision_default),
        };
        let whatsapp = WhatsAppConfig {
            graph_url: env
                .optional("WHATSAPP_GRAPH_URL")
                .unwrap_or_else(|| "https://graph.facebook.com".into())
                .trim_end_matches('/')
                .to_owned(),
            api_version: env.optional("WHATSAPP_API_VERSION").unwrap_or_else(|| "v24.0".into()),
            timeout: Duration::from_secs(env.parsed("WHATSAPP_TIMEOUT_SECS", 15)?),
            reconcile_after: Duration::from_secs(env.parsed("SEND_RECONCILE_SECS", 120)?),
            media_max_bytes: env.parsed::<u64>("MEDIA_MAX_MB", 16)?.saturating_mul(1024 * 1024),
        };
        if whatsapp.media_max_bytes == 0 {
            return Err(invalid("MEDIA_MAX_MB", "must be at least 1"));
        }
        if whatsapp.timeout.is_zero() {
            return Err(invalid("WHATSAPP_TIMEOUT_SECS", "must be at least 1"));
        }
        let ops = OpsConfig {
            readyz_max_queue_age: Duration::from_secs(env.parsed("READYZ_MAX_QUEUE_AGE_SECS", 300)?),
        };
        if ops.readyz_max_queue_age.is_zero() {
            return Err(invalid("READYZ_MAX_QUEUE_AGE_SECS", "must be at least 1"));
        }
        let idle_minutes: u64 = env.parsed("SESSION_IDLE_MINUTES", 720)?;
        let max_days: u64 = env.parsed("SESSION_MAX_DAYS", 30)?;
        if idle_minutes == 0 || max_days == 0 {
            return Err(invalid("SESSION_IDLE_MINUTES", "session lifetimes must be positive"));
        }
        let seller = payments::seller(&env)?;
        let billing = payments::billing(&env)?;
        Ok(Config {
            database,
            http: HttpConfig {
                port,
                base_url: base_url.trim_end_matches('/').to_owned(),
                base_url_set,
                allow_loopback_http: env.parsed("ALLOW_LOOPBACK_HTTP", false)?,
                max_connections: at_least(&env, "WEB_MAX_CONNECTIONS", 512, 8)?,
                max_connections_per_client: at_least(&env, "WEB_MAX_CONNECTIONS_PER_CLIENT", 64, 1)?,
                max_streams: at_least(&env, "WEB_MAX_STREAMS", 256, 1)?,
                webhook_inflight_bytes: at_least(&env, "WEBHOOK_INFLIGHT_MB", 64, 1)? * 1024 * 1024,
            },
            log: LogConfig { format },
            queue: QueueConfig {
                retention: Duration::from_secs(retention_hours * 3600),
                done_retention: Duration::from_secs(done_retention_minutes * 60),
                dead_retention: Duration::from_secs(dead_retention_hours * 3600),
                prune_schedule,
                inbound_retention: Duration::from_secs(inbound_days * 24 * 3600),
                shutdown_timeout: Duration::from_secs(shutdown_secs),
                parallel_jobs: env.parsed("WORKER_PARALLEL_JOBS", true)?,
                provider_concurrency: env.parsed("WORKER_PROVIDER_CONCURRENCY", 1024)?,
            },
            mail: MailConfig {
                smtp_url: smtp_url.map(SecretString::from),
                from: env
                    .optional("MAIL_FROM")
                    .unwrap_or_else(|| "Mujibak <no-reply@mujibak.com>".to_owned()),
                support_address: env
                    .optional("SUPPORT_EMAIL")
                    .unwrap_or_else(|| "support@mujibak.com".to_owned()),
            },
            session: SessionConfig {
                idle: Duration::from_secs(idle_minutes * 60),
                max_age: Duration::from_secs(max_days * 86_400),
                trust_proxy: env.parsed("TRUST_PROXY", false)?,
            },
            privacy: PrivacyConfig {
                deletion_grace: chrono::Duration::days(grace_days.into()),
                hosting: env
                    .optional("HOSTING")
                    .or_else(|| env.optional("DYNO").map(|_| "Heroku".to_owned())),
            },
            sandbox: SandboxConfig {
                smtp_port: env.parsed("SANDBOX_SMTP_PORT", 2525)?,
                mail_dir: env.optional("SANDBOX_MAIL_DIR").unwrap_or_else(|| ".dev/mail".into()).into(),
                graph_port: env.parsed("SANDBOX_GRAPH_PORT", 2600)?,
                openai_port: env.parsed("SANDBOX_OPENAI_PORT", 2601)?,
                moyasar_port: env.parsed("SANDBOX_MOYASAR_PORT", 2602)?,
            },
            whatsapp,
            ai,
            ops,
            seller,
            billing,
            keyring,
        })
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, reason: reason.into() }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing { name, hint })
    }

    fn parsed<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|e: T::Err| invalid(name, format!("{e} (got {raw:?})"))),
        }
    }
}

#[cfg(test)]
mod tests;

/// A model setting: `default` when unset or empty, `None` when set to `off`.
fn unless_off(value: Option<String>, default: &str) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).unwrap_or_else(|| default.to_owned());
    (!value.is_empty() && !value.eq_ignore_ascii_case("off")).then_some(value)
}

/// A count read from `name` (default `default`) that must be at least `min`.
fn at_least(env: &Env<'_>, name: &'static str, default: usize, min: usize) -> Result<usize, ConfigError> {
    let n: usize = env.parsed(name, default)?;
    if n < min {
        return Err(invalid(name, format!("must be at least {min}")));
    }
    Ok(n)
}
