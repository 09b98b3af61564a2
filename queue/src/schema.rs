//! apalis' own schema (`apalis.jobs`, `apalis.workers`; history in
//! `apalis._sqlx_migrations`), which the engine runs on. The application applies it first,
//! then its own migrations (which add the engine's tables, `job_errors`, `cron_ticks`, and
//! its indexes, and drop what apalis made that the engine must not have: see the crate's
//! README).

use apalis_postgres::PostgresStorage;
use sqlx::{migrate::Migrator, PgPool};

use crate::enqueue::QueueError;

/// Applies apalis' pending migrations.
pub async fn setup(pool: &PgPool) -> Result<(), QueueError> {
    PostgresStorage::setup(pool).await?;
    Ok(())
}

/// apalis' migrations, to ask which are pending.
pub fn migrations() -> Migrator {
    PostgresStorage::migrations()
}
