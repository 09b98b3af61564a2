//! Staff access tokens: `mjb_staff_` and 43 random base64url characters, printed once at
//! creation; only the SHA-256 is stored (`db::staff`). A token authenticates the JSON ops
//! API as a Bearer token and opens a console session; expired or revoked, it opens
//! nothing. Each use records when it happened (at most once a minute per token).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{OpsError, Scope};
use crate::{
    auth,
    db::{
        audit::{self, Actor},
        staff::{self, TokenRow},
    },
};

/// The prefix of every staff token (so a leaked one is recognisable in a secret scan).
pub const PREFIX: &str = "mjb_staff_";

/// A token that authenticated, as the console sees it.
#[derive(Debug, Clone)]
pub struct Staff {
    pub token_id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: DateTime<Utc>,
}

impl From<TokenRow> for Staff {
    /// A stored token's holder; scopes this build does not know are dropped.
    fn from(row: TokenRow) -> Self {
        let scopes = row.scopes.iter().filter_map(|s| s.parse::<Scope>().ok()).collect();
        Staff { token_id: row.token_id, name: row.name, scopes, expires_at: row.expires_at }
    }
}

impl Staff {
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// The audit log's actor for this staff member.
    pub fn actor(&self) -> crate::db::audit::Actor {
        crate::db::audit::Actor::Staff(self.token_id.to_string())
    }
}

/// Parses `30d`, `12h` or `90m` (1 minute to 365 days).
pub fn parse_expiry(text: &str) -> Result<Duration, OpsError> {
    let bad = || OpsError::BadExpiry(text.to_owned());
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "d" => n * 86_400,
        "h" => n * 3_600,
        "m" => n * 60,
        _ => return Err(bad()),
    };
    if secs == 0 || secs > 365 * 86_400 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

/// Creates a token; returns it (to be shown once) and its id. Audited as a system action
/// (the operator ran the command).
pub async fn create(
    pool: &PgPool,
    name: &str,
    scopes: &[Scope],
    ttl: Duration,
) -> Result<(String, Uuid, DateTime<Utc>), OpsError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(OpsError::BadName);
    }
    let (secret, _) = auth::new_token();
    let token = format!("{PREFIX}{secret}");
    let id = Uuid::new_v4();
    let expires_at =
        Utc::now() + chrono::Duration::from_std(ttl).map_err(|_| OpsError::BadExpiry(String::new()))?;
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let mut tx = pool.begin().await?;
    staff::insert_token(&mut tx, id, name, &auth::token_digest(&token), &names, expires_at).await?;
    let detail = json!({ "token": id, "name": name, "scopes": names, "expires_at": expires_at });
    audit::record(&mut tx, None, &Actor::System, "staff_token_created", detail).await?;
    tx.commit().await?;
    Ok((token, id, expires_at))
}

/// The live token `presented` is, if any (unknown, malformed, expired and revoked: `None`).
pub async fn authenticate(pool: &PgPool, presented: &str) -> Result<Option<Staff>, sqlx::Error> {
    let Some(secret) = presented.strip_prefix(PREFIX) else { return Ok(None) };
    if !auth::well_formed(secret) {
        return Ok(None);
    }
    let Some(row) = staff::find_live(pool, &auth::token_digest(presented)).await? else { return Ok(None) };
    // Recorded at most once a minute: most uses write nothing.
    if row.last_used_at.is_none_or(|at| at < Utc::now() - chrono::Duration::minutes(1)) {
        staff::touch(pool, row.token_id).await?;
    }
    Ok(Some(Staff::from(row)))
}

/// Revokes a token by id (its sessions end with it).
/// Audited as a system action.
pub async fn revoke(pool: &PgPool, id: Uuid) -> Result<(), OpsError> {
    let mut tx = pool.begin().await?;
    if !staff::revoke(&mut tx, id).await? {
        return Err(OpsError::NoSuchToken);
    }
    audit::record(&mut tx, None, &Actor::System, "staff_token_revoked", json!({ "token": id })).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_takes_days_hours_and_minutes_within_a_year() {
        assert_eq!(parse_expiry("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_expiry("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_expiry("90m").unwrap(), Duration::from_secs(90 * 60));
        for bad in ["", "d", "0d", "366d", "30", "30w", "-1d", "1.5d"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }
}
