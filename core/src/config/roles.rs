//! What each process role refuses to start without. One list, used by the roles at
//! start-up and by the test that checks `app.json` asks a Heroku deployer for all of it;
//! and the transport `web` and `worker` refuse: a `BASE_URL` that is not https.

use std::net::IpAddr;

use super::{Config, ConfigError, HttpConfig};

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
        if role != Role::Migrate {
            require_https(&self.http)?;
        }
        Ok(())
    }
}

/// Outside `mujibak dev` (which never calls this), people sign in and customers' messages
/// are read over `BASE_URL`: it must be https, which also turns on HSTS and `Secure`
/// cookies. `ALLOW_LOOPBACK_HTTP` admits http on this machine's own address only.
fn require_https(http: &HttpConfig) -> Result<(), ConfigError> {
    if http.is_https() || (http.allow_loopback_http && is_loopback(&http.base_url)) {
        return Ok(());
    }
    let reason = if http.allow_loopback_http {
        "ALLOW_LOOPBACK_HTTP admits http only on localhost, 127.0.0.1 or [::1]"
    } else {
        "outside `mujibak dev` it must be an https:// URL: over http, passwords, session cookies and \
         customers' messages would cross the network unencrypted (HSTS and Secure cookies need https)"
    };
    Err(ConfigError::Refused { name: "BASE_URL", reason: format!("{reason} (got {})", http.base_url) })
}

/// Whether `url`'s host is this machine: `localhost`, a 127.0.0.0/8 address or `[::1]`.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
