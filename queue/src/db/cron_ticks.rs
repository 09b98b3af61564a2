//! Durable cron ticks: one row per (task, tick), inserted in the same transaction as the
//! tick's job so that several schedulers enqueue each tick exactly once.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Claims `tick` of `task` for the caller's transaction. `true` when this caller won and
/// must enqueue the job (in the same transaction); `false` when the tick is already taken.
/// A concurrent claimer blocks on the unique key until the winner commits or rolls back.
pub async fn claim(
    conn: &mut PgConnection,
    task: &str,
    tick: DateTime<Utc>,
    task_id: &str,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "insert into cron_ticks (task, tick, task_id) values ($1, $2, $3)
         on conflict (task, tick) do nothing returning 1",
    )
    .bind(task)
    .bind(tick)
    .bind(task_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// The latest tick of `task` that was enqueued, if any: where start-up catch-up begins.
pub async fn latest(pool: &PgPool, task: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("select max(tick) from cron_ticks where task = $1").bind(task).fetch_one(pool).await
}

/// Every recorded tick of `task`, oldest first (ops console and tests).
pub async fn list(pool: &PgPool, task: &str) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("select tick from cron_ticks where task = $1 order by tick")
        .bind(task)
        .fetch_all(pool)
        .await
}

/// Deletes ticks older than `before`, always keeping each task's latest (catch-up needs it).
pub async fn prune(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from cron_ticks t where t.tick < $1
           and t.tick < (select max(l.tick) from cron_ticks l where l.task = t.task)",
    )
    .bind(before)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
