//! The send lifecycle of an outbound message (rows of `messages`): claimed for sending,
//! back to the queue, `uncertain` (sent with Meta's id: `sent`), queued for its one resend, noted
//! for the inbox, or ended (failed / skipped).

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Message, SELECT};
use crate::{
    db::conversations::{self, Conversation},
    domain::{message::MessageStatus, ConversationId, MessageId, TenantId},
};

/// What the send job reads first, in one statement: the message, its conversation with
/// the contact, and whether the account may use the service (`tenant_is_active`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ForSend {
    #[sqlx(flatten)]
    pub message: Message,
    #[sqlx(flatten)]
    pub conversation: Conversation,
    pub account_active: bool,
}

/// See [`ForSend`]; `None` when the message is gone (a message's conversation goes only
/// with it: the foreign key cascades).
pub async fn for_send(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
) -> Result<Option<ForSend>, sqlx::Error> {
    // Both halves name `conversation_id`, with the same value (the join's key).
    let conversation = conversations::SELECT;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select m.*, v.*, tenant_is_active($1) as account_active
           from ({SELECT} where tenant_id = $1 and message_id = $2) m
           join lateral ({conversation} where c.tenant_id = $1 and c.conversation_id = m.conversation_id) v on true"
    )))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// An outbound message, locked until the transaction ends (settling and reconciling a send
/// must not race).
pub async fn lock_outbound(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
) -> Result<Option<Message>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where tenant_id = $1 and message_id = $2 and direction = 'out' for update"
    )))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Moves a queued message to `sending` (once); `false` if it was not queued.
pub async fn claim_for_send(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update messages set status = 'sending', status_at = now() where tenant_id = $1 and message_id = $2 and status = 'queued'")
        .bind(tenant_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Back to `queued` after a send that may be retried.
pub async fn requeue(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update messages set status = 'queued', error = $3 where tenant_id = $1 and message_id = $2 and status = 'sending'")
        .bind(tenant_id)
        .bind(id)
        .bind(error)
        .execute(conn)
        .await?;
    Ok(())
}

/// A send in progress whose outcome is unknown becomes `uncertain`; `false` if it was no
/// longer `sending` (a status settled it first).
pub async fn mark_uncertain(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
    why: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update messages set status = 'uncertain', error = $3, status_at = now()
         where tenant_id = $1 and message_id = $2 and status = 'sending'",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(why)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Queues an `uncertain` message for its one resend; `false` if it is no longer uncertain
/// or was already resent.
pub async fn queue_resend(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update messages set status = 'queued', resent_at = now(), status_at = now()
         where tenant_id = $1 and message_id = $2 and status = 'uncertain' and resent_at is null",
    )
    .bind(tenant_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the delivery note; with `only_if_unset`, keeps an existing one.
pub async fn set_note(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
    note: &str,
    only_if_unset: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update messages set delivery_note = $3
         where tenant_id = $1 and message_id = $2 and (not $4 or delivery_note is null)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(note)
    .bind(only_if_unset)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a message as `failed` or `skipped`, with why.
pub async fn finish(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
    status: MessageStatus,
    why: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update messages set status = $3, error = $4, status_at = now() where tenant_id = $1 and message_id = $2")
        .bind(tenant_id)
        .bind(id)
        .bind(status)
        .bind(why)
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues a template message written by `author_user_id`: `body` is the text as the
/// customer reads it, `template` what is sent (stored as `details.template`).
pub async fn insert_template(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    body: &str,
    template: &crate::domain::template::TemplateSend,
    author_user_id: crate::domain::UserId,
) -> Result<MessageId, sqlx::Error> {
    sqlx::query_scalar(
        "insert into messages (tenant_id, message_id, conversation_id, direction, author, kind, body, details,
                               status, author_user_id)
         values ($1, $2, $3, 'out', 'human', 'template', $4, jsonb_build_object('template', $5::jsonb), 'queued', $6)
         returning message_id",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(conversation_id)
    .bind(body)
    .bind(sqlx::types::Json(template))
    .bind(author_user_id)
    .fetch_one(conn)
    .await
}

/// What a Meta status did to the outbound message with its wamid.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Forwarded {
    /// The message's conversation, when the status moved it forward.
    pub moved: Option<ConversationId>,
    /// The outbound message that has this wamid, moved or not.
    pub known: Option<MessageId>,
}

/// Applies a Meta status to the outbound message with `wamid` if it moves it forward; in
/// the same statement, which message has the wamid (a status that is not news needs no
/// second look).
pub async fn apply_status(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    wamid: &str,
    status: MessageStatus,
    error: Option<&str>,
) -> Result<Forwarded, sqlx::Error> {
    sqlx::query_as(
        "with moved as (
           update messages set status = $3, error = coalesce($4, error), status_at = now()
            where tenant_id = $1 and wamid = $2 and direction = 'out'
              and array_position($5::text[], $3::text) > coalesce(array_position($5::text[], status), 0)
            returning conversation_id)
         select (select conversation_id from moved limit 1) as moved,
                (select message_id from messages where tenant_id = $1 and wamid = $2 and direction = 'out' limit 1) as known",
    )
    .bind(tenant_id)
    .bind(wamid)
    .bind(status)
    .bind(error)
    .bind(forward_order())
    .fetch_one(conn)
    .await
}

/// The forward order of an outbound message's statuses, as stored (`MessageStatus::FORWARD`).
fn forward_order() -> Vec<&'static str> {
    MessageStatus::FORWARD.iter().map(|s| s.as_str()).collect()
}
