//! Staff actions on webhook events that need a person: reprocess a dead event of a kind
//! the pipeline processes (after a fix; the caller enqueues its `handle_inbound` job on the
//! same transaction), or mark one handled (an unreadable delivery, a webhook-level error
//! Meta reported, an event naming another number, or a dead event nobody will retry).
//! Each is audited in the caller's transaction (`delivery_reprocessed`,
//! `delivery_handled`).

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{tokens::Staff, OpsError};
use crate::{
    db::{audit, ops_deliveries},
    domain::TenantId,
};

/// Revives a dead event for another run, audited; the caller enqueues it.
pub async fn reprocess(
    conn: &mut PgConnection,
    staff: &Staff,
    tenant: TenantId,
    event: Uuid,
) -> Result<(), OpsError> {
    if !ops_deliveries::revive(conn, tenant, event).await? {
        return Err(OpsError::Conflict(
            "only a dead event of a kind the pipeline processes can be reprocessed (mark the others handled)",
        ));
    }
    audit::record(conn, Some(tenant), &staff.actor(), "delivery_reprocessed", json!({ "event": event }))
        .await?;
    Ok(())
}

/// Marks an event needing a person as handled, audited.
pub async fn mark_handled(
    conn: &mut PgConnection,
    staff: &Staff,
    tenant: TenantId,
    event: Uuid,
) -> Result<(), OpsError> {
    let by = staff.token_id.to_string();
    if !ops_deliveries::mark_handled(conn, tenant, event, &by).await? {
        return Err(OpsError::Conflict("this event does not need a person (already handled or processed)"));
    }
    audit::record(conn, Some(tenant), &staff.actor(), "delivery_handled", json!({ "event": event })).await?;
    Ok(())
}
