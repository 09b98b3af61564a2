//! An owner's choice of plan: a listed, paid plan (the trial is where a business starts,
//! not one it can go back to), chosen only by an owner who proved their address. A dearer
//! plan applies at once (its allowance counts this month's replies so far); a cheaper one
//! (or one of the same price) waits for the month's end, and is refused while the team
//! has more members than it has seats; choosing the current plan again cancels a waiting
//! one. The month's invoice bills the highest plan held in the month (`run`), so nothing is
//! saved by moving down before the run. Audited: `plan_changed`, `plan_change_scheduled`
//! and `plan_change_cancelled`, with the plan ids.
//! A plan also decides which models its tenants may choose ([`models_allowed`]).

use chrono::{DateTime, Months, Utc};
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
    /// From the plan named here, now.
    Changed { from: String },
    /// To a cheaper plan, from `at` (the start of the next month).
    Scheduled { at: DateTime<Utc> },
    /// A waiting cheaper plan is no longer waiting.
    Cancelled,
    /// Already on it.
    Unchanged,
    /// The team has more members than the plan has seats.
    TeamTooLarge { members: i64, seats: i32 },
    /// No listed, paid plan has that id.
    Unknown,
}

/// When the Riyadh month after the one `now` falls in starts.
pub fn next_month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let first = super::run::period_of(now);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    super::run::starts_at(next)
}

/// Moves `tenant` to `plan` for `user` (the owner), on the caller's transaction.
pub async fn choose(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    plan: &str,
) -> Result<PlanChange, sqlx::Error> {
    let Some(target) = plans::listed_paid(conn, plan).await? else {
        return Ok(PlanChange::Unknown);
    };
    let now = plans::holding(conn, tenant).await?;
    let actor = Actor::User(user);
    if target.plan_id == now.plan_id {
        if now.next_plan_id.is_none() {
            return Ok(PlanChange::Unchanged);
        }
        plans::schedule(conn, tenant, None, None).await?;
        let detail = json!({ "plan": plan, "was_next": now.next_plan_id });
        audit::record(conn, Some(tenant), &actor, "plan_change_cancelled", detail).await?;
        return Ok(PlanChange::Cancelled);
    }
    if target.price_halalas > now.price_halalas {
        plans::move_now(conn, tenant, plan).await?;
        let detail = json!({ "from": now.plan_id, "to": plan });
        audit::record(conn, Some(tenant), &actor, "plan_changed", detail).await?;
        return Ok(PlanChange::Changed { from: now.plan_id });
    }
    if now.members > i64::from(target.seats) {
        return Ok(PlanChange::TeamTooLarge { members: now.members, seats: target.seats });
    }
    let at = next_month_start(Utc::now());
    plans::schedule(conn, tenant, Some(plan), Some(at)).await?;
    let detail = json!({ "from": now.plan_id, "to": plan, "at": at });
    audit::record(conn, Some(tenant), &actor, "plan_change_scheduled", detail).await?;
    Ok(PlanChange::Scheduled { at })
}

/// The models a tenant on a plan listing `plan_models` may choose, given the operator's
/// `operator` list (its default first): the default always; `*` opens every listed model;
/// any other name only if the operator lists it.
pub fn models_allowed(plan_models: &[String], operator: &[String]) -> Vec<String> {
    let every = plan_models.iter().any(|m| m == "*");
    operator
        .iter()
        .enumerate()
        .filter(|(i, m)| *i == 0 || every || plan_models.contains(m))
        .map(|(_, m)| m.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::models_allowed;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_plan_narrows_the_operators_models_and_always_keeps_the_default() {
        let operator = list(&["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1"]);
        assert_eq!(models_allowed(&[], &operator), list(&["gpt-4o-mini"]));
        assert_eq!(models_allowed(&list(&["*"]), &operator), operator);
        assert_eq!(
            models_allowed(&list(&["gpt-4.1", "o1-pro"]), &operator),
            list(&["gpt-4o-mini", "gpt-4.1"])
        );
    }
}
