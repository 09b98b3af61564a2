//! Messages of conversations, both directions. A status only ever moves forward
//! (queued → sending → uncertain → sent → delivered → read; failed and skipped end it).
//! `uncertain`: a send whose outcome is unknown (it may have reached Meta), until Meta's
//! status settles it or it is sent once more (`resent_at`); `delivery_note` says which.
//! The send lifecycle's own updates are in `sending`, and a send's record once Meta accepted it in `sent`. A message edited (by the customer,
//! or by the business from the WhatsApp Business app) carries its new content and
//! `edited_at`; a deleted one keeps its place in the thread and loses its content. What
//! the business sent from the WhatsApp Business app (an echo) is stored here too, as a
//! human reply already sent, by the same insert as a customer's message.

pub mod sending;
pub mod sent;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{types::Json, PgConnection};
use uuid::Uuid;

use crate::domain::{
    message::{Author, Direction},
    ConversationId, MessageId, TenantId,
};

pub use crate::domain::message::Message;

pub(crate) const SELECT: &str =
    "select message_id, conversation_id, seq, direction, author, wamid, kind, body, details, status,
    error, reply_to, created_at, received_at, resent_at, delivery_note, edited_at, deleted_at, sent_from,
    author_user_id
    from messages";

/// A message Meta told us of: one a customer sent, or one the business sent from the
/// WhatsApp Business app (an echo).
pub struct Arrived<'a> {
    pub conversation_id: ConversationId,
    pub wamid: &'a str,
    pub kind: &'a str,
    pub body: Option<&'a str>,
    pub details: Option<&'a Value>,
    pub error: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// Stored from an edit that arrived before the message it edits.
    pub edited: bool,
    /// A deletion that arrived before the message it deletes: stored without content, so
    /// the message, when it comes, is recognised and not stored.
    pub deleted: bool,
}

/// A message stored from the customer's side.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Inserted {
    pub message_id: MessageId,
    /// For a message the customer wrote: the conversation's latest reply request (now,
    /// when this one wants a reply).
    pub reply_requested_at: Option<DateTime<Utc>>,
}

/// Stores a customer's message unless its wamid is known (`None`). A message the customer
/// wrote (`from_customer`: not a system notice) reopens the 24-hour window, and one that
/// `wants_reply` marks its conversation unanswered with a reply requested now, in the same
/// statement. The caller counts it in the day's usage (`usage::count_inbound`) at the end
/// of its transaction: the usage row is one per business and day, and a send of the same
/// business waits for whoever holds it.
pub async fn insert_inbound(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    m: &Arrived<'_>,
    from_customer: bool,
    wants_reply: bool,
) -> Result<Option<Inserted>, sqlx::Error> {
    insert_arrived(conn, tenant_id, m, false, from_customer, wants_reply).await
}

/// Stores an echo as a human reply already sent (from the business app, at `m.at`),
/// unless its wamid is known; the new id or `None`.
pub async fn insert_echo(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    m: &Arrived<'_>,
) -> Result<Option<MessageId>, sqlx::Error> {
    Ok(insert_arrived(conn, tenant_id, m, true, false, false).await?.map(|i| i.message_id))
}

/// The one insert of a message that came through a webhook, once per wamid; a message in
/// from the customer's side also moves its conversation's `customer_wrote_at` (what the
/// inbox reads as unread), and one the customer wrote what [`insert_inbound`] says, in the
/// same statement.
async fn insert_arrived(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    m: &Arrived<'_>,
    echo: bool,
    from_customer: bool,
    wants_reply: bool,
) -> Result<Option<Inserted>, sqlx::Error> {
    sqlx::query_as(
        "with stored as (
           insert into messages (tenant_id, message_id, conversation_id, direction, author, wamid, kind, body, details,
           status, error, created_at, sent_at, status_at, sent_from, edited_at, deleted_at, seq)
         values ($1, $2, $3,
           case when $4 then 'out' else 'in' end, case when $4 then 'human' else 'customer' end,
           $5, $6, $7, $8, case when $4 then 'sent' else 'received' end, $9, $10,
           case when $4 then $10 end, case when $4 then now() end, case when $4 then 'business_app' end,
           case when $11 then now() end, case when $12 then now() end,
           coalesce((select e.seq from inbound_events e where e.tenant_id = $1
                      and e.dedupe_key = case when $4 then 'echo:' else 'message:' end || $5),
                    nextval('messages_seq')))
         on conflict (tenant_id, wamid) where wamid is not null do nothing
         returning message_id, conversation_id, received_at),
         conversation as (
           update conversations c set customer_wrote_at = greatest(c.customer_wrote_at, s.received_at),
             last_inbound_at = case when $13 then greatest(c.last_inbound_at, $10) else c.last_inbound_at end,
             last_message_at = case when $13 then greatest(c.last_message_at, $10) else c.last_message_at end,
             unanswered = c.unanswered or ($13 and $14),
             reply_requested_at = case when $13 and $14 then clock_timestamp() else c.reply_requested_at end,
             notice = case when $13 and $14 then null else c.notice end
             from stored s where not $4 and c.tenant_id = $1 and c.conversation_id = s.conversation_id
           returning coalesce(c.reply_requested_at, clock_timestamp()) as requested_at)
         select s.message_id, case when $13 then (select requested_at from conversation) end as reply_requested_at
           from stored s",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(m.conversation_id)
    .bind(echo)
    .bind(m.wamid)
    .bind(m.kind)
    .bind(m.body)
    .bind(m.details.map(Json))
    .bind(m.error)
    .bind(m.at)
    .bind(m.edited)
    .bind(m.deleted)
    .bind(from_customer)
    .bind(wants_reply)
    .fetch_optional(conn)
    .await
}

/// Replaces the content of the `direction` message with `wamid` by its edit (details kept
/// when the edit has none). Its conversation, or `None` if no such message or it was
/// deleted.
pub async fn edit(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    direction: Direction,
    wamid: &str,
    body: Option<&str>,
    details: Option<&Value>,
) -> Result<Option<ConversationId>, sqlx::Error> {
    sqlx::query_scalar(
        "update messages set body = $4, details = coalesce($5, details), edited_at = now()
         where tenant_id = $1 and wamid = $2 and direction = $3 and deleted_at is null returning conversation_id",
    )
    .bind(tenant_id)
    .bind(wamid)
    .bind(direction)
    .bind(body)
    .bind(details.map(Json))
    .fetch_optional(conn)
    .await
}

/// Removes the content (text, details, error, its media file and transcript) of the
/// `direction` message with `wamid`, which stays in its thread as deleted. Its
/// conversation, or `None` if no such message.
pub async fn delete_content(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    direction: Direction,
    wamid: &str,
) -> Result<Option<ConversationId>, sqlx::Error> {
    sqlx::query_scalar(
        "with gone as (
           update messages set body = null, details = null, error = null, deleted_at = coalesce(deleted_at, now())
            where tenant_id = $1 and wamid = $2 and direction = $3 returning message_id, conversation_id),
         file as (delete from media d using gone where d.tenant_id = $1 and d.message_id = gone.message_id)
         select conversation_id from gone",
    )
    .bind(tenant_id)
    .bind(wamid)
    .bind(direction)
    .fetch_optional(conn)
    .await
}

/// A reply to send, by `author` (`bot` or `human`); `generated` if the model wrote it
/// (counted against the plan once Meta accepts it).
pub async fn insert_outbound(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    author: Author,
    body: &str,
    reply_to: Option<MessageId>,
    generated: bool,
) -> Result<MessageId, sqlx::Error> {
    sqlx::query_scalar(
        "insert into messages (tenant_id, message_id, conversation_id, direction, author, kind, body, status,
                               reply_to, generated)
         values ($1, $2, $3, 'out', $4, 'text', $5, 'queued', $6, $7) returning message_id",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(conversation_id)
    .bind(author)
    .bind(body)
    .bind(reply_to)
    .bind(generated)
    .fetch_one(conn)
    .await
}

pub async fn get(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
) -> Result<Option<Message>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where tenant_id = $1 and message_id = $2")))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The last `limit` messages of a conversation, in the order they reached us (`seq`).
pub async fn recent(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let mut rows: Vec<Message> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select m.*, u.name as author_name, d.status as media_status, d.understood as media_text,
                d.failure as media_failure
           from ({SELECT} where tenant_id = $1 and conversation_id = $2 order by seq desc limit $3) m
           left join users u on u.tenant_id = $1 and u.user_id = m.author_user_id
           left join media d on d.tenant_id = $1 and d.message_id = m.message_id
          order by m.seq desc"
    )))
    .bind(tenant_id)
    .bind(conversation_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.reverse();
    Ok(rows)
}

/// Records that team member `user` wrote the outbound `message_id` (in the reply's
/// transaction).
pub async fn written_by(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    message_id: MessageId,
    user: crate::domain::UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query("update messages set author_user_id = $3 where tenant_id = $1 and message_id = $2")
        .bind(tenant_id)
        .bind(message_id)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a message with this Meta id is stored.
pub async fn wamid_known(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    wamid: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select 1 from messages where tenant_id = $1 and wamid = $2)")
        .bind(tenant_id)
        .bind(wamid)
        .fetch_one(conn)
        .await
}
