//! Fixed-window counters in Postgres, so a limit holds across every web replica. A hit is
//! counted and its window read back in one statement: callers decide on the count itself.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Hits in the current window of a bucket, and when that window ends.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Window {
    pub hits: i32,
    pub resets_at: DateTime<Utc>,
}

/// Counts one hit in `bucket` and returns the window after it.
pub async fn hit(pool: &PgPool, bucket: &str, window: Duration) -> Result<Window, sqlx::Error> {
    sqlx::query_as(
        "insert into rate_limits as r (bucket, window_start, hits) values ($1, now(), 1)
         on conflict (bucket) do update set
           hits = case when r.window_start <= now() - make_interval(secs => $2) then 1 else r.hits + 1 end,
           window_start = case when r.window_start <= now() - make_interval(secs => $2) then now() else r.window_start end
         returning hits, window_start + make_interval(secs => $2) as resets_at",
    )
    .bind(bucket)
    .bind(window.as_secs_f64())
    .fetch_one(pool)
    .await
}

/// The hits in `bucket`'s current window, without counting one.
pub async fn peek(pool: &PgPool, bucket: &str, window: Duration) -> Result<i32, sqlx::Error> {
    let hits: Option<i32> = sqlx::query_scalar(
        "select hits from rate_limits where bucket = $1 and window_start > now() - make_interval(secs => $2)",
    )
    .bind(bucket)
    .bind(window.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    Ok(hits.unwrap_or(0))
}

/// Forgets a bucket (a successful sign-in clears its failures).
pub async fn clear(pool: &PgPool, bucket: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from rate_limits where bucket = $1").bind(bucket).execute(pool).await?;
    Ok(())
}

/// Deletes windows that ended more than `older_than` ago.
pub async fn prune(pool: &PgPool, older_than: Duration) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("delete from rate_limits where window_start < now() - make_interval(secs => $1)")
        .bind(older_than.as_secs_f64())
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
