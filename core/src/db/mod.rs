//! All SQL lives under this module: one file per aggregate. Tenant-owned queries take the
//! tenant id as their first argument after the executor. This file owns the pool and the
//! migration bookkeeping.

pub mod ai_usage;
pub mod audit;
pub mod billing_run;
pub mod bot_settings;
pub mod connections;
pub mod contacts;
pub mod conversations;
pub mod dashboard;
pub mod deletion_requests;
pub mod deliveries;
pub mod emails;
pub mod export_rows;
pub mod exports;
pub mod inbound_events;
pub mod inbox;
pub mod inbox_news;
pub mod incidents;
pub mod invoices;
pub mod job_rollup;
pub mod jobs;
pub mod knowledge;
pub mod media;
pub mod messages;
pub mod metrics;
pub mod notes;
pub mod ops_deliveries;
pub mod ops_jobs;
pub mod ops_queues;
pub mod ops_tenants;
pub mod parked_statuses;
pub mod past_conversations;
pub mod payments;
pub mod plans;
pub mod purge;
pub mod quick_replies;
pub mod rate_limits;
pub mod reset_requests;
pub mod sessions;
pub mod staff;
pub mod tenants;
pub mod tokens;
pub mod usage;
pub mod users;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::{migrate::Migrator, postgres::PgPoolOptions, PgPool};

use crate::config::DatabaseConfig;

/// Our migrations (`migrations/` at the workspace root), embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens the pool. Connects eagerly so a wrong URL fails at start, not at first request.
/// Every connection bounds its statements as `config.timeouts` says (and asks Postgres to
/// probe the connection when it goes quiet, so a vanished client's locks are released):
/// a statement stuck on a lock fails with Postgres' own error instead of waiting forever.
pub async fn connect(config: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    let settings = session_settings(&config.timeouts);
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _| {
            let settings = settings.clone();
            Box::pin(async move {
                sqlx::raw_sql(sqlx::AssertSqlSafe(settings)).execute(conn).await?;
                Ok(())
            })
        })
        .connect(config.url.expose_secret())
        .await
}

/// The `set` statements a new connection runs (timeouts in milliseconds; 0 is no limit).
pub fn session_settings(t: &crate::config::DatabaseTimeouts) -> String {
    format!(
        "set statement_timeout = {}; set lock_timeout = {}; set idle_in_transaction_session_timeout = {};
         set tcp_keepalives_idle = 30; set tcp_keepalives_interval = 10; set tcp_keepalives_count = 3",
        t.statement.as_millis(),
        t.lock.as_millis(),
        t.idle_in_transaction.as_millis()
    )
}

/// Versions `migrator` knows that the database has not applied (successfully).
/// Works for any migrator, whatever table it keeps its history in.
pub async fn pending_migrations(pool: &PgPool, migrator: &Migrator) -> Result<Vec<i64>, sqlx::Error> {
    let table = migrator.table_name.as_ref();
    let exists: bool =
        sqlx::query_scalar("select to_regclass($1) is not null").bind(table).fetch_one(pool).await?;
    let applied: Vec<i64> = if exists {
        // The table name comes from a compiled-in Migrator, never from input.
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select version from {table} where success")))
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    Ok(migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect())
}

/// `select 1`: the readiness probe's database check.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("select 1").execute(pool).await.map(|_| ())
}
