//! The SQL of purging a tenant's conversation content (`crate::purge` drives it): the
//! content tables are emptied of the tenant's rows in short batches (each its own
//! transaction, so other tenants' writes never wait long behind one big delete), then
//! the small personal rows go in one transaction and the business and its users are
//! anonymised. Billing rows (`usage_daily`), the (nameless) tenant row and the audit log stay.

use sqlx::{PgConnection, PgPool};

use crate::domain::{ContactId, ConversationId, TenantId};

/// Whose content a purge removes: a whole tenant's (an account deletion) or one
/// customer's (a customer's erasure, `crate::erasure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Tenant,
    Contact(ContactId),
}

/// A table of conversation content, emptied of a tenant's (or one customer's) rows batch
/// by batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Media,
    InboundEvents,
    ParkedStatuses,
    Messages,
    Conversations,
    Contacts,
}

/// The customer's conversation (`$1` tenant, `$3` contact).
const CONVERSATION: &str =
    "(select conversation_id from conversations where tenant_id = $1 and contact_id = $3)";
/// Meta's ids of the customer's messages.
const WAMIDS: &str =
    "(select wamid from messages where tenant_id = $1 and wamid is not null and conversation_id =
    (select conversation_id from conversations where tenant_id = $1 and contact_id = $3))";

/// Every number and BSUID the customer `$3` has had: their contact's, and, one number
/// change after another, those the number-change events naming them carry (the merge
/// keeps only the newest on the contact).
const IDS: &str = "with recursive ids(id) as (
        select id from contacts c, unnest(array[c.wa_id, c.bsuid]) id
         where c.tenant_id = $1 and c.contact_id = $3 and id is not null
        union
        select found from inbound_events e join ids on strpos(e.payload::text, '\"' || ids.id || '\"') > 0,
               unnest(array[e.payload ->> 'wa_id', e.payload ->> 'bsuid', e.payload #>> '{raw,system,wa_id}',
                            e.payload #>> '{raw,system,user_id}', e.payload #>> '{raw,system,previous_user_id}']) found
         where e.tenant_id = $1 and e.payload #>> '{raw,type}' = 'system' and found is not null)";

impl Content {
    /// Every content table, in the order they are purged: a customer's raw webhook
    /// events and parked statuses are found through their messages and numbers, so they
    /// go before the messages and the contact.
    pub const ALL: [Content; 6] = [
        Content::Media,
        Content::InboundEvents,
        Content::ParkedStatuses,
        Content::Messages,
        Content::Conversations,
        Content::Contacts,
    ];

    fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            Content::Media => ("media", "message_id"),
            Content::InboundEvents => ("inbound_events", "event_id"),
            Content::ParkedStatuses => ("parked_statuses", "wamid, status"),
            Content::Messages => ("messages", "message_id"),
            Content::Conversations => ("conversations", "conversation_id"),
            Content::Contacts => ("contacts", "contact_id"),
        }
    }

    /// Which of the tenant's rows belong to the customer `$3`.
    fn of_contact(self) -> String {
        match self {
            Content::Media => format!(
                "message_id in (select message_id from messages where tenant_id = $1 and conversation_id = {CONVERSATION})"
            ),
            // Every raw event that names one of the customer's numbers or BSUIDs (their
            // messages, edits, reactions, preferences, number changes: see [`IDS`]), and
            // the statuses of the messages sent to them.
            Content::InboundEvents => format!(
                "(exists (select 1 from ids where strpos(payload::text, '\"' || ids.id || '\"') > 0)
                  or exists (select 1 from {WAMIDS} w(wamid)
                              where dedupe_key in ('message:' || w.wamid, 'echo:' || w.wamid)
                                 or dedupe_key like 'status:' || w.wamid || ':%'))"
            ),
            Content::ParkedStatuses => format!("wamid in {WAMIDS}"),
            Content::Messages => format!("conversation_id = {CONVERSATION}"),
            Content::Conversations | Content::Contacts => "contact_id = $3".to_owned(),
        }
    }

    fn delete_sql(self, scope: Scope) -> String {
        let (table, key) = self.table_and_key();
        let (with, rows) = match scope {
            Scope::Tenant => ("", String::new()),
            Scope::Contact(_) if self == Content::InboundEvents => {
                (IDS, format!(" and {}", self.of_contact()))
            }
            Scope::Contact(_) => ("", format!(" and {}", self.of_contact())),
        };
        format!(
            "delete from {table} where (tenant_id, {key}) in
               ({with} select tenant_id, {key} from {table} where tenant_id = $1{rows} limit $2)"
        )
    }
}

/// Deletes up to `limit` of `tenant`'s rows of `table` within `scope`; how many went.
pub async fn delete_batch(
    pool: &PgPool,
    tenant: TenantId,
    table: Content,
    scope: Scope,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let sql = table.delete_sql(scope);
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(limit);
    let query = match scope {
        Scope::Tenant => query,
        Scope::Contact(contact) => query.bind(contact),
    };
    Ok(query.execute(pool).await?.rows_affected())
}

/// Before a customer's content goes: the hand-off alerts waiting in the outbox for their
/// conversation, and the stored archives of exports made before the erasure (customer
/// and account exports alike hold the customer; they are marked expired). Returns how
/// many rows went.
pub async fn contact_leftovers(
    pool: &PgPool,
    tenant: TenantId,
    contact: ContactId,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let alerts = sqlx::query(sqlx::AssertSqlSafe(format!(
        "delete from emails where tenant_id = $1 and unless_opened = {}",
        CONVERSATION.replace("$3", "$2")
    )))
    .bind(tenant)
    .bind(contact)
    .execute(&mut *tx)
    .await?;
    let exports = sqlx::query(
        "with gone as (update exports set status = 'expired'
                        where tenant_id = $1 and status in ('queued', 'building', 'ready')
                       returning export_id)
         delete from export_chunks where export_id in (select export_id from gone)",
    )
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(alerts.rows_affected() + exports.rows_affected())
}

/// In the caller's transaction: deletes the tenant's email outbox, links, sessions,
/// connections (their encrypted secrets with them), bot settings, quick replies, knowledge
/// base, data exports and job rows that are
/// not running, and anonymises the business (its name) and its users (names, addresses,
/// password hashes). Returns the job rows deleted.
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
    // The business's name identifies it (a sole trader's is often their own); invoices
    // keep the buyer as printed, which is all the law needs.
    sqlx::query(
        "update tenants set business_name = 'Deleted business', suspended_reason = null, updated_at = now()
          where tenant_id = $1",
    )
    .bind(tenant)
    .execute(&mut *conn)
    .await?;
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

/// The customer whose conversation `conversation` is.
pub async fn contact_of(
    conn: &mut PgConnection,
    tenant: TenantId,
    conversation: ConversationId,
) -> Result<Option<ContactId>, sqlx::Error> {
    sqlx::query_scalar("select contact_id from conversations where tenant_id = $1 and conversation_id = $2")
        .bind(tenant)
        .bind(conversation)
        .fetch_optional(conn)
        .await
}

/// Whether the customer's contact row is still there.
pub async fn contact_exists(
    pool: &PgPool,
    tenant: TenantId,
    contact: ContactId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select 1 from contacts where tenant_id = $1 and contact_id = $2)")
        .bind(tenant)
        .bind(contact)
        .fetch_one(pool)
        .await
}
