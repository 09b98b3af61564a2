//! What each Procfile role runs. Each function: connect, check, start, wait for SIGTERM.

use std::sync::Arc;

use anyhow::{bail, Context};
use mujibak_core::{db, Config};
use mujibak_jobs::{
    schema,
    worker::{self, WorkerOptions},
    JobContext,
};
use sqlx::PgPool;

use crate::{shutdown, state::AppState, web};

/// `mujibak migrate`: apalis' migrations, then ours.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = connect(config).await?;
    schema::migrate(&pool).await.context("migrations failed")?;
    tracing::info!("database migrated");
    Ok(())
}

/// `mujibak web`: the HTTP app on $PORT, refusing an unmigrated database.
pub async fn web(config: Config) -> anyhow::Result<()> {
    let pool = connect(&config).await?;
    ensure_migrated(&pool).await?;
    serve(AppState { db: pool, config: Arc::new(config) }, shutdown::signal()).await
}

/// `mujibak worker`: every queue and the cron scheduler, refusing an unmigrated database.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    let pool = connect(&config).await?;
    ensure_migrated(&pool).await?;
    run_worker(pool, &config, shutdown::signal()).await
}

/// `mujibak dev`: migrate, then web and worker in one process (local use only).
pub async fn dev(config: Config) -> anyhow::Result<()> {
    let pool = connect(&config).await?;
    schema::migrate(&pool).await.context("migrations failed")?;
    let stop = shutdown::signal();
    let state = AppState { db: pool.clone(), config: Arc::new(config.clone()) };
    let (web, worker) = tokio::join!(serve(state, stop.clone()), run_worker(pool, &config, stop));
    web.and(worker)
}

async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    db::connect(&config.database).await.context("cannot connect to the database named by DATABASE_URL")
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
    axum::serve(listener, web::router(state)).with_graceful_shutdown(stop).await.context("web server failed")
}

async fn run_worker(pool: PgPool, config: &Config, stop: shutdown::Shutdown) -> anyhow::Result<()> {
    let ctx = JobContext { db: pool, job_retention: config.queue.retention };
    let schedules = worker::schedules(&config.queue)?;
    let opts = WorkerOptions { shutdown_timeout: config.queue.shutdown_timeout, ..WorkerOptions::default() };
    worker::run(ctx, schedules, opts, stop).await.context("worker failed")
}
