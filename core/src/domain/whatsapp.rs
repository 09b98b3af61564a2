//! WhatsApp Cloud API webhook deliveries, parsed into events (pure: no I/O).
//!
//! A delivery may batch many entries, changes, messages and statuses; every one becomes
//! an [`Event`] with its own dedupe key (Meta retries deliveries for days). A customer may
//! arrive with a phone (`wa_id`), a business-scoped user id (BSUID) or both. Besides
//! customer messages and statuses: echoes of what the business sent from the WhatsApp
//! Business app, account updates and marketing preferences are processed; the other
//! fields of [`fields::FIELDS`] are recorded; webhook-level errors and unknown fields are
//! recorded for staff. NUL characters (which Postgres refuses) are stripped; Meta's
//! timestamps are clamped before use. `parse` reads deliveries, `content` says what a
//! message holds, `fields` lists every field and message type the table in docs/whatsapp.md shows.

mod account;
mod content;
pub mod fields;
mod parse;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

pub use account::{account_effect, AccountEffect};
pub use content::{content, content_of, identity_change, wants_reply, IdentityChange};
pub use parse::{parse_delivery, ParseError};

/// One message of a delivery: a customer's (`messages`), or one the business sent from
/// the WhatsApp Business app (`smb_message_echoes`: then `wa_id`/`bsuid` name the
/// customer it went to, `name` and `username` are empty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InboundMessage {
    pub phone_number_id: String,
    pub wamid: String,
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
    pub timestamp: i64,
    pub kind: String,
    /// The message object as Meta sent it.
    pub raw: Value,
}

/// One status of a message we sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusUpdate {
    pub phone_number_id: String,
    pub wamid: String,
    pub status: String,
    pub timestamp: i64,
    /// (code, title) of each error (e.g. 131047 when the 24-hour window had closed).
    pub errors: Vec<(i64, String)>,
    /// `biz_opaque_callback_data` of the send, echoed by Meta (Mujibak sends its message id).
    #[serde(default)]
    pub callback: Option<String>,
}

/// An `account_update` change: its WhatsApp Business Account (the entry's id), Meta's
/// `event` name and the whole value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountUpdate {
    pub field: String,
    pub waba_id: String,
    /// Meta's `event` (`ACCOUNT_DELETED`, `DISABLED_UPDATE`, …).
    pub update: String,
    /// Unique within the delivery's redeliveries: the delivery's digest and the position.
    pub key: String,
    pub raw: Value,
}

/// One entry of a `user_preferences` change: a customer's marketing preference.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PreferenceUpdate {
    pub field: String,
    pub phone_number_id: String,
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    /// `marketing_messages`.
    pub category: String,
    /// `stop` or `resume`.
    pub value: String,
    pub timestamp: i64,
}

/// Something a delivery carried that is kept, not acted on: a webhook-level error
/// (`value.errors`), a field Mujibak records (templates, calls, …) or an unknown field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    /// The change's field (`messages` for a webhook-level error, `calls`, …).
    pub field: String,
    /// The error's code, for a webhook-level error.
    pub code: Option<i64>,
    /// Unique within the delivery's redeliveries: the delivery's digest and the position.
    pub key: String,
    /// The error, or the change's value, as Meta sent it.
    pub raw: Value,
}

/// An item of a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Message(InboundMessage),
    Status(StatusUpdate),
    /// Sent by the business from the WhatsApp Business app (coexistence).
    Echo(InboundMessage),
    Account(AccountUpdate),
    Preference(PreferenceUpdate),
    /// A field of [`fields::FIELDS`] that is recorded only.
    Recorded(Recorded),
    WebhookError(Recorded),
    Ignored(Recorded),
}

impl Event {
    /// Unique per tenant: Meta's id (and the status), so a redelivery is recognised.
    pub fn dedupe_key(&self) -> String {
        match self {
            Event::Message(m) => format!("message:{}", m.wamid),
            Event::Echo(m) => format!("echo:{}", m.wamid),
            Event::Status(s) => format!("status:{}:{}", s.wamid, s.status),
            Event::Account(a) => format!("account_update:{}", a.key),
            Event::Preference(p) => format!(
                "user_preferences:{}:{}:{}:{}",
                p.bsuid.as_deref().or(p.wa_id.as_deref()).unwrap_or(""),
                p.category,
                p.value,
                p.timestamp
            ),
            Event::Recorded(r) | Event::WebhookError(r) | Event::Ignored(r) => {
                format!("{}:{}", self.kind(), r.key)
            }
        }
    }

    /// The `inbound_events.kind` of the event.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Message(_) => "message",
            Event::Status(_) => "status",
            Event::Echo(_) => "echo",
            Event::Account(_) => "account_update",
            Event::Preference(_) => "user_preferences",
            Event::Recorded(_) => "recorded",
            Event::WebhookError(_) => "webhook_error",
            Event::Ignored(_) => "ignored",
        }
    }

    /// The business number the event is for (`metadata.phone_number_id`); `None` for
    /// account-level and recorded-only events.
    pub fn phone_number_id(&self) -> Option<&str> {
        match self {
            Event::Message(m) | Event::Echo(m) => Some(&m.phone_number_id),
            Event::Status(s) => Some(&s.phone_number_id),
            Event::Preference(p) => Some(&p.phone_number_id),
            Event::Account(_) | Event::Recorded(_) | Event::WebhookError(_) | Event::Ignored(_) => None,
        }
    }

    /// The WhatsApp Business Account an account-level event is for.
    pub fn waba_id(&self) -> Option<&str> {
        match self {
            Event::Account(a) => Some(&a.waba_id),
            _ => None,
        }
    }

    /// What is kept without processing: a webhook-level error, a recorded or unknown field.
    pub fn recorded(&self) -> Option<&Recorded> {
        match self {
            Event::Recorded(r) | Event::WebhookError(r) | Event::Ignored(r) => Some(r),
            _ => None,
        }
    }
}

/// When a message or status happened, from Meta's `timestamp` (seconds), clamped to
/// [now − 30 days, now + 5 min] so a wrong clock can neither hold the 24-hour window open
/// nor date a message before any plausible redelivery; missing or zero means now.
pub fn event_time(timestamp: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    let at = Utc.timestamp_opt(timestamp, 0).single().filter(|_| timestamp > 0).unwrap_or(now);
    at.clamp(now - Duration::days(30), now + Duration::minutes(5))
}

/// Removes every NUL character (`\u0000`, refused by Postgres' text and jsonb) from the
/// strings and keys of `v`.
pub fn strip_nul(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => {
            let entries = std::mem::take(map);
            for (mut k, mut item) in entries {
                k.retain(|c| c != '\0');
                strip_nul(&mut item);
                map.insert(k, item);
            }
        }
        Value::Object(map) => map.values_mut().for_each(strip_nul),
        _ => {}
    }
}

/// The `X-Hub-Signature-256` value Meta sends: `sha256=` + hex HMAC-SHA256(app secret, body).
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// `X-Hub-Signature-256` = `sha256=` + hex HMAC-SHA256(app secret, raw body). Fails closed.
pub fn signature_valid(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else { return false };
    let Ok(expected) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else { return false };
    mac.update(body);
    !app_secret.is_empty() && mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests;
