//! Server-side sessions, keyed by the SHA-256 of the cookie token.

use chrono::{DateTime, Utc};
use sqlx::{types::Json, PgConnection, PgPool};

use crate::domain::{TenantId, UserId};

/// A live session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub session_hash: Vec<u8>,
    pub tenant_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    pub csrf_token: String,
    pub flash: Option<Json<serde_json::Value>>,
    pub last_seen_at: DateTime<Utc>,
}

/// Creates a session; `user` is `None` for a signed-out visitor.
pub async fn create(
    conn: &mut PgConnection,
    hash: &[u8],
    user: Option<(TenantId, UserId)>,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into sessions (session_hash, tenant_id, user_id, csrf_token, expires_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(user.map(|u| u.0))
    .bind(user.map(|u| u.1))
    .bind(csrf_token)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session if it is neither past its absolute expiry nor idle longer than `idle_secs`.
pub async fn find_live(pool: &PgPool, hash: &[u8], idle_secs: i64) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(
        "select session_hash, tenant_id, user_id, csrf_token, flash, last_seen_at from sessions
         where session_hash = $1 and expires_at > now()
           and last_seen_at > now() - make_interval(secs => $2)",
    )
    .bind(hash)
    .bind(idle_secs as f64)
    .fetch_optional(pool)
    .await
}

/// Marks the session used now (keeps it from idling out).
pub async fn touch(pool: &PgPool, hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set last_seen_at = now() where session_hash = $1")
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Stores the flash messages to show on the next page.
pub async fn set_flash(pool: &PgPool, hash: &[u8], flash: &serde_json::Value) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set flash = $2 where session_hash = $1")
        .bind(hash)
        .bind(Json(flash))
        .execute(pool)
        .await?;
    Ok(())
}

/// Stores a signed-out visitor's session the first time it has something to keep (a
/// flash message): its CSRF token is the one its pages already carry.
pub async fn store_anonymous(
    pool: &PgPool,
    hash: &[u8],
    csrf_token: &str,
    flash: &serde_json::Value,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into sessions (session_hash, csrf_token, flash, expires_at) values ($1, $2, $3, $4)
         on conflict (session_hash) do update set tenant_id = null, user_id = null, csrf_token = $2, flash = $3,
           last_seen_at = now(), expires_at = $4",
    )
    .bind(hash)
    .bind(csrf_token)
    .bind(Json(flash))
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Clears flash messages once shown.
pub async fn clear_flash(pool: &PgPool, hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set flash = null where session_hash = $1").bind(hash).execute(pool).await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where session_hash = $1").bind(hash).execute(conn).await?;
    Ok(())
}

/// Ends every session of a user except `keep` (password change, sign-out elsewhere).
pub async fn delete_for_user(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    keep: Option<&[u8]>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from sessions where tenant_id = $1 and user_id = $2
           and ($3::bytea is null or session_hash <> $3)",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes sessions past their absolute expiry or idle longer than `idle_secs`.
pub async fn prune(pool: &PgPool, idle_secs: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from sessions where expires_at <= now() or last_seen_at <= now() - make_interval(secs => $1)",
    )
    .bind(idle_secs as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Of `hashes`, the signed-in sessions that may still use the app: live (neither expired
/// nor idle longer than `idle_secs`), their user still a member, their business neither
/// suspended nor being deleted. The live inbox ends the streams of the others.
pub async fn still_allowed(
    pool: &PgPool,
    hashes: &[Vec<u8>],
    idle_secs: i64,
) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "select s.session_hash from sessions s
           join users u on u.tenant_id = s.tenant_id and u.user_id = s.user_id
           join tenants t on t.tenant_id = s.tenant_id
          where s.session_hash = any($1) and s.expires_at > now()
            and s.last_seen_at > now() - make_interval(secs => $2)
            and t.suspended_at is null
            and not exists (select 1 from deletion_requests d
                             where d.tenant_id = s.tenant_id and d.cancelled_at is null)",
    )
    .bind(hashes)
    .bind(idle_secs as f64)
    .fetch_all(pool)
    .await
}
