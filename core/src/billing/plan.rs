//! An owner's choice of plan: a listed, paid plan (the trial is where a business starts,
//! not one it can go back to). The change applies at once: the new allowance of AI
//! replies counts this month's replies so far, and the monthly invoice bills the plan the
//! business is on when the month ends. Audited (`plan_changed`, with both plan ids).
//! A plan also decides which models its tenants may choose ([`models_allowed`]).

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
