//! Customers of a tenant, per connection, keyed by BSUID or phone (a customer may have
//! no phone; a later delivery carrying both links them). A customer whose BSUID or number
//! changed keeps their contact (merged, every field, with one the new id already had); the
//! welcome sent once and the marketing preference are kept here.

use sqlx::PgConnection;

use crate::domain::{ConnectionId, ContactId, ConversationId, TenantId};

/// Who wrote: the identifiers and profile a delivery carried.
pub struct ContactKey<'a> {
    pub connection_id: ConnectionId,
    pub wa_id: Option<&'a str>,
    pub bsuid: Option<&'a str>,
    pub name: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// Finds the contact with the key's BSUID (preferred) or phone and fills in what it
/// learns, or creates it: the CTE `contact` holds its id. $1 tenant, $2 connection, $3 bsuid,
/// $4 phone, $5 name, $6 username, $7 the id of a new contact.
const UPSERT: &str = "with found as (
       select contact_id from contacts where tenant_id = $1 and connection_id = $2
         and ((bsuid is not null and bsuid = $3) or (wa_id is not null and wa_id = $4))
       order by (bsuid = $3) desc nulls last limit 1),
     updated as (
       update contacts set bsuid = coalesce(bsuid, $3), wa_id = coalesce(wa_id, $4),
         name = coalesce(nullif($5, ''), name), username = coalesce($6, username)
       where tenant_id = $1 and contact_id in (select contact_id from found)
       returning contact_id),
     inserted as (
       insert into contacts (tenant_id, contact_id, connection_id, bsuid, wa_id, name, username)
       select $1, $7, $2, $3, $4, coalesce($5, ''), $6 where not exists (select 1 from found)
       returning contact_id),
     contact as (select contact_id from updated union all select contact_id from inserted)";

/// Finds or creates the contact; fills in identifiers and the name it learns. Serialised
/// per customer with an advisory lock so concurrent deliveries create one contact.
pub async fn upsert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    k: &ContactKey<'_>,
) -> Result<ContactId, sqlx::Error> {
    lock(conn, tenant_id, k.connection_id, &[k.bsuid.or(k.wa_id).unwrap_or("")]).await?;
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("{UPSERT} select contact_id from contact")))
        .bind(tenant_id)
        .bind(k.connection_id)
        .bind(k.bsuid)
        .bind(k.wa_id)
        .bind(k.name)
        .bind(k.username)
        .bind(ContactId::new())
        .fetch_one(conn)
        .await
}

/// As [`upsert`], and the contact's conversation found or opened, in the same statement
/// (a customer's message needs both).
pub async fn upsert_with_conversation(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    k: &ContactKey<'_>,
) -> Result<(ContactId, ConversationId), sqlx::Error> {
    lock(conn, tenant_id, k.connection_id, &[k.bsuid.or(k.wa_id).unwrap_or("")]).await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{UPSERT} insert into conversations (tenant_id, conversation_id, connection_id, contact_id)
           select $1, $8, $2, contact_id from contact
         on conflict (contact_id) do update set connection_id = excluded.connection_id
         returning contact_id, conversation_id"
    )))
    .bind(tenant_id)
    .bind(k.connection_id)
    .bind(k.bsuid)
    .bind(k.wa_id)
    .bind(k.name)
    .bind(k.username)
    .bind(ContactId::new())
    .bind(ConversationId::new())
    .fetch_one(conn)
    .await
}

/// Serialises, until the transaction ends, everything that creates or re-keys the
/// customers with these identifiers (BSUID, else phone), taken in a fixed order.
pub async fn lock(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    keys: &[&str],
) -> Result<(), sqlx::Error> {
    let mut keys: Vec<String> = keys.iter().map(|k| format!("{tenant_id}:{connection_id}:{k}")).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(&key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The contact with this BSUID (preferred) or phone.
pub async fn find(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    wa_id: Option<&str>,
    bsuid: Option<&str>,
) -> Result<Option<ContactId>, sqlx::Error> {
    sqlx::query_scalar(
        "select contact_id from contacts where tenant_id = $1 and connection_id = $2
           and ((bsuid is not null and bsuid = $3) or (wa_id is not null and wa_id = $4))
         order by (bsuid = $3) desc nulls last limit 1",
    )
    .bind(tenant_id)
    .bind(connection_id)
    .bind(bsuid)
    .bind(wa_id)
    .fetch_optional(conn)
    .await
}

/// One customer, one contact, one thread: moves everything of contact `gone` (its
/// conversation's messages and notes, or the conversation itself; its customer exports)
/// to contact `keep`, merges the two conversations' state and the two contacts' fields,
/// then deletes `gone`. Each field is `keep`'s own if set, else `gone`'s; labels are the
/// union; the marketing opt-out wins (either said stop: the customer is opted out); first
/// seen is the earlier.
pub async fn merge(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    keep: ContactId,
    gone: ContactId,
) -> Result<(), sqlx::Error> {
    const KEEP: &str = "(select conversation_id from conversations where tenant_id = $1 and contact_id = $2)";
    const GONE: &str = "(select conversation_id from conversations where tenant_id = $1 and contact_id = $3)";
    let statements = [
        format!("update messages set conversation_id = {KEEP} where tenant_id = $1 and conversation_id = {GONE} and {KEEP} is not null"),
        format!("update notes set conversation_id = {KEEP} where tenant_id = $1 and conversation_id = {GONE} and {KEEP} is not null"),
        "update conversations k set last_inbound_at = greatest(k.last_inbound_at, g.last_inbound_at),
                    last_message_at = greatest(k.last_message_at, g.last_message_at), unanswered = k.unanswered or g.unanswered,
                    reply_requested_at = greatest(k.reply_requested_at, g.reply_requested_at),
                    customer_wrote_at = greatest(k.customer_wrote_at, g.customer_wrote_at),
                    bot_paused = k.bot_paused or g.bot_paused, needs_human = k.needs_human or g.needs_human,
                    notice = coalesce(k.notice, g.notice), assigned_to = coalesce(k.assigned_to, g.assigned_to),
                    away_noticed_at = greatest(k.away_noticed_at, g.away_noticed_at), created_at = least(k.created_at, g.created_at),
                    read_at = case when k.read_at is not null and g.read_at is not null then least(k.read_at, g.read_at) end
             from conversations g where k.tenant_id = $1 and k.contact_id = $2 and g.tenant_id = $1 and g.contact_id = $3"
            .to_owned(),
        format!("update conversations set contact_id = $2 where tenant_id = $1 and contact_id = $3 and {KEEP} is null"),
        "delete from conversations where tenant_id = $1 and contact_id = $3".to_owned(),
        // A customer export asked for before the change is the same customer's.
        "update exports set contact_id = $2 where tenant_id = $1 and contact_id = $3".to_owned(),
        // `gone` is deleted before `keep` takes its identifiers (each is unique).
        "with g as (delete from contacts where tenant_id = $1 and contact_id = $3 returning *)
         update contacts k set bsuid = coalesce(k.bsuid, g.bsuid), wa_id = coalesce(k.wa_id, g.wa_id),
                name = coalesce(nullif(k.name, ''), g.name), username = coalesce(k.username, g.username),
                labels = array(select l from (select distinct on (lower(l)) l, i from unnest(k.labels || g.labels)
                                 with ordinality u(l, i) order by lower(l), i) d order by i),
                created_at = least(k.created_at, g.created_at), welcomed_at = least(k.welcomed_at, g.welcomed_at),
                marketing_opt_out_at = least(k.marketing_opt_out_at, g.marketing_opt_out_at),
                marketing_pref_at = greatest(k.marketing_pref_at, g.marketing_pref_at)
           from g where k.tenant_id = $1 and k.contact_id = $2"
            .to_owned(),
    ];
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(keep)
            .bind(gone)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The customer's identifiers changed: the new ones replace the old (an absent one is kept).
pub async fn set_ids(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    contact_id: ContactId,
    wa_id: Option<&str>,
    bsuid: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update contacts set wa_id = coalesce($3, wa_id), bsuid = coalesce($4, bsuid)
         where tenant_id = $1 and contact_id = $2",
    )
    .bind(tenant_id)
    .bind(contact_id)
    .bind(wa_id)
    .bind(bsuid)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the business's welcome as sent to the contact; `false` if it already was.
pub async fn mark_welcomed(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    contact_id: ContactId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update contacts set welcomed_at = now() where tenant_id = $1 and contact_id = $2 and welcomed_at is null",
    )
    .bind(tenant_id)
    .bind(contact_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the customer's marketing preference reported at `at` (stop: opted out since
/// then; resume: not opted out), unless a later one was already recorded.
pub async fn set_marketing(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    contact_id: ContactId,
    stop: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update contacts set marketing_opt_out_at = case when $3 then $4 end, marketing_pref_at = $4
         where tenant_id = $1 and contact_id = $2 and (marketing_pref_at is null or marketing_pref_at <= $4)",
    )
    .bind(tenant_id)
    .bind(contact_id)
    .bind(stop)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the thread's contact panel shows of a conversation's customer.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Panel {
    pub name: String,
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub username: Option<String>,
    pub labels: Vec<String>,
    pub first_seen: chrono::DateTime<chrono::Utc>,
    /// Their messages and ours in this conversation, and when it began.
    pub messages: i64,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// The customer of `conversation`.
pub async fn panel(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation: ConversationId,
) -> Result<Option<Panel>, sqlx::Error> {
    sqlx::query_as(
        "select k.name, k.wa_id, k.bsuid, k.username, k.labels, k.created_at as first_seen,
                (select count(*) from messages m where m.tenant_id = c.tenant_id and m.conversation_id = c.conversation_id)
                  as messages,
                c.created_at as since
           from conversations c join contacts k on k.tenant_id = c.tenant_id and k.contact_id = c.contact_id
          where c.tenant_id = $1 and c.conversation_id = $2",
    )
    .bind(tenant_id)
    .bind(conversation)
    .fetch_optional(conn)
    .await
}

/// Sets the labels of `conversation`'s customer. `false` if the conversation is not the
/// tenant's.
pub async fn set_labels(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    conversation: ConversationId,
    labels: &[String],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update contacts k set labels = $3 from conversations c
          where c.tenant_id = $1 and c.conversation_id = $2 and k.tenant_id = c.tenant_id and k.contact_id = c.contact_id",
    )
    .bind(tenant_id)
    .bind(conversation)
    .bind(labels)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
