//! The gate: whether a tenant may use the service ([`status`], one query) and staff
//! suspension ([`suspend`], [`unsuspend`], each audited). Sign-in, sessions, the webhook
//! and the reply jobs all ask [`status`]; the webhook's store statement re-checks the
//! same rule in SQL (`tenant_is_active`), so a web process's cached connection cannot let
//! a just-disabled tenant's delivery in.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::{
    db::{
        audit::{self, Actor},
        deletion_requests as db,
    },
    domain::TenantId,
};

/// Whether a tenant may use the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantStatus {
    Active,
    /// Staff suspended it (`reason` is staff's note, shown to no customer).
    Suspended {
        reason: String,
    },
    /// Its deletion was asked for: purged at `purge_after` (or already, if `purged`).
    Deleting {
        purge_after: DateTime<Utc>,
        purged: bool,
    },
}

impl TenantStatus {
    pub fn is_active(&self) -> bool {
        *self == TenantStatus::Active
    }

    /// A short name for logs and job notes.
    pub fn as_str(&self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended { .. } => "suspended",
            TenantStatus::Deleting { purged: false, .. } => "deleting",
            TenantStatus::Deleting { purged: true, .. } => "deleted",
        }
    }
}

/// The status of `tenant`. A tenant that does not exist (any more) is treated as deleted.
pub async fn status(conn: &mut PgConnection, tenant: TenantId) -> Result<TenantStatus, sqlx::Error> {
    let Some(row) = db::status_row(conn, tenant).await? else {
        return Ok(TenantStatus::Deleting { purge_after: Utc::now(), purged: true });
    };
    // A deletion outranks a suspension: the owner must still reach the cancel page.
    Ok(match (row.purge_after, row.suspended_at) {
        (Some(purge_after), _) => TenantStatus::Deleting { purge_after, purged: row.completed_at.is_some() },
        (None, Some(_)) => TenantStatus::Suspended { reason: row.suspended_reason.unwrap_or_default() },
        (None, None) => TenantStatus::Active,
    })
}

/// Suspends `tenant` (sign-in closed, sessions refused, bot stopped, webhooks dropped);
/// false if it already was. Audited with the reason.
pub async fn suspend(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let reason = reason.trim();
    let reason = if reason.is_empty() { "no reason given" } else { reason };
    let changed = db::set_suspended(conn, tenant, Some(reason)).await?;
    if changed {
        audit::record(conn, Some(tenant), actor, "tenant_suspended", json!({ "reason": reason })).await?;
        tracing::info!(tenant.id = %tenant, "tenant suspended");
    }
    Ok(changed)
}

/// Lifts the suspension of `tenant`; false if it was not suspended. Audited.
pub async fn unsuspend(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let changed = db::set_suspended(conn, tenant, None).await?;
    if changed {
        audit::record(conn, Some(tenant), actor, "tenant_unsuspended", json!({})).await?;
        tracing::info!(tenant.id = %tenant, "tenant unsuspended");
    }
    Ok(changed)
}
