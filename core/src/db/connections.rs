//! WhatsApp connections. Secrets are stored only as ciphertexts (see `crypto`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::{ConnectionId, TenantId};

/// A connection row (ciphertexts, never plaintext).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Connection {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub webhook_key: String,
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_number: String,
    pub access_token_enc: String,
    pub app_secret_enc: String,
    /// A verify token stored before tokens were sealed, until `mujibak migrate` seals it.
    pub verify_token: Option<String>,
    pub verify_token_enc: Option<String>,
    pub status: String,
    pub status_detail: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub unlinked_at: Option<DateTime<Utc>>,
    /// When Meta last accepted its token for the number (`None`: connected before the check).
    pub verified_at: Option<DateTime<Utc>>,
    /// When Meta last verified the webhook URL (the handshake with our verify token).
    pub webhook_verified_at: Option<DateTime<Utc>>,
}

impl Connection {
    /// Whether the pipeline may use it: `active`, and not unlinked from its number.
    pub fn is_active(&self) -> bool {
        self.status == "active" && self.unlinked_at.is_none()
    }
}

/// A connection to insert.
pub struct NewConnection<'a> {
    pub connection_id: ConnectionId,
    pub webhook_key: &'a str,
    pub phone_number_id: &'a str,
    pub waba_id: &'a str,
    pub display_number: &'a str,
    pub access_token_enc: &'a str,
    pub app_secret_enc: &'a str,
    pub verify_token_enc: &'a str,
}

const COLUMNS: &str = "tenant_id, connection_id, webhook_key, phone_number_id, waba_id, display_number, \
    access_token_enc, app_secret_enc, verify_token, verify_token_enc, status, status_detail, linked_at, unlinked_at, verified_at, \
    webhook_verified_at";

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    c: &NewConnection<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into whatsapp_connections (tenant_id, connection_id, webhook_key, phone_number_id, waba_id,
           display_number, access_token_enc, app_secret_enc, verify_token_enc, verified_at)
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9, now())",
    )
    .bind(tenant_id)
    .bind(c.connection_id)
    .bind(c.webhook_key)
    .bind(c.phone_number_id)
    .bind(c.waba_id)
    .bind(c.display_number)
    .bind(c.access_token_enc)
    .bind(c.app_secret_enc)
    .bind(c.verify_token_enc)
    .execute(conn)
    .await?;
    Ok(())
}

/// The tenant's live (not unlinked) connection.
pub async fn live(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from whatsapp_connections where tenant_id = $1 and unlinked_at is null"
    )))
    .bind(tenant_id)
    .fetch_optional(conn)
    .await
}

/// Every connection of a tenant, newest first (history).
pub async fn history(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<Connection>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from whatsapp_connections where tenant_id = $1 order by linked_at desc"
    )))
    .bind(tenant_id)
    .fetch_all(conn)
    .await
}

/// Webhook routing: the live connection behind an unguessable URL key. The tenant comes
/// from the row found; nothing from the request body decides it.
pub async fn by_webhook_key(pool: &PgPool, key: &str) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from whatsapp_connections where webhook_key = $1 and unlinked_at is null"
    )))
    .bind(key)
    .fetch_optional(pool)
    .await
}

pub async fn get(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from whatsapp_connections where tenant_id = $1 and connection_id = $2"
    )))
    .bind(tenant_id)
    .bind(connection_id)
    .fetch_optional(conn)
    .await
}

pub async fn set_status(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    status: &str,
    detail: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update whatsapp_connections set status = $3, status_detail = $4, checked_at = now()
         where tenant_id = $1 and connection_id = $2 and status is distinct from $3",
    )
    .bind(tenant_id)
    .bind(connection_id)
    .bind(status)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Back to `active` from one of `from` (Meta undid what stopped the number); `false` if
/// the connection was not in one of them.
pub async fn restore(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    from: &[&str],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update whatsapp_connections set status = 'active', status_detail = null, checked_at = now()
         where tenant_id = $1 and connection_id = $2 and status = any($3)",
    )
    .bind(tenant_id)
    .bind(connection_id)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the sealed access token (the app secret stays).
pub async fn set_token(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    token_enc: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update whatsapp_connections set access_token_enc = $3 where tenant_id = $1 and connection_id = $2",
    )
    .bind(tenant_id)
    .bind(connection_id)
    .bind(token_enc)
    .execute(conn)
    .await?;
    Ok(())
}

/// Meta accepted the stored token for the number now. Fails on
/// `whatsapp_connections_live_number` if another verified live connection holds it.
pub async fn mark_verified(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update whatsapp_connections set verified_at = now() where tenant_id = $1 and connection_id = $2",
    )
    .bind(tenant_id)
    .bind(connection_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Meta verified the webhook URL of the live connection `connection_id` just now.
pub async fn mark_webhook_verified(
    pool: &PgPool,
    tenant_id: TenantId,
    connection_id: ConnectionId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update whatsapp_connections set webhook_verified_at = now()
         where tenant_id = $1 and connection_id = $2 and unlinked_at is null",
    )
    .bind(tenant_id)
    .bind(connection_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether a customer has written to the connection's number yet (their first message
/// made a contact, which is kept while the account lives).
pub async fn has_customers(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select 1 from contacts where tenant_id = $1 and connection_id = $2)")
        .bind(tenant_id)
        .bind(connection_id)
        .fetch_one(conn)
        .await
}

pub async fn unlink(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update whatsapp_connections set unlinked_at = now(), status = 'disconnected'
         where tenant_id = $1 and connection_id = $2 and unlinked_at is null",
    )
    .bind(tenant_id)
    .bind(connection_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A connection's sealed secrets (and a legacy plaintext verify token).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Secrets {
    pub connection_id: ConnectionId,
    pub access_token_enc: String,
    pub app_secret_enc: String,
    pub verify_token: Option<String>,
    pub verify_token_enc: Option<String>,
}

/// Every connection's secrets, for key rotation (not tenant-scoped: an operator command).
pub async fn all_secrets(pool: &PgPool) -> Result<Vec<Secrets>, sqlx::Error> {
    sqlx::query_as(
        "select connection_id, access_token_enc, app_secret_enc, verify_token, verify_token_enc
           from whatsapp_connections",
    )
    .fetch_all(pool)
    .await
}

/// Stores the re-sealed secrets; the plaintext verify token column is cleared.
pub async fn set_secrets(
    pool: &PgPool,
    connection_id: ConnectionId,
    token_enc: &str,
    secret_enc: &str,
    verify_enc: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update whatsapp_connections
            set access_token_enc = $2, app_secret_enc = $3, verify_token_enc = $4, verify_token = null
          where connection_id = $1",
    )
    .bind(connection_id)
    .bind(token_enc)
    .bind(secret_enc)
    .bind(verify_enc)
    .execute(pool)
    .await?;
    Ok(())
}
