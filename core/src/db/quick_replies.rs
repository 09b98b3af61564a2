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

/// Quick replies a business keeps at most (the thread page offers them all).
pub const MAX: i64 = 100;

/// Saves `body` under `shortcut` (replacing what it held). The caller checked both.
/// `false` when the business already has [`MAX`] and `shortcut` is a new one.
pub async fn save(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    shortcut: &str,
    body: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into quick_replies (tenant_id, quick_reply_id, shortcut, body)
         select $1, $2, $3, $4
          where (select count(*) from quick_replies where tenant_id = $1) < $5
             or exists (select 1 from quick_replies where tenant_id = $1 and lower(shortcut) = lower($3))
         on conflict (tenant_id, lower(shortcut)) do update set body = excluded.body, shortcut = excluded.shortcut",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(shortcut)
    .bind(body)
    .bind(MAX)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
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
