//! Internal notes on a conversation: written by the team for the team, shown in the
//! thread, never sent to the customer.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{TenantId, UserId};

/// A note as the thread shows it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Note {
    pub note_id: Uuid,
    pub body: String,
    /// The author's name; `None` once they left the team.
    pub author_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Adds `body` by `author` to `conversation`. `false` if the conversation is not the
/// tenant's.
pub async fn add(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation: Uuid,
    author: UserId,
    body: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into notes (tenant_id, note_id, conversation_id, author_user_id, body)
         select $1, $2, c.conversation_id, $4, $5 from conversations c
          where c.tenant_id = $1 and c.conversation_id = $3",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(conversation)
    .bind(author)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The latest `limit` notes of `conversation`, oldest first.
pub async fn recent(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation: Uuid,
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
