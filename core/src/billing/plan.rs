//! An owner's choice of plan: a listed, paid plan (the trial is where a business starts,
//! not one it can go back to). The change applies at once: the new allowance of AI
//! replies counts this month's replies so far, and the monthly invoice bills the plan the
//! business is on when the month ends. Audited (`plan_changed`, with both plan ids).

use serde_json::json;
use sqlx::PgConnection;

use crate::{
    db::{
        audit::{self, Actor},
        plans,
    },
    domain::{TenantId, UserId},
};

/// What a change of plan did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanChange {
    /// From the plan named here.
    Changed { from: String },
    /// Already on it.
    Unchanged,
    /// No listed, paid plan has that id.
    Unknown,
}

/// Moves `tenant` to `plan` for `user` (the owner), on the caller's transaction.
pub async fn choose(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    plan: &str,
) -> Result<PlanChange, sqlx::Error> {
    if let Some(from) = plans::change(conn, tenant, plan).await? {
        let detail = json!({ "from": from, "to": plan });
        audit::record(conn, Some(tenant), &Actor::User(user), "plan_changed", detail).await?;
        return Ok(PlanChange::Changed { from });
    }
    let current = plans::of(conn, tenant).await?;
    Ok(if current.plan_id == plan { PlanChange::Unchanged } else { PlanChange::Unknown })
}
