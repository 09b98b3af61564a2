//! Single-use, expiring tokens sent by email. Stored as SHA-256 digests. A user's open
//! links are voided together when their password or email changes.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::{TenantId, UserId};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailChange,
    Invitation,
    /// Proves the address after sign-up.
    EmailVerification,
    /// Mailed to the old address after an email change: takes the account back.
    EmailRevert,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailChange => "email_change",
            Purpose::Invitation => "invitation",
            Purpose::EmailVerification => "email_verification",
            Purpose::EmailRevert => "email_revert",
        }
    }
}

/// A valid token's payload.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub tenant_id: TenantId,
    pub user_id: Option<UserId>,
    pub email: Option<String>,
}

/// An invitation not yet accepted (team page).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingInvitation {
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut PgConnection,
    digest: &[u8],
    purpose: Purpose,
    tenant_id: TenantId,
    user_id: Option<UserId>,
    email: Option<&str>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into user_tokens (token_hash, purpose, tenant_id, user_id, email, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(digest)
    .bind(purpose.as_str())
    .bind(tenant_id)
    .bind(user_id)
    .bind(email)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The token if unused and unexpired, without using it (to show its form).
pub async fn peek(
    conn: &mut PgConnection,
    digest: &[u8],
    purpose: Purpose,
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "select tenant_id, user_id, email from user_tokens
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()",
    )
    .bind(digest)
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

/// Uses the token: succeeds once, and only before it expires.
pub async fn consume(
    conn: &mut PgConnection,
    digest: &[u8],
    purpose: Purpose,
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "update user_tokens set used_at = now()
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
         returning tenant_id, user_id, email",
    )
    .bind(digest)
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

/// Invitations of a tenant that are still open.
pub async fn pending_invitations(
    conn: &mut PgConnection,
    tenant_id: TenantId,
) -> Result<Vec<PendingInvitation>, sqlx::Error> {
    sqlx::query_as(
        "select email, expires_at from user_tokens
         where tenant_id = $1 and purpose = 'invitation' and used_at is null and expires_at > now()
         order by created_at desc",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await
}

/// Voids `tenant_id`'s open invitations to `email` (revoked, resent, or accepted through
/// another of them); how many.
pub async fn void_invitations(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    email: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "update user_tokens set used_at = now()
         where tenant_id = $1 and purpose = 'invitation' and used_at is null and lower(email) = lower($2)",
    )
    .bind(tenant_id)
    .bind(email)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Voids every open link of a user (a password or email change): resets, email changes
/// and verifications; with `reverts`, also the links that take the account back to an old
/// address (those survive the changes they exist to undo). Returns how many.
pub async fn void_for_user(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    reverts: bool,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "update user_tokens set used_at = now()
         where tenant_id = $1 and user_id = $2 and used_at is null and ($3 or purpose <> 'email_revert')",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(reverts)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
