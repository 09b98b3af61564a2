//! The ops console's domain: staff access tokens and their scopes ([`tokens`]), the queue
//! statistics the queues page shows ([`stats`]), and the staff actions on jobs ([`jobs`])
//! and webhook deliveries ([`deliveries`]),
//! each audited. The SQL is in `db::staff`, `db::ops_queues`, `db::ops_jobs` and
//! `db::ops_deliveries`.

pub mod deliveries;
pub mod jobs;
pub mod stats;
pub mod tokens;

use std::{fmt, str::FromStr};

use serde::Serialize;

/// What a staff token may do. Each ops route needs exactly one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Scope {
    /// Read queues, jobs, deliveries, tenants (not their conversations), the audit log, metrics.
    OpsRead,
    /// Retry, discard and cancel jobs; reprocess or close deliveries.
    OpsWrite,
    /// Read a tenant's conversations, with a stated reason (each view audited).
    SupportRead,
    /// Suspend and unsuspend tenants; start a deletion requested by email.
    TenantsWrite,
    /// Record breach incidents and notify affected users.
    IncidentsWrite,
    /// Billing corrections (credit notes, plan overrides).
    BillingWrite,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::OpsRead,
        Scope::OpsWrite,
        Scope::SupportRead,
        Scope::TenantsWrite,
        Scope::IncidentsWrite,
        Scope::BillingWrite,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::OpsRead => "ops:read",
            Scope::OpsWrite => "ops:write",
            Scope::SupportRead => "support:read",
            Scope::TenantsWrite => "tenants:write",
            Scope::IncidentsWrite => "incidents:write",
            Scope::BillingWrite => "billing:write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = OpsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| OpsError::UnknownScope(s.to_owned()))
    }
}

/// Parses a comma-separated scope list (`ops:read,ops:write`): at least one, each known.
pub fn parse_scopes(list: &str) -> Result<Vec<Scope>, OpsError> {
    let mut scopes = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let scope: Scope = part.parse()?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(OpsError::NoScopes);
    }
    Ok(scopes)
}

/// What the ops layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("unknown scope {0:?} (known: ops:read, ops:write, support:read, tenants:write, incidents:write, billing:write)")]
    UnknownScope(String),
    #[error("a token needs at least one scope")]
    NoScopes,
    #[error(
        "invalid expiry {0:?}: use a number of days, hours or minutes such as 30d, 12h or 90m (at most 365d)"
    )]
    BadExpiry(String),
    #[error("a token name is 1 to 100 characters")]
    BadName,
    #[error("no such token")]
    NoSuchToken,
    /// The job is not in a state this action applies to (it ran, is running, or is gone).
    #[error("{0}")]
    Conflict(&'static str),
    #[error("no such job")]
    NoSuchJob,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_unknown_ones_are_refused() {
        assert_eq!(
            parse_scopes("ops:read, ops:write,ops:read").unwrap(),
            vec![Scope::OpsRead, Scope::OpsWrite]
        );
        assert!(
            matches!(parse_scopes("ops:read,ops:admin"), Err(OpsError::UnknownScope(s)) if s == "ops:admin")
        );
        assert!(matches!(parse_scopes(" , "), Err(OpsError::NoScopes)));
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
        }
    }
}
