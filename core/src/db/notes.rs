//! Internal notes on a conversation: written by the team for the team, shown in the
//! thread, never sent to the customer.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{ConversationId, TenantId, UserId};

/// A note as the thread shows it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Note {
    pub note_id: Uuid,
    pub body: String,
    /// The author's name; `None` once they left the team.
    pub author_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Notes one conversation keeps at most.
pub const MAX_PER_CONVERSATION: i64 = 200;

/// What adding a note did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Added,
    /// The conversation has [`MAX_PER_CONVERSATION`] notes.
    Full,
    /// The conversation is not the tenant's.
    NotFound,
}

/// Adds `body` by `author` to `conversation`, unless it is full.
pub async fn add(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation: ConversationId,
    author: UserId,
    body: &str,
) -> Result<Added, sqlx::Error> {
    let (exists, added): (bool, bool) = sqlx::query_as(
        "with c as (select conversation_id from conversations where tenant_id = $1 and conversation_id = $3),
              ins as (insert into notes (tenant_id, note_id, conversation_id, author_user_id, body)
                      select $1, $2, c.conversation_id, $4, $5 from c
                       where (select count(*) from notes n where n.tenant_id = $1 and n.conversation_id = $3) < $6
                      returning 1)
         select exists (select 1 from c), exists (select 1 from ins)",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(conversation)
    .bind(author)
    .bind(body)
    .bind(MAX_PER_CONVERSATION)
    .fetch_one(conn)
    .await?;
    Ok(match (exists, added) {
        (_, true) => Added::Added,
        (true, false) => Added::Full,
        (false, _) => Added::NotFound,
    })
}

/// The latest `limit` notes of `conversation`, oldest first.
pub async fn recent(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation: ConversationId,
    limit: i64,
) -> Result<Vec<Note>, sqlx::Error> {
    let mut rows: Vec<Note> = sqlx::query_as(
        "select n.note_id, n.body, u.name as author_name, n.created_at
           from notes n left join users u on u.tenant_id = n.tenant_id and u.user_id = n.author_user_id
          where n.tenant_id = $1 and n.conversation_id = $2 order by n.created_at desc limit $3",
    )
    .bind(tenant_id)
    .bind(conversation)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.reverse();
    Ok(rows)
}
