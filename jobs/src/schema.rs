//! The database schema the processes need: apalis' own migrations (schema `apalis`,
//! history in `apalis._sqlx_migrations`) and then ours (`migrations/`, which may index
//! apalis' tables). `web` and `worker` refuse to start while either has pending versions.

use apalis_postgres::PostgresStorage;
use mujibak_core::db::{self, MIGRATOR};
use sqlx::PgPool;

use crate::enqueue::QueueError;

/// Applies every pending migration: apalis' first, then ours.
pub async fn migrate(pool: &PgPool) -> Result<(), QueueError> {
    PostgresStorage::setup(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Pending migration versions, apalis' and ours, as `apalis:<v>` / `<v>`. Empty when the
/// database is ready.
pub async fn pending(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let apalis = db::pending_migrations(pool, &PostgresStorage::migrations()).await?;
    let ours = db::pending_migrations(pool, &MIGRATOR).await?;
    Ok(apalis
        .into_iter()
        .map(|v| format!("apalis:{v}"))
        .chain(ours.into_iter().map(|v| v.to_string()))
        .collect())
}
