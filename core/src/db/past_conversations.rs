//! A customer's past conversations, as WhatsApp counts them: each opens with a customer
//! message sent over 24 hours after their previous one (the service window had closed)
//! and runs until the next such message. The thread's contact panel lists them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::{ConversationId, MessageId, TenantId};

/// One past conversation of a thread.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct PastConversation {
    /// The customer message that opened it.
    pub first_message_id: MessageId,
    pub started_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    /// Its messages, theirs and ours.
    pub messages: i64,
    /// A person of the team wrote in it.
    pub by_person: bool,
}

/// The conversations of `tenant`'s thread `conversation` before the current one (the one
/// its latest customer message opened or continues), newest first, at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    limit: i64,
) -> Result<Vec<PastConversation>, sqlx::Error> {
    sqlx::query_as(
        "with asked as (
            select message_id, created_at, lag(created_at) over (order by created_at) as prev
              from messages where tenant_id = $1 and conversation_id = $2 and author = 'customer'),
         opened as (
            select message_id, created_at as started_at,
                   lead(created_at) over (order by created_at) as next_start
              from asked where prev is null or created_at - prev > interval '24 hours')
         select o.message_id as first_message_id, o.started_at, max(m.created_at) as last_at,
                count(*) as messages, bool_or(m.author = 'human') as by_person
           from opened o
           join messages m on m.tenant_id = $1 and m.conversation_id = $2
                          and m.created_at >= o.started_at and m.created_at < o.next_start
          group by o.message_id, o.started_at
          order by o.started_at desc
          limit $3",
    )
    .bind(tenant)
    .bind(conversation)
    .bind(limit)
    .fetch_all(conn)
    .await
}
