//! Customer media rows (`media`): one per media message, stored pending with it; the
//! downloaded bytes and what the AI understood of them (a transcript, a description), or
//! the failure the thread shows instead; the file served to the team and exported. A
//! row goes with its message (the customer deleting it, the account's purge).

use sqlx::PgConnection;

use crate::domain::{ConnectionId, ConversationId, MessageId, TenantId};

/// What the download job needs of a media message.
#[derive(Debug, sqlx::FromRow)]
pub struct ToFetch {
    pub media_id: String,
    pub kind: String,
    pub mime_type: Option<String>,
    pub status: String,
    pub bytes: Option<Vec<u8>>,
    pub conversation_id: ConversationId,
    /// The connection the customer wrote to (its token downloads the file).
    pub connection_id: ConnectionId,
    /// The customer's caption.
    pub caption: Option<String>,
    /// The customer deleted the message meanwhile.
    pub deleted: bool,
    /// The business turned on media understanding (off when its bot was never saved).
    pub understand: bool,
}

/// Records that message `message_id` carries Meta's media `media_id`, to download.
pub async fn insert_pending(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    message_id: MessageId,
    media_id: &str,
    kind: &str,
    mime_type: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into media (tenant_id, message_id, media_id, kind, mime_type) values ($1, $2, $3, $4, $5)
         on conflict do nothing",
    )
    .bind(tenant_id)
    .bind(message_id)
    .bind(media_id)
    .bind(kind)
    .bind(mime_type)
    .execute(conn)
    .await?;
    Ok(())
}

/// The media of message `message_id`, with its conversation and connection (`None`: gone).
pub async fn to_fetch(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    message_id: MessageId,
) -> Result<Option<ToFetch>, sqlx::Error> {
    sqlx::query_as(
        "select d.media_id, d.kind, d.mime_type, d.status, d.bytes, m.conversation_id, c.connection_id,
                m.body as caption, m.deleted_at is not null as deleted,
                coalesce((select b.media_understanding from bot_settings b where b.tenant_id = $1), false)
                  as understand
           from media d join messages m using (tenant_id, message_id)
           join conversations c on c.tenant_id = m.tenant_id and c.conversation_id = m.conversation_id
          where d.tenant_id = $1 and d.message_id = $2",
    )
    .bind(tenant_id)
    .bind(message_id)
    .fetch_optional(conn)
    .await
}

/// Keeps the downloaded file (the row stays pending until it is understood).
pub async fn store_file(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    message_id: MessageId,
    mime_type: &str,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update media set mime_type = $3, bytes = $4, byte_size = length($4)
          where tenant_id = $1 and message_id = $2 and status = 'pending'",
    )
    .bind(tenant_id)
    .bind(message_id)
    .bind(mime_type)
    .bind(bytes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts one more download attempt.
pub async fn attempted(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    message_id: MessageId,
) -> Result<(), sqlx::Error> {
    sqlx::query("update media set attempts = attempts + 1 where tenant_id = $1 and message_id = $2")
        .bind(tenant_id)
        .bind(message_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends the pending row: `ready` with what was understood (if anything), or `failed`
/// with why. False if it was not pending.
pub async fn finish(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    message_id: MessageId,
    understood: Option<&str>,
    failure: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update media set status = case when bytes is null then 'failed' else 'ready' end,
                understood = $3, failure = $4, finished_at = now()
          where tenant_id = $1 and message_id = $2 and status = 'pending'",
    )
    .bind(tenant_id)
    .bind(message_id)
    .bind(understood)
    .bind(failure)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The kept file of message `message_id` of conversation `conversation_id`: (type, bytes).
pub async fn file(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<Option<(String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "select coalesce(d.mime_type, 'application/octet-stream'), d.bytes
           from media d join messages m using (tenant_id, message_id)
          where d.tenant_id = $1 and m.conversation_id = $2 and d.message_id = $3 and d.bytes is not null",
    )
    .bind(tenant_id)
    .bind(conversation_id)
    .bind(message_id)
    .fetch_optional(conn)
    .await
}

/// Up to `limit` kept files after message `after`, for the export: (message, type, bytes).
pub async fn files_after(
    pool: &sqlx::PgPool,
    tenant_id: TenantId,
    contact: Option<crate::domain::ContactId>,
    after: MessageId,
    limit: i64,
) -> Result<Vec<(MessageId, Option<String>, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "select message_id, mime_type, bytes from media
          where tenant_id = $1 and message_id > $2 and bytes is not null
            and ($4::uuid is null or message_id in
                  (select m.message_id from messages m join conversations c using (tenant_id, conversation_id)
                    where m.tenant_id = $1 and c.contact_id = $4))
          order by message_id limit $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(limit)
    .bind(contact)
    .fetch_all(pool)
    .await
}
