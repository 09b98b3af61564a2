//! Every rate limit of the web app, in one table. A limit is keyed by the client's address
//! ([`ClientIp`](super::extract::ClientIp): the socket's peer, or behind Heroku's router the
//! last `X-Forwarded-For` hop), by an account or by a tenant, never by nothing: one client
//! cannot use up another's allowance. A request is counted before it is let through, in
//! one statement (`rate_limits::hit`), so parallel requests get no extra tries; a success
//! may clear its bucket (a right password forgives earlier typos). Counters live in
//! Postgres, shared by every replica.

use std::time::Duration;

use mujibak_core::db::rate_limits;
use sqlx::PgPool;

use super::error::WebError;

/// One limit: at most `max` requests per `window` for each key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i32,
    pub window: Duration,
}

const MINUTE: Duration = Duration::from_secs(60);
const MINUTES_15: Duration = Duration::from_secs(15 * 60);
const HOUR: Duration = Duration::from_secs(3600);

/// Sign-in attempts per client and account (cleared by a successful sign-in).
pub const SIGNIN: Limit = Limit { name: "signin", max: 5, window: MINUTES_15 };
/// Failed sign-ins per account from every client together (bounds spread-out guessing).
/// Past it, only clients that have themselves failed for the account are refused
/// ([`Limit::over`]): a machine that never failed, the owner's, still signs in.
pub const SIGNIN_ACCOUNT: Limit = Limit { name: "signin-account", max: 50, window: MINUTES_15 };
/// Sign-in attempts per client, whatever the account.
pub const SIGNIN_CLIENT: Limit = Limit { name: "signin-client", max: 50, window: MINUTES_15 };
/// Sign-ups per client.
pub const SIGNUPS: Limit = Limit { name: "signup", max: 10, window: HOUR };
/// Emails telling an address with an account that someone tried to sign up with it, per
/// address (beyond it nothing is sent; the answer is the same).
pub const SIGNUP_NOTICES: Limit = Limit { name: "signup-notice", max: 3, window: HOUR };
/// Reset requests per client.
pub const RESETS: Limit = Limit { name: "forgot", max: 10, window: HOUR };
/// Reset emails per account (beyond it nothing is sent; the answer is the same).
pub const RESET_EMAILS: Limit = Limit { name: "forgot-account", max: 3, window: HOUR };
/// Current-password checks per account (`/password`, email change, cleared by a right one).
pub const PASSWORD_CHECKS: Limit = Limit { name: "password", max: 5, window: MINUTES_15 };
/// Email changes per account.
pub const EMAIL_CHANGES: Limit = Limit { name: "email-change", max: 3, window: HOUR };
/// Verification emails sent again per account.
pub const VERIFY_RESENDS: Limit = Limit { name: "verify-resend", max: 3, window: HOUR };
/// "Try the bot" questions per tenant (each is a model call).
pub const BOT_TRIALS: Limit = Limit { name: "try-bot", max: 30, window: HOUR };
/// Moyasar invoice callbacks per client (each may queue a refetch; Moyasar sends one per
/// payment).
pub const MOYASAR_CALLBACKS: Limit = Limit { name: "moyasar-callback", max: 30, window: MINUTE };
/// Invitations per tenant.
pub const INVITATIONS: Limit = Limit { name: "invite", max: 10, window: HOUR };

impl Limit {
    fn bucket(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }

    /// Counts this request for `key`; past the limit, 429 with `Retry-After`.
    pub async fn check(&self, db: &(impl AsRef<PgPool> + ?Sized), key: &str) -> Result<(), WebError> {
        self.count(db, key).await.map(|_| ())
    }

    /// Counts this request for `key` and returns its count in the window; past the limit,
    /// 429 with `Retry-After`.
    pub async fn count(&self, db: &(impl AsRef<PgPool> + ?Sized), key: &str) -> Result<i32, WebError> {
        let window = rate_limits::hit(db.as_ref(), &self.bucket(key), self.window).await?;
        if window.hits <= self.max {
            return Ok(window.hits);
        }
        let wait = (window.resets_at - chrono::Utc::now()).num_seconds().max(1) as u64;
        tracing::warn!(limit = self.name, "rate limit reached");
        Err(WebError::RateLimited(wait))
    }

    /// Counts one event for `key` without refusing anything (a failure, say).
    pub async fn record(&self, db: &(impl AsRef<PgPool> + ?Sized), key: &str) -> Result<(), WebError> {
        rate_limits::hit(db.as_ref(), &self.bucket(key), self.window).await?;
        Ok(())
    }

    /// Whether `key` has reached the limit, without counting.
    pub async fn over(&self, db: &(impl AsRef<PgPool> + ?Sized), key: &str) -> Result<bool, WebError> {
        Ok(rate_limits::peek(db.as_ref(), &self.bucket(key), self.window).await? >= self.max)
    }

    /// Counts this request for `key`; `false` past the limit (for limits answered silently).
    pub async fn allows(&self, db: &sqlx::PgPool, key: &str) -> Result<bool, sqlx::Error> {
        Ok(rate_limits::hit(db, &self.bucket(key), self.window).await?.hits <= self.max)
    }

    /// Forgets `key`'s count.
    pub async fn clear(&self, db: &(impl AsRef<PgPool> + ?Sized), key: &str) -> Result<(), WebError> {
        rate_limits::clear(db.as_ref(), &self.bucket(key)).await?;
        Ok(())
    }
}

/// A short digest of an email address, so no bucket holds an address.
pub fn email_key(email: &str) -> String {
    mujibak_core::auth::token_digest(&email.trim().to_lowercase())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}
