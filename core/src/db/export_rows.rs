//! What an export reads, as the tenant holds it: JSON rows built by Postgres (`to_jsonb`,
//! so a column added later is exported without a change here) minus the secrets, and
//! message rows for the CSV. Paged by keyset on each table's primary key (or the thread
//! index for messages): a page costs the same at the millionth row as at the first.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{ContactId, ConversationId, MessageId, TenantId};

/// A table exported as a JSON array, read page by page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paged {
    Users,
    Connections,
    Contacts,
    Conversations,
    Usage,
    Audit,
    Invoices,
    Notes,
    QuickReplies,
    Knowledge,
    Media,
}

impl Paged {
    pub const ALL: [Paged; 11] = [
        Paged::Users,
        Paged::Connections,
        Paged::Contacts,
        Paged::Conversations,
        Paged::Usage,
        Paged::Audit,
        Paged::Invoices,
        Paged::Notes,
        Paged::QuickReplies,
        Paged::Knowledge,
        Paged::Media,
    ];

    /// The file it is written to.
    pub fn file(self) -> &'static str {
        match self {
            Paged::Users => "users.json",
            Paged::Connections => "whatsapp_connections.json",
            Paged::Contacts => "contacts.json",
            Paged::Conversations => "conversations.json",
            Paged::Usage => "usage_daily.json",
            Paged::Audit => "audit_log.json",
            Paged::Invoices => "invoices.json",
            Paged::Notes => "notes.json",
            Paged::QuickReplies => "quick_replies.json",
            Paged::Knowledge => "knowledge_base.json",
            Paged::Media => "media.json",
        }
    }

    /// Whether it holds rows about customers (a customer export writes only these).
    pub fn holds_customers(self) -> bool {
        matches!(self, Paged::Contacts | Paged::Conversations | Paged::Notes | Paged::Media)
    }

    /// The key before the first row.
    pub fn start(self) -> &'static str {
        match self {
            Paged::Usage => "0001-01-01",
            Paged::Audit => "0",
            _ => "00000000-0000-0000-0000-000000000000",
        }
    }

    /// `$1` tenant, `$2` the last key read (text), `$3` the page size, `$4` the customer
    /// (null: the whole account; tables that hold no customer rows then yield nothing);
    /// yields (key, json).
    fn sql(self) -> &'static str {
        match self {
            Paged::Users => {
                "select user_id::text, (to_jsonb(u) - 'password_hash')::text from users u
                  where tenant_id = $1 and $4::uuid is null and user_id > $2::uuid order by user_id limit $3"
            }
            Paged::Connections => {
                "select connection_id::text,
                        (to_jsonb(c) - 'access_token_enc' - 'app_secret_enc' - 'verify_token' - 'verify_token_enc'
                          - 'webhook_key')::text
                   from whatsapp_connections c
                  where tenant_id = $1 and $4::uuid is null and connection_id > $2::uuid order by connection_id limit $3"
            }
            Paged::Contacts => {
                "select contact_id::text, to_jsonb(c)::text from contacts c
                  where tenant_id = $1 and coalesce(contact_id = $4, true) and contact_id > $2::uuid
                  order by contact_id limit $3"
            }
            Paged::Conversations => {
                "select conversation_id::text, to_jsonb(c)::text from conversations c
                  where tenant_id = $1 and coalesce(contact_id = $4, true) and conversation_id > $2::uuid
                  order by conversation_id limit $3"
            }
            Paged::Usage => {
                "select day::text, to_jsonb(u)::text from usage_daily u
                  where tenant_id = $1 and $4::uuid is null and day > $2::date order by day limit $3"
            }
            Paged::Audit => {
                "select audit_id::text, to_jsonb(a)::text from audit_log a
                  where tenant_id = $1 and $4::uuid is null and audit_id > $2::bigint order by audit_id limit $3"
            }
            // Invoices and credit notes as issued, each with its lines and its state.
            Paged::Invoices => {
                "select i.invoice_id::text,
                        (to_jsonb(i) || jsonb_build_object(
                           'status', (select status from invoice_states s where s.invoice_id = i.invoice_id),
                           'lines', (select coalesce(jsonb_agg(to_jsonb(l) - 'invoice_id' order by l.line_no), '[]')
                                       from invoice_lines l where l.invoice_id = i.invoice_id)))::text
                   from invoices i
                  where tenant_id = $1 and $4::uuid is null and invoice_id > $2::uuid order by invoice_id limit $3"
            }
            Paged::Notes => {
                "select note_id::text, to_jsonb(n)::text from notes n
                  where tenant_id = $1 and note_id > $2::uuid
                    and ($4::uuid is null or conversation_id in
                          (select conversation_id from conversations where tenant_id = $1 and contact_id = $4))
                  order by note_id limit $3"
            }
            Paged::QuickReplies => {
                "select quick_reply_id::text, to_jsonb(q)::text from quick_replies q
                  where tenant_id = $1 and $4::uuid is null and quick_reply_id > $2::uuid
                  order by quick_reply_id limit $3"
            }
            // FAQ entries and documents as written (their passages are derived from them).
            Paged::Knowledge => {
                "select entry_id::text, to_jsonb(e)::text from knowledge_entries e
                  where tenant_id = $1 and $4::uuid is null and entry_id > $2::uuid order by entry_id limit $3"
            }
            // Customers' files: what each is and what was understood of it (transcripts,
            // descriptions); the bytes themselves are the archive's `media/` files.
            Paged::Media => {
                "select message_id::text, (to_jsonb(d) - 'bytes')::text from media d
                  where tenant_id = $1 and message_id > $2::uuid
                    and ($4::uuid is null or message_id in
                          (select m.message_id from messages m join conversations c using (tenant_id, conversation_id)
                            where m.tenant_id = $1 and c.contact_id = $4))
                  order by message_id limit $3"
            }
        }
    }
}

/// Up to `limit` rows of `table` after key `after`, as (key, JSON object).
pub async fn page(
    pool: &PgPool,
    tenant: TenantId,
    table: Paged,
    contact: Option<ContactId>,
    after: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(table.sql()).bind(tenant).bind(after).bind(limit).bind(contact).fetch_all(pool).await
}

/// The account: the tenant row and its bot settings, one JSON object.
pub async fn account(pool: &PgPool, tenant: TenantId) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "select jsonb_build_object('tenant', to_jsonb(t), 'bot_settings', to_jsonb(b))::text
           from tenants t left join bot_settings b using (tenant_id)
          where t.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(pool)
    .await
}

/// Rows the export will write (for its progress).
pub async fn count(pool: &PgPool, tenant: TenantId, contact: Option<ContactId>) -> Result<i64, sqlx::Error> {
    if let Some(contact) = contact {
        return sqlx::query_scalar(
            "with cv as (select conversation_id from conversations where tenant_id = $1 and contact_id = $2)
             select 1 + (select count(*) from cv)
                  + (select count(*) from messages where tenant_id = $1 and conversation_id in (select * from cv))
                  + (select count(*) from notes where tenant_id = $1 and conversation_id in (select * from cv))",
        )
        .bind(tenant)
        .bind(contact)
        .fetch_one(pool)
        .await;
    }
    sqlx::query_scalar(
        "select (select count(*) from users where tenant_id = $1)
              + (select count(*) from whatsapp_connections where tenant_id = $1)
              + (select count(*) from contacts where tenant_id = $1)
              + (select count(*) from conversations where tenant_id = $1)
              + (select count(*) from messages where tenant_id = $1)
              + (select count(*) from usage_daily where tenant_id = $1)
              + (select count(*) from audit_log where tenant_id = $1)
              + (select count(*) from invoices where tenant_id = $1)
              + (select count(*) from notes where tenant_id = $1)
              + (select count(*) from quick_replies where tenant_id = $1)
              + (select count(*) from knowledge_entries where tenant_id = $1)
              + (select count(*) from media where tenant_id = $1)",
    )
    .bind(tenant)
    .fetch_one(pool)
    .await
}

/// One message, for the CSV.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub conversation_id: ConversationId,
    pub created_at: DateTime<Utc>,
    pub message_id: MessageId,
    pub contact_name: Option<String>,
    pub contact_number: Option<String>,
    pub direction: String,
    pub author: String,
    pub kind: String,
    pub body: Option<String>,
    pub details: Option<String>,
    pub status: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub wamid: Option<String>,
}

/// Where a page of messages starts: after (conversation, created_at, message).
pub type MessageKey = (ConversationId, DateTime<Utc>, MessageId);

/// Up to `limit` messages (of the customer `contact`, if given) after `after`, thread by
/// thread, oldest first.
pub async fn messages(
    pool: &PgPool,
    tenant: TenantId,
    contact: Option<ContactId>,
    after: Option<MessageKey>,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let (conversation, at, message) =
        after.unwrap_or((ConversationId(Uuid::nil()), DateTime::<Utc>::UNIX_EPOCH, MessageId(Uuid::nil())));
    sqlx::query_as(
        "select m.conversation_id, m.created_at, m.message_id, ct.name as contact_name,
                coalesce(ct.wa_id, ct.bsuid) as contact_number, m.direction, m.author, m.kind, m.body,
                m.details::text as details, m.status, m.sent_at, m.wamid
           from messages m
           left join conversations cv on cv.tenant_id = m.tenant_id and cv.conversation_id = m.conversation_id
           left join contacts ct on ct.tenant_id = cv.tenant_id and ct.contact_id = cv.contact_id
          where m.tenant_id = $1 and (m.conversation_id, m.created_at, m.message_id) > ($2, $3, $4)
            and ($6::uuid is null or m.conversation_id =
                  (select conversation_id from conversations where tenant_id = $1 and contact_id = $6))
          order by m.conversation_id, m.created_at, m.message_id
          limit $5",
    )
    .bind(tenant)
    .bind(conversation)
    .bind(at)
    .bind(message)
    .bind(limit)
    .bind(contact)
    .fetch_all(pool)
    .await
}
