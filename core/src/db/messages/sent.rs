//! A send Meta accepted, recorded in two statements on the caller's transaction: Meta's id
//! on the message (with the lock that serialises parking a status for that id, and what
//! the reply latency metric needs), then the statuses parked for the id taken and the send
//! counted, on the business's day of usage and, for a reply the model wrote, its month of
//! AI replies. Those two rows are written by every send of the business, so they are the
//! transaction's last write: locked only from that statement to the commit, never while
//! the record waits for anything else (a burst's sends of one business waited 22 ms each
//! on average while every record held them across five statements).

use chrono::{DateTime, Utc};
use sqlx::{types::Json, PgConnection};

use crate::{
    db::{
        ai_usage::MONTH,
        parked_statuses::{self, FORWARD_ORDER},
    },
    domain::{whatsapp::StatusUpdate, MessageId, TenantId},
};

/// What recording Meta's id found.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Recorded {
    /// The model wrote the message (an AI reply, counted on the month's allowance).
    pub generated: bool,
    /// When the customer message it answers reached us (`None` if it answers none).
    pub asked_at: Option<DateTime<Utc>>,
}

/// Records Meta's id for a message being (or maybe) sent that has none yet, from the send's
/// answer or from a status carrying our callback data, and takes the parking lock of the
/// id (`parked_statuses::lock_wamid`'s, after the message's row, as every status does).
/// `None` if it already had an id (or had ended: failed, skipped): nothing done.
pub async fn record(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    id: MessageId,
    wamid: &str,
    note: Option<&str>,
) -> Result<Option<Recorded>, sqlx::Error> {
    let lock = parked_statuses::lock_sql("$1", "$3");
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update messages m set wamid = $3, status = 'sent', sent_at = now(), status_at = now(), error = null,
           delivery_note = coalesce($4, delivery_note)
         where tenant_id = $1 and message_id = $2 and wamid is null and status in ('queued', 'sending', 'uncertain')
         returning m.generated,
           (select q.received_at from messages q where q.tenant_id = $1 and q.message_id = m.reply_to) as asked_at,
           {lock}::text as locked"
    )))
    .bind(tenant_id)
    .bind(id)
    .bind(wamid)
    .bind(note)
    .fetch_optional(conn)
    .await
}

/// After [`record`]: removes and returns the statuses parked for `wamid` (in forward order)
/// and counts the send on today's Riyadh date, and on this month's AI replies if
/// `generated`, in one statement. The parking lock, taken by `record`'s statement, makes
/// every status parked before it visible here.
pub async fn count_and_take_parked(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    wamid: &str,
    generated: bool,
) -> Result<Vec<StatusUpdate>, sqlx::Error> {
    let rows: Vec<(Json<StatusUpdate>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "with taken as (delete from parked_statuses where tenant_id = $1 and wamid = $2 returning status, payload),
         counted as (
           insert into usage_daily (tenant_id, day, inbound, outbound)
           values ($1, (now() at time zone 'Asia/Riyadh')::date, 0, 1)
           on conflict (tenant_id, day) do update set outbound = usage_daily.outbound + 1),
         replies as (
           insert into ai_usage_monthly (tenant_id, month, replies)
           select $1, {MONTH}, 1 where $3
           on conflict (tenant_id, month) do update set replies = ai_usage_monthly.replies + 1)
         select payload from taken {FORWARD_ORDER}"
    )))
    .bind(tenant_id)
    .bind(wamid)
    .bind(generated)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(Json(s),)| s).collect())
}
