//! An email address as accepted at sign-up, invitation and profile change.

use std::fmt;

use serde::Serialize;

/// A syntactically valid, trimmed email address (case kept for display; compared
/// case-insensitively by the database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts `local@domain.tld` with no spaces, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        let (local, domain) = s.split_once('@').ok_or("email.invalid")?;
        let valid = s.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err("email.invalid")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_trims() {
        assert_eq!(EmailAddress::parse("  Sara@Example.SA ").unwrap().as_str(), "Sara@Example.SA");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in ["", "sara", "sara@", "@x.sa", "sara@localhost", "a b@x.sa", "a@b@x.sa", "a@x.sa."] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
