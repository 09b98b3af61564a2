//! What each process role refuses to start without. One list, used by the roles at
//! start-up and by the test that checks `app.json` asks a Heroku deployer for all of it.

use super::{Config, ConfigError};

/// A process role of the Procfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `release`: `mujibak migrate`.
    Migrate,
    /// `web`: the HTTP app.
    Web,
    /// `worker`: every queue and the cron scheduler.
    Worker,
}

/// The variables `role` needs, each with the hint printed when it is missing.
pub fn required(role: Role) -> &'static [(&'static str, &'static str)] {
    const DATABASE: (&str, &str) = ("DATABASE_URL", "postgres://user:pass@host:5432/db");
    const KEYS: (&str, &str) =
        ("ENCRYPTION_KEYS", "kid:base64 of 32 random bytes, or 64 hex digits; see .env.example");
    const BASE: (&str, &str) =
        ("BASE_URL", "the public https URL users open; forms, webhook URLs and emailed links use it");
    const SMTP: (&str, &str) = ("SMTP_URL", "smtp://user:pass@host:587?tls=required; the worker sends email");
    match role {
        Role::Migrate => &[DATABASE],
        Role::Web => &[DATABASE, KEYS, BASE],
        Role::Worker => &[DATABASE, KEYS, BASE, SMTP],
    }
}

impl Config {
    /// `Err` naming the first variable `role` needs that is not set.
    pub fn require(&self, role: Role) -> Result<(), ConfigError> {
        for &(name, hint) in required(role) {
            let set = match name {
                "DATABASE_URL" => true, // parsing already refused its absence
                "ENCRYPTION_KEYS" => self.keyring.is_some(),
                "BASE_URL" => self.http.base_url_set,
                "SMTP_URL" => self.mail.smtp_url.is_some(),
                _ => unreachable!("every required variable is checked above"),
            };
            if !set {
                return Err(ConfigError::Missing { name, hint });
            }
        }
        Ok(())
    }
}
