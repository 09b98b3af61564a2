//! Password-reset requests waiting to be handled (see `src/web/background.rs`): the
//! address as typed, until a web process has looked it up and queued the email, if any.
//! Not tenant-owned: the account is not known yet.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Keeps a request. One insert, whatever the address: the answer cannot depend on it.
pub async fn insert(pool: &PgPool, email: &str) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query("insert into password_reset_requests (request_id, email) values ($1, $2)")
        .bind(id)
        .bind(email)
        .execute(pool)
        .await?;
    Ok(id)
}

/// The oldest waiting request with its failed attempts so far, locked for the caller's
/// transaction (skipping any another process holds).
pub async fn next(conn: &mut PgConnection) -> Result<Option<(Uuid, String, i32)>, sqlx::Error> {
    sqlx::query_as(
        "select request_id, email, attempts from password_reset_requests
          order by requested_at limit 1 for update skip locked",
    )
    .fetch_optional(conn)
    .await
}

/// Done with (handled, or given up after too many failures).
pub async fn remove(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("delete from password_reset_requests where request_id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Counts a failed attempt of `id` (its transaction rolled back).
pub async fn failed(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update password_reset_requests set attempts = attempts + 1 where request_id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
