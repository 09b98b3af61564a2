//! What each Procfile role runs. Each function: connect, check, start, wait for SIGTERM.

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

use crate::{
    sandbox::{demo, graph::GraphFake, mail::MailSink, moyasar::MoyasarFake, openai::OpenAiFake},
    shutdown,
    state::AppState,
    web,
};

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
async fn final_flush(pool: &PgPool) {
    if let Err(e) = mujibak_core::metrics::flush::flush_now(pool).await {
        tracing::warn!(error = %e, "the last metrics flush failed; its counts are lost");
    }
}

/// `mujibak dev`: migrate, then the sandbox (local Graph API, OpenAI-compatible server
/// and SMTP sink, used unless real ones are configured), the demo business, web and worker
/// in one process (local use only).
pub async fn dev(mut config: Config) -> anyhow::Result<()> {
    let keyring = require_keys(&config)?;
    let pool = connect(&config).await?;
    schema::migrate(&pool).await.context("migrations failed")?;
    let sb = config.sandbox.clone();
    if config.mail.smtp_url.is_none() {
        let sink = MailSink::start(&format!("127.0.0.1:{}", sb.smtp_port), Some(sb.mail_dir.clone()))
            .await
            .context("cannot start the sandbox SMTP sink (SANDBOX_SMTP_PORT)")?;
        tracing::info!(smtp = %sink.url(), folder = %sb.mail_dir.display(), "sandbox mail sink: emails land here");
        config.mail.smtp_url = Some(sink.url().into());
    }
    let graph = GraphFake::start(&format!("127.0.0.1:{}", sb.graph_port))
        .await
        .context("cannot start the sandbox Graph API (SANDBOX_GRAPH_PORT)")?;
    if config.whatsapp.graph_url == "https://graph.facebook.com" {
        config.whatsapp.graph_url = graph.base_url();
    }
    if config.ai.api_key.is_none() {
        let model = OpenAiFake::start(&format!("127.0.0.1:{}", sb.openai_port))
            .await
            .context("cannot start the sandbox model (SANDBOX_OPENAI_PORT)")?;
        config.ai.base_url = model.base_url();
        config.ai.api_key = Some("sk-sandbox".into());
        tracing::info!(url = %model.base_url(), "sandbox model: simulated, FAQ-driven answers");
    }
    if config.seller.is_none() {
        // Invoices need a seller: the sandbox prints a made-up one.
        config.seller = Some(mujibak_core::billing::Seller {
            name: "مُجيب (تجريبي)".into(),
            vat_number: "300000000000003".into(),
            address: "Riyadh (sandbox)".into(),
        });
    }
    if config.billing.moyasar.is_none() {
        config.billing.moyasar = Some(sandbox_moyasar(&config, sb.moyasar_port).await?);
    }
    // The demo number is registered first (token only), so its connection can be verified
    // like any other; its webhook is added once the connection has its key.
    graph.register_number(demo::PHONE_NUMBER_ID, demo::ACCESS_TOKEN, None, None);
    let sandbox_graph = GraphClient::new(&mujibak_core::config::WhatsAppConfig {
        graph_url: graph.base_url(),
        ..config.whatsapp.clone()
    });
    let key = crate::sandbox::demo::ensure(&pool, &keyring, &sandbox_graph)
        .await
        .context("cannot create the demo business")?;
    let webhook = format!("{}/webhooks/whatsapp/{key}", config.http.base_url);
    graph.register_number(
        demo::PHONE_NUMBER_ID,
        demo::ACCESS_TOKEN,
        Some(webhook),
        Some(demo::APP_SECRET.into()),
    );
    let stop = shutdown::signal();
    // Web and worker get a pool each, as their processes would in production: the worker's
    // concurrency is fitted to its own pool.
    let state = AppState::new(pool, config.clone(), true)?;
    let worker_pool = connect(&config).await?;
    let (web, worker) =
        tokio::join!(serve(state, stop.clone()), run_worker(worker_pool.clone(), &config, stop));
    final_flush(&worker_pool).await;
    web.and(worker)
}

/// The sandbox's Moyasar, sending its webhooks to this app, and the configuration that
/// points billing at it.
async fn sandbox_moyasar(config: &Config, port: u16) -> anyhow::Result<mujibak_core::config::MoyasarConfig> {
    const KEY: &str = "sk_test_sandbox_moyasar_key";
    const SECRET: &str = "sandbox-moyasar-webhook-secret";
    let moyasar = MoyasarFake::start(&format!("127.0.0.1:{port}"), KEY)
        .await
        .context("cannot start the sandbox Moyasar (SANDBOX_MOYASAR_PORT)")?;
    moyasar.set_webhook(&format!("{}/webhooks/moyasar", config.http.base_url), SECRET);
    tracing::info!(url = %moyasar.base_url(), "sandbox Moyasar: invoices are paid on its local page");
    Ok(mujibak_core::config::MoyasarConfig {
        api_url: moyasar.api_url(),
        secret_key: KEY.into(),
        webhook_secret: SECRET.into(),
        live: false,
        timeout: std::time::Duration::from_secs(10),
    })
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

fn require_keys(config: &Config) -> anyhow::Result<mujibak_core::crypto::Keyring> {
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

async fn serve(state: AppState, stop: shutdown::Shutdown) -> anyhow::Result<()> {
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

async fn run_worker(pool: PgPool, config: &Config, stop: shutdown::Shutdown) -> anyhow::Result<()> {
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
        ..WorkerOptions::default()
    };
    worker::run(ctx, schedules, opts, stop).await.context("worker failed")
}
