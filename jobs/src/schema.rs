//! The database schema the processes need: apalis' own migrations (schema `apalis`,
//! history in `apalis._sqlx_migrations`, applied by the engine: `mujibak_queue::schema`)
//! and then ours (`migrations/`, which add the engine's tables and may index apalis').
//! `web` and `worker` refuse to start while either has pending versions.

use mujibak_core::db::{self, MIGRATOR};
use mujibak_queue::{schema, QueueError};
use sqlx::PgPool;

/// Applies every pending migration: apalis' first, then ours.
pub async fn migrate(pool: &PgPool) -> Result<(), QueueError> {
    schema::setup(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Pending migration versions, apalis' and ours, as `apalis:<v>` / `<v>`. Empty when the
/// database is ready.
pub async fn pending(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let apalis = db::pending_migrations(pool, &schema::migrations()).await?;
    let ours = db::pending_migrations(pool, &MIGRATOR).await?;
    Ok(apalis
        .into_iter()
        .map(|v| format!("apalis:{v}"))
        .chain(ours.into_iter().map(|v| v.to_string()))
        .collect())
}
