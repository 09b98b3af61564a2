//! What each Procfile role runs. Each function: connect, check, start, wait for SIGTERM.
//! `mujibak dev` (`dev.rs`) exists only in builds with the `dev` feature.

use anyhow::{bail, Context};
use mujibak_core::{
    clients::{openai::ReplyModel, smtp::Mailer, whatsapp::GraphClient},
    config::Role,
    db, Config,
};
use mujibak_jobs::{
    schema,
    worker::{self, WorkerOptions},
    JobContext, WhatsAppContext,
};
use sqlx::PgPool;

use crate::{shutdown, state::AppState, web};

#[cfg(feature = "dev")]
mod dev;
#[cfg(feature = "dev")]
pub use dev::dev;

/// `mujibak migrate`: apalis' migrations, then ours.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    config.require(Role::Migrate)?;
    // Migrations need one connection; the release phase runs while the old web and
    // worker dynos still hold theirs, so it takes no more than two.
    let mut small = config.clone();
    small.database.max_connections = config.database.max_connections.min(2);
    // An index build on a large table may take minutes: migrations run unbounded.
    small.database.timeouts = mujibak_core::config::DatabaseTimeouts::NONE;
    let pool = connect(&small).await?;
    schema::migrate(&pool).await.context("migrations failed")?;
    tracing::info!("database migrated");
    if let Some(keyring) = &config.keyring {
        let sealed = mujibak_core::connections::seal_legacy(&pool, keyring)
            .await
            .context("sealing the plaintext verify tokens failed")?;
        if sealed > 0 {
            tracing::info!(connections = sealed, "sealed verify tokens stored in plaintext");
        }
    }
    Ok(())
}

/// `mujibak web`: the HTTP app on $PORT, refusing an unmigrated database.
pub async fn web(config: Config) -> anyhow::Result<()> {
    config.require(Role::Web)?;
    let pool = connect(&config).await?;
    ensure_migrated(&pool).await?;
    let served = serve(AppState::new(pool.clone(), config, false)?, shutdown::signal()).await;
    final_flush(&pool).await;
    served
}

/// `mujibak worker`: every queue and the cron scheduler, refusing an unmigrated database.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    config.require(Role::Worker)?;
    let pool = connect(&config).await?;
    ensure_migrated(&pool).await?;
    mujibak_core::metrics::flush::start(pool.clone(), "worker");
    let ran = run_worker(pool.clone(), &config, shutdown::signal()).await;
    final_flush(&pool).await;
    ran
}

/// Writes the counts of the last few seconds before the process exits.
pub(crate) async fn final_flush(pool: &PgPool) {
    if let Err(e) = mujibak_core::metrics::flush::flush_now(pool).await {
        tracing::warn!(error = %e, "the last metrics flush failed; its counts are lost");
    }
}

pub async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    db::connect(&config.database).await.context("cannot connect to the database named by DATABASE_URL")
}

/// `mujibak rotate-keys`: re-encrypts every secret under the current key (the first of
/// `ENCRYPTION_KEYS`); afterwards the older keys can be removed.
pub async fn rotate_keys(config: &Config) -> anyhow::Result<()> {
    let keyring = require_keys(config)?;
    let pool = connect(config).await?;
    ensure_migrated(&pool).await?;
    let n = mujibak_core::connections::rotate_keys(&pool, &keyring).await.context("key rotation failed")?;
    println!("re-encrypted the secrets of {n} connection(s) under key {}", keyring.current_id());
    Ok(())
}

pub(crate) fn require_keys(config: &Config) -> anyhow::Result<mujibak_core::crypto::Keyring> {
    config.keyring.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "ENCRYPTION_KEYS is not set (kid:base64 of 32 random bytes, or 64 hex digits; see .env.example)"
        )
    })
}

/// Stops a role from running against a schema it does not know.
pub async fn ensure_migrated(pool: &PgPool) -> anyhow::Result<()> {
    let pending = schema::pending(pool).await.context("cannot read the migration history")?;
    if !pending.is_empty() {
        bail!(
            "the database has {} pending migration(s) ({}); run `mujibak migrate` first",
            pending.len(),
            pending.join(", ")
        );
    }
    Ok(())
}

pub(crate) async fn serve(state: AppState, stop: shutdown::Shutdown) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], state.config.http.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on port {} (PORT)", addr.port()))?;
    tracing::info!(port = addr.port(), base_url = %state.config.http.base_url, "web listening");
    let http = &state.config.http;
    let limits = web::ServeLimits {
        max_connections: http.max_connections,
        per_client: http.max_connections_per_client,
        ..web::ServeLimits::default()
    };
    web::serve_app(listener, state, limits, stop).await.context("web server failed")
}

pub(crate) async fn run_worker(
    pool: PgPool,
    config: &Config,
    stop: shutdown::Shutdown,
) -> anyhow::Result<()> {
    let mailer = Mailer::new(&config.mail).context("the worker sends email")?;
    let whatsapp = WhatsAppContext {
        graph: GraphClient::new(&config.whatsapp),
        model: ReplyModel::new(&config.ai),
        keyring: require_keys(config)?,
        debounce: config.ai.debounce,
        settings_url: format!("{}/settings/whatsapp", config.http.base_url),
    };
    if !whatsapp.model.configured() {
        tracing::warn!("OPENAI_API_KEY is not set: replies will fail and fall back");
    }
    let ctx = JobContext {
        db: pool,
        job_retention: config.queue.retention,
        done_job_retention: config.queue.done_retention,
        dead_job_retention: config.queue.dead_retention,
        inbound_retention: config.queue.inbound_retention,
        mailer: Some(mailer),
        session_idle: config.session.idle,
        whatsapp: Some(whatsapp),
        base_url: config.http.base_url.clone(),
        seller: config.seller.clone(),
        payments: mujibak_jobs::PaymentsContext::new(&config.billing),
    };
    let schedules = worker::schedules(&config.queue)?;
    let opts = WorkerOptions {
        shutdown_timeout: config.queue.shutdown_timeout,
        parallel: config.queue.parallel_jobs,
        outside_concurrency: config.queue.provider_concurrency,
        ..WorkerOptions::default()
    };
    worker::run(ctx, schedules, opts, stop).await.context("worker failed")
}
