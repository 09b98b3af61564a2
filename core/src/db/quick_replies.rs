//! Quick replies: a business's saved answers, each sent by its shortcut ("/hours").

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::TenantId;

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct QuickReply {
    pub quick_reply_id: Uuid,
    pub shortcut: String,
    pub body: String,
}

/// `tenant_id`'s quick replies, by shortcut.
pub async fn list(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<QuickReply>, sqlx::Error> {
    sqlx::query_as(
        "select quick_reply_id, shortcut, body from quick_replies where tenant_id = $1 order by lower(shortcut)",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await
}

/// Saves `body` under `shortcut` (replacing what it held). The caller checked both.
pub async fn save(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    shortcut: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into quick_replies (tenant_id, quick_reply_id, shortcut, body) values ($1, $2, $3, $4)
         on conflict (tenant_id, lower(shortcut)) do update set body = excluded.body, shortcut = excluded.shortcut",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(shortcut)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one. `false` if it was not the tenant's.
pub async fn delete(conn: &mut PgConnection, tenant_id: TenantId, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from quick_replies where tenant_id = $1 and quick_reply_id = $2")
        .bind(tenant_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The body saved under `shortcut`, if any.
pub async fn body_of(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    shortcut: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select body from quick_replies where tenant_id = $1 and lower(shortcut) = lower($2)")
        .bind(tenant_id)
        .bind(shortcut)
        .fetch_optional(conn)
        .await
}
