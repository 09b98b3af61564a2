//! Statuses for a message we do not know (yet): sent from the WhatsApp Business app or
//! another tool, or reported before our send stored Meta's id. Kept per wamid and status,
//! taken (deleted) when a message gets that wamid, pruned after 30 days.

use chrono::{DateTime, Utc};
use sqlx::{types::Json, PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{whatsapp::StatusUpdate, TenantId};

/// The parking lock of `wamid` (SQL over the placeholders `tenant` and `wamid`): every
/// statement that takes it names the same key (`lock_wamid`, `messages::sent::record`).
pub(crate) fn lock_sql(tenant: &str, wamid: &str) -> String {
    format!("pg_advisory_xact_lock(hashtextextended({tenant}::text || ':' || {wamid}, 7001))")
}

/// Taken statuses (rows with `status`) in forward order.
pub(crate) const FORWARD_ORDER: &str =
    "order by array_position(array['sent','delivered','read','failed'], status) nulls first";

/// Serialises, until the transaction ends, everything that parks a status for `wamid` or
/// takes them: otherwise a status parked while a send stores that wamid (neither
/// transaction seeing the other's row) would never be applied.
pub async fn lock_wamid(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    wamid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!("select {}", lock_sql("$1", "$2"))))
        .bind(tenant_id)
        .bind(wamid)
        .execute(conn)
        .await?;
    Ok(())
}

/// Parks `status` (a redelivery of the same wamid and status is kept once).
pub async fn park(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
    status: &StatusUpdate,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into parked_statuses (tenant_id, wamid, status, payload, event_id) values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, wamid, status) do nothing",
    )
    .bind(tenant_id)
    .bind(&status.wamid)
    .bind(&status.status)
    .bind(Json(status))
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes and returns the statuses parked for `wamid`, in forward order.
pub async fn take(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    wamid: &str,
) -> Result<Vec<StatusUpdate>, sqlx::Error> {
    let rows: Vec<(Json<StatusUpdate>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "with taken as (delete from parked_statuses where tenant_id = $1 and wamid = $2 returning status, payload)
         select payload from taken {FORWARD_ORDER}"
    )))
    .bind(tenant_id)
    .bind(wamid)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(Json(s),)| s).collect())
}

/// Deletes statuses parked before `cutoff` (every tenant's); returns how many.
pub async fn prune(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("delete from parked_statuses where parked_at < $1").bind(cutoff).execute(pool).await?;
    Ok(done.rows_affected())
}
