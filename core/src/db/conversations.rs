//! Conversations: one per contact. Holds the inbox state (paused, unanswered, notice) and
//! the debounce marker of the next reply.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{ConnectionId, ContactId, ConversationId, TenantId};

/// A conversation with its contact, as jobs and the thread view need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Conversation {
    pub conversation_id: ConversationId,
    pub connection_id: ConnectionId,
    pub contact_name: String,
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub bot_paused: bool,
    pub needs_human: bool,
    pub unanswered: bool,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub last_message_at: DateTime<Utc>,
    pub reply_requested_at: Option<DateTime<Utc>>,
    pub notice: Option<String>,
    /// The customer asked to stop marketing messages (templates must honour it).
    pub marketing_opt_out_at: Option<DateTime<Utc>>,
    /// When the customer last got the away message.
    pub away_noticed_at: Option<DateTime<Utc>>,
    /// The team member it is assigned to.
    pub assigned_to: Option<Uuid>,
}

pub(crate) const SELECT: &str = "select c.conversation_id, c.connection_id, k.name as contact_name, k.wa_id, k.bsuid,
    c.bot_paused, c.needs_human, c.unanswered, c.last_inbound_at, c.last_message_at, c.reply_requested_at, c.notice,
    k.marketing_opt_out_at, c.away_noticed_at, c.assigned_to
    from conversations c join contacts k on k.tenant_id = c.tenant_id and k.contact_id = c.contact_id";

pub async fn upsert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    contact_id: ContactId,
) -> Result<ConversationId, sqlx::Error> {
    sqlx::query_scalar(
        "insert into conversations (tenant_id, conversation_id, connection_id, contact_id) values ($1, $2, $3, $4)
         on conflict (contact_id) do update set connection_id = excluded.connection_id returning conversation_id",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(connection_id)
    .bind(contact_id)
    .fetch_one(conn)
    .await
}

pub async fn get(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<Option<Conversation>, sqlx::Error> {
    select_one(conn, tenant_id, id, "").await
}

/// What a reply job reads first, in one statement: the conversation with its contact,
/// whether the account may use the service (`tenant_is_active`), and whether a message of
/// the customer's delivered within `still_writing` is not stored yet (a backlog: the reply
/// waits for the rest of the turn; one probe of an index of unprocessed messages by
/// sender for each of the customer's ids: migration `20261207000600_reply_gate_indexes`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ForReply {
    #[sqlx(flatten)]
    pub conversation: Conversation,
    pub account_active: bool,
    pub still_writing: bool,
}

/// See [`ForReply`]; `None` when the conversation is gone.
pub async fn for_reply(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
    still_writing: std::time::Duration,
) -> Result<Option<ForReply>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(for_reply_sql()))
        .bind(tenant_id)
        .bind(id)
        .bind(still_writing.as_secs_f64())
        .fetch_optional(conn)
        .await
}

/// The statement of [`for_reply`] (`$1` tenant, `$2` conversation, `$3` seconds), for the
/// test that reads its plan.
pub fn for_reply_sql() -> String {
    format!(
        "select r.*, tenant_is_active($1) as account_active,
           (exists (select 1 from inbound_events e
              where e.tenant_id = $1 and e.payload->>'wa_id' = r.wa_id
                and e.received_at > now() - make_interval(secs => $3)
                and coalesce(e.processed_at, e.dead_at) is null and e.kind = 'message'
                and e.connection_id = r.connection_id)
            or exists (select 1 from inbound_events e
              where e.tenant_id = $1 and e.payload->>'bsuid' = r.bsuid
                and e.received_at > now() - make_interval(secs => $3)
                and coalesce(e.processed_at, e.dead_at) is null and e.kind = 'message'
                and e.connection_id = r.connection_id)) as still_writing
         from ({SELECT} where c.tenant_id = $1 and c.conversation_id = $2) r"
    )
}

/// Same, locking the row until the transaction ends (the reply job's "latest wins").
pub async fn lock(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<Option<Conversation>, sqlx::Error> {
    select_one(conn, tenant_id, id, " for update of c").await
}

async fn select_one(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
    locking: &'static str,
) -> Result<Option<Conversation>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where c.tenant_id = $1 and c.conversation_id = $2{locking}"
    )))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// After a reply (bot or human) was queued.
pub async fn answered(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update conversations set unanswered = false, needs_human = false, last_message_at = now(), notice = null
         where tenant_id = $1 and conversation_id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Asks again for a reply to a conversation still unanswered (the file its turn waited
/// for is ready): the new request time, or `None` if no reply is awaited.
pub async fn request_reply_again(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "update conversations set reply_requested_at = clock_timestamp()
          where tenant_id = $1 and conversation_id = $2 and unanswered returning reply_requested_at",
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(conn)
    .await
    .map(Option::flatten)
}

/// The turn requested at `requested_at` left nothing to answer (its messages were
/// deleted): no longer unanswered. `false` if a newer request came meanwhile.
pub async fn nothing_to_answer(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
    requested_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update conversations set unanswered = false
         where tenant_id = $1 and conversation_id = $2
           and abs(extract(epoch from reply_requested_at - $3)) < 0.001",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(requested_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Why the bot did not answer (shown in the inbox); `needs_human` flags it for staff.
pub async fn set_notice(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
    notice: &str,
    needs_human: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("update conversations set notice = $3, needs_human = needs_human or $4 where tenant_id = $1 and conversation_id = $2")
        .bind(tenant_id)
        .bind(id)
        .bind(notice)
        .bind(needs_human)
        .execute(conn)
        .await?;
    Ok(())
}

/// Assigns the conversation to `user` (a member of the tenant's team), or to nobody.
/// `false` if there is no such conversation or member.
pub async fn assign(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
    user: Option<crate::domain::UserId>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update conversations set assigned_to = $3
          where tenant_id = $1 and conversation_id = $2
            and ($3::uuid is null or exists (select 1 from users where tenant_id = $1 and user_id = $3))",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(user)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pauses or resumes the bot for one conversation. `false` if no such conversation.
pub async fn set_paused(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
    paused: bool,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("update conversations set bot_paused = $3 where tenant_id = $1 and conversation_id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(paused)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes that the customer got the away message now (in the reply's transaction).
pub async fn away_noticed(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update conversations set away_noticed_at = now() where tenant_id = $1 and conversation_id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A person takes over: the bot pauses and the conversation needs a person (in the
/// reply's transaction, after `answered`).
pub async fn handed_off(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update conversations set bot_paused = true, needs_human = true, notice = 'handoff'
          where tenant_id = $1 and conversation_id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
