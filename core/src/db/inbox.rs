//! The inbox as the team sees it: the conversation list (search, filters, keyset pages),
//! what is unread (customer messages since someone of the team last opened the
//! conversation), and the counts beside the filters.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::{ConversationId, TenantId, UserId};

/// An inbox row.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct InboxRow {
    pub conversation_id: ConversationId,
    pub contact_name: String,
    pub wa_id: Option<String>,
    pub bot_paused: bool,
    pub needs_human: bool,
    pub unanswered: bool,
    pub last_message_at: DateTime<Utc>,
    pub preview: Option<String>,
    /// Customer messages since the conversation was last opened.
    pub unread: i64,
    /// Why the bot did not answer, when it failed to (`notice`, hand-off excluded).
    pub failure: Option<String>,
    /// The name of the team member it is assigned to.
    pub assignee: Option<String>,
    /// The customer's labels.
    pub labels: Vec<String>,
}

/// Which conversations the inbox lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Show {
    #[default]
    All,
    /// Those that need a person.
    NeedsPerson,
    /// Those the bot failed to answer (model, send, window, quota, connection).
    BotFailed,
    /// Those with customer messages nobody has opened yet.
    Unread,
    /// Those assigned to this member.
    AssignedTo(UserId),
}

/// Which conversations the inbox lists, and which words it looks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct InboxFilter<'a> {
    /// Contact name, number or message text (compared through `search_fold`: Arabic letter
    /// forms, diacritics and case do not matter).
    pub query: Option<&'a str>,
    /// The query read as a phone number, as WhatsApp stores it (`domain::digits::saudi_number`).
    pub number: Option<&'a str>,
    pub show: Show,
    /// Only customers with this label.
    pub label: Option<&'a str>,
}

/// The counts shown beside the filters.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow, serde::Serialize)]
pub struct Counts {
    pub needs_person: i64,
    pub bot_failed: i64,
    pub unread: i64,
    /// Assigned to the member asking.
    pub mine: i64,
}

/// Whether the conversation `c` has a customer message it received after it was last
/// opened: read from the row itself (`customer_wrote_at`, moved by every stored message
/// in from the customer's side), never from `messages`.
const IS_UNREAD: &str = "c.customer_wrote_at > coalesce(c.read_at, '-infinity')";

/// How many customer messages the conversation `c` received since it was last opened:
/// counted only for an unread conversation of the page shown.
const UNREAD: &str = "select case when c.customer_wrote_at > coalesce(c.read_at, '-infinity') then (
    select count(*) from messages m where m.tenant_id = c.tenant_id
       and m.conversation_id = c.conversation_id and m.direction = 'in'
       and m.received_at > coalesce(c.read_at, '-infinity')) else 0 end";

/// `tenant_id`'s counts for the filters, as member `me` sees them.
pub async fn counts(conn: &mut PgConnection, tenant_id: TenantId, me: UserId) -> Result<Counts, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*) filter (where c.needs_human) as needs_person,
                count(*) filter (where c.notice <> 'handoff') as bot_failed,
                count(*) filter (where {IS_UNREAD}) as unread,
                count(*) filter (where c.assigned_to = $2) as mine
           from conversations c where c.tenant_id = $1"
    )))
    .bind(tenant_id)
    .bind(me)
    .fetch_one(conn)
    .await
}

/// The inbox, newest first, filtered by `filter`; keyset-paginated after
/// `(before_at, before_id)`.
pub async fn list(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    filter: InboxFilter<'_>,
    before: Option<(DateTime<Utc>, ConversationId)>,
    limit: i64,
) -> Result<Vec<InboxRow>, sqlx::Error> {
    let pattern = filter
        .query
        .map(|q| format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let show = match filter.show {
        Show::All => "true",
        Show::NeedsPerson => "c.needs_human",
        Show::BotFailed => "c.notice <> 'handoff'",
        Show::Unread => IS_UNREAD,
        Show::AssignedTo(_) => "true",
    };
    let assignee = match filter.show {
        Show::AssignedTo(user) => Some(user),
        _ => None,
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select c.conversation_id, k.name as contact_name, k.wa_id, c.bot_paused, c.needs_human, c.unanswered,
                c.last_message_at, unread.n as unread, nullif(c.notice, 'handoff') as failure,
                (select u.name from users u where u.tenant_id = c.tenant_id and u.user_id = c.assigned_to) as assignee,
                k.labels,
                (select m.body from messages m where m.tenant_id = c.tenant_id and m.conversation_id = c.conversation_id
                   order by m.seq desc limit 1) as preview
         from conversations c join contacts k on k.tenant_id = c.tenant_id and k.contact_id = c.contact_id
         cross join lateral ({UNREAD}) unread(n)
         where c.tenant_id = $1
           and ($2::text is null or k.wa_id like $2 or k.wa_id like $8
                or search_fold(k.name) like search_fold($2) or exists (
                 select 1 from messages m where m.tenant_id = c.tenant_id and m.conversation_id = c.conversation_id
                   and search_fold(m.body) like search_fold($2)))
           and ($3::timestamptz is null or (c.last_message_at, c.conversation_id) < ($3, $4))
           and {show} and ($6::uuid is null or c.assigned_to = $6)
           and ($7::text is null or $7 = any(k.labels))
         order by c.last_message_at desc, c.conversation_id desc limit $5"
    )))
    .bind(tenant_id)
    .bind(pattern)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit)
    .bind(assignee)
    .bind(filter.label)
    .bind(filter.number.map(|n| format!("%{n}%")))
    .fetch_all(conn)
    .await
}

/// Someone of the team opened the conversation: its customer messages so far are read.
pub async fn mark_read(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<(), sqlx::Error> {
    sqlx::query("update conversations set read_at = now() where tenant_id = $1 and conversation_id = $2")
        .bind(tenant_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
