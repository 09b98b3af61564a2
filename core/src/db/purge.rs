//! The SQL of purging a tenant's conversation content (`crate::purge` drives it): the
//! content tables are emptied of the tenant's rows in short batches (each its own
//! transaction, so other tenants' writes never wait long behind one big delete), then
//! the small personal rows go in one transaction and the users are anonymised. Billing
//! rows (`usage_daily`), the tenant row itself and the audit log stay.

use sqlx::{PgConnection, PgPool};

use crate::domain::TenantId;

/// A table of conversation content, emptied of a tenant's rows batch by batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Media,
    Messages,
    InboundEvents,
    ParkedStatuses,
    Conversations,
    Contacts,
}

impl Content {
    /// Every content table, in the order they are purged.
    pub const ALL: [Content; 6] = [
        Content::Media,
        Content::Messages,
        Content::InboundEvents,
        Content::ParkedStatuses,
        Content::Conversations,
        Content::Contacts,
    ];

    fn delete_sql(self) -> &'static str {
        match self {
            // Customers' files first: the heaviest rows, in their own short batches.
            Content::Media => {
                "delete from media where (tenant_id, message_id) in
                   (select tenant_id, message_id from media where tenant_id = $1 limit $2)"
            }
            Content::Messages => {
                "delete from messages where (tenant_id, message_id) in
                   (select tenant_id, message_id from messages where tenant_id = $1 limit $2)"
            }
            Content::InboundEvents => {
                "delete from inbound_events where (tenant_id, event_id) in
                   (select tenant_id, event_id from inbound_events where tenant_id = $1 limit $2)"
            }
            Content::ParkedStatuses => {
                "delete from parked_statuses where (tenant_id, wamid, status) in
                   (select tenant_id, wamid, status from parked_statuses where tenant_id = $1 limit $2)"
            }
            Content::Conversations => {
                "delete from conversations where (tenant_id, conversation_id) in
                   (select tenant_id, conversation_id from conversations where tenant_id = $1 limit $2)"
            }
            Content::Contacts => {
                "delete from contacts where (tenant_id, contact_id) in
                   (select tenant_id, contact_id from contacts where tenant_id = $1 limit $2)"
            }
        }
    }
}

/// Deletes up to `limit` of `tenant`'s rows of `table`; how many went.
pub async fn delete_batch(
    pool: &PgPool,
    tenant: TenantId,
    table: Content,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(table.delete_sql()).bind(tenant).bind(limit).execute(pool).await?;
    Ok(done.rows_affected())
}

/// In the caller's transaction: deletes the tenant's email outbox, links, sessions,
/// connections (their encrypted secrets with them), bot settings, quick replies, knowledge
/// base, data exports and job rows that are
/// not running, and anonymises its users (names, addresses, password hashes). Returns
/// the job rows deleted.
pub async fn personal_rows(conn: &mut PgConnection, tenant: TenantId) -> Result<u64, sqlx::Error> {
    for sql in [
        "delete from emails where tenant_id = $1",
        "delete from user_tokens where tenant_id = $1",
        "delete from sessions where tenant_id = $1",
        "delete from whatsapp_connections where tenant_id = $1",
        "delete from bot_settings where tenant_id = $1",
        "delete from quick_replies where tenant_id = $1",
        // FAQ entries and documents, their passages with them (cascade), and the passages
        // of the bot page's knowledge text.
        "delete from knowledge_entries where tenant_id = $1",
        "delete from knowledge_passages where tenant_id = $1",
        // Data exports, their ZIP chunks with them (cascade).
        "delete from exports where tenant_id = $1",
        // Breach notices not yet mailed: their jobs go with the tenant's job rows below.
        "update incident_notifications set status = 'skipped' where tenant_id = $1 and status = 'queued'",
    ] {
        sqlx::query(sql).bind(tenant).execute(&mut *conn).await?;
    }
    sqlx::query(
        "update users set name = 'Deleted user', email = 'deleted-' || user_id || '@deleted.invalid',
                password_hash = '!', updated_at = now()
          where tenant_id = $1",
    )
    .bind(tenant)
    .execute(&mut *conn)
    .await?;
    let jobs =
        sqlx::query("delete from apalis.jobs where metadata -> 'tenant' = $1::text and status <> 'Running'")
            .bind(tenant)
            .execute(&mut *conn)
            .await?;
    Ok(jobs.rows_affected())
}
