//! The password policy: at least 10 characters, and not among the most common or easily
//! guessed passwords. Guessability is judged by zxcvbn (Dropbox's estimator, with its
//! dictionary of tens of thousands of leaked passwords), given the user's own details.

use secrecy::{ExposeSecret, SecretString};

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 10;
/// Longest accepted password, in bytes (hashing cost is bounded).
pub const MAX_BYTES: usize = 1024;

/// A password that passed the policy. Never printed.
pub struct NewPassword(SecretString);

impl NewPassword {
    /// Checks `raw` against the policy; `context` holds the user's name, email, business
    /// name, which may not make up the password. Errors are catalog keys.
    pub fn parse(raw: &str, context: &[&str]) -> Result<Self, &'static str> {
        if raw.chars().count() < MIN_LEN {
            return Err("password.too_short");
        }
        if raw.len() > MAX_BYTES {
            return Err("password.too_long");
        }
        // zxcvbn matches whole inputs: give it each detail, its words, and its words joined.
        let mut inputs: Vec<String> = Vec::new();
        for c in context {
            let lower = c.to_lowercase();
            let words: Vec<&str> =
                lower.split(|ch: char| !ch.is_alphanumeric()).filter(|w| w.len() > 2).collect();
            inputs.push(words.concat());
            inputs.extend(words.iter().map(|w| w.to_string()));
            inputs.push(lower.clone());
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let entropy = zxcvbn::zxcvbn(raw, &inputs);
        if (entropy.score() as u8) < 2 {
            return Err("password.too_common");
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_rejected() {
        assert_eq!(NewPassword::parse("abc123XY!", &[]).err(), Some("password.too_short"));
    }

    #[test]
    fn the_most_common_long_passwords_are_rejected() {
        for common in ["1234567890", "qwertyuiop", "password123", "1q2w3e4r5t", "iloveyou123", "0000000000"] {
            assert_eq!(NewPassword::parse(common, &[]).err(), Some("password.too_common"), "{common}");
        }
    }

    #[test]
    fn the_users_own_details_do_not_make_a_password() {
        let ctx = ["sara@alnoor-bakery.sa", "Alnoor Bakery"];
        assert!(NewPassword::parse("alnoorbakery1", &ctx).is_err());
    }

    #[test]
    fn a_reasonable_passphrase_is_accepted() {
        assert!(NewPassword::parse("camel-lantern-harbor-41", &[]).is_ok());
    }
}
