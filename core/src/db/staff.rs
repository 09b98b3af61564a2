//! Staff access tokens (`staff_tokens`, hashes only) and the console sessions they open
//! (`staff_sessions`). Not tenant-owned.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

/// A token as stored (never the token itself).
#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub token_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "token_id, name, scopes, created_at, expires_at, revoked_at, last_used_at";

pub async fn insert_token(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    hash: &[u8],
    scopes: &[&str],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into staff_tokens (token_id, name, token_hash, scopes, expires_at) values ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(name)
        .bind(hash)
        .bind(scopes)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The unrevoked, unexpired token with this hash.
pub async fn find_live(pool: &PgPool, hash: &[u8]) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from staff_tokens where token_hash = $1 and revoked_at is null and expires_at > now()"
    )))
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Records a use (written at most once a minute per token).
pub async fn touch(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update staff_tokens set last_used_at = now()
          where token_id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every token, newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from staff_tokens order by created_at desc"
    )))
    .fetch_all(pool)
    .await
}

/// Revokes a token and ends its sessions; `false` if there is no such token.
pub async fn revoke(tx: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let found =
        sqlx::query("update staff_tokens set revoked_at = coalesce(revoked_at, now()) where token_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    sqlx::query("delete from staff_sessions where token_id = $1").bind(id).execute(&mut *tx).await?;
    Ok(found)
}

/// Stores a console session for a token.
pub async fn insert_session(
    conn: &mut PgConnection,
    hash: &[u8],
    token: Uuid,
    csrf: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into staff_sessions (session_hash, token_id, csrf, expires_at) values ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(token)
    .bind(csrf)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live console session: its token and CSRF token.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub token: TokenRow,
    pub csrf: String,
}

/// The live session with this hash (its token live too).
pub async fn find_session(pool: &PgPool, hash: &[u8]) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "select t.token_id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, s.csrf
           from staff_sessions s join staff_tokens t using (token_id)
          where s.session_hash = $1 and s.expires_at > now() and t.revoked_at is null and t.expires_at > now()",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Ends a console session (and any expired ones).
pub async fn delete_session(pool: &PgPool, hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from staff_sessions where session_hash = $1 or expires_at < now()")
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(())
}
