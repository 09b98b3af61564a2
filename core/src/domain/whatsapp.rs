//! WhatsApp Cloud API webhook deliveries, parsed into events (pure: no I/O).
//!
//! A delivery may batch many entries, changes, messages and statuses; every one becomes
//! an [`Event`] with its own dedupe key (Meta retries deliveries for days). A customer may
//! arrive with a phone (`wa_id`), a business-scoped user id (BSUID) or both. Webhook-level
//! errors and change fields we do not handle become recorded-only events; NUL characters
//! (which Postgres refuses) are stripped; Meta's timestamps are clamped before use.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One customer message of a delivery, with the contact it came with.
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

/// Something a delivery carried that is kept for staff but not acted on: a webhook-level
/// error (`value.errors`) or a change field we do not handle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    /// The change's field (`messages` for a webhook-level error, `account_update`, …).
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
    WebhookError(Recorded),
    Ignored(Recorded),
}

impl Event {
    /// Unique per tenant: Meta's id (and the status), so a redelivery is recognised.
    pub fn dedupe_key(&self) -> String {
        match self {
            Event::Message(m) => format!("message:{}", m.wamid),
            Event::Status(s) => format!("status:{}:{}", s.wamid, s.status),
            Event::WebhookError(r) | Event::Ignored(r) => format!("{}:{}", self.kind(), r.key),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Event::Message(_) => "message",
            Event::Status(_) => "status",
            Event::WebhookError(_) => "webhook_error",
            Event::Ignored(_) => "ignored",
        }
    }

    /// The business number a message or status is for (`metadata.phone_number_id`);
    /// `None` for recorded-only events.
    pub fn phone_number_id(&self) -> Option<&str> {
        match self {
            Event::Message(m) => Some(&m.phone_number_id),
            Event::Status(s) => Some(&s.phone_number_id),
            Event::WebhookError(_) | Event::Ignored(_) => None,
        }
    }

    /// The recorded-only part of a webhook-level error or an unhandled field.
    pub fn recorded(&self) -> Option<&Recorded> {
        match self {
            Event::WebhookError(r) | Event::Ignored(r) => Some(r),
            Event::Message(_) | Event::Status(_) => None,
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

/// Message types the bot may answer (a reaction, an unsupported or a system message is
/// stored and shown, but needs no answer).
pub fn answerable(kind: &str) -> bool {
    matches!(
        kind,
        "text"
            | "interactive"
            | "button"
            | "image"
            | "video"
            | "audio"
            | "document"
            | "sticker"
            | "location"
            | "contacts"
            | "order"
    )
}

/// What to store of a message: (text body, structured details, error).
pub fn content(m: &InboundMessage) -> (Option<String>, Option<Value>, Option<String>) {
    let sub = m.raw.get(&m.kind).cloned();
    let text_at = |path: &str| m.raw.pointer(path).and_then(Value::as_str).map(str::to_owned);
    let error = m.raw.get("errors").and_then(Value::as_array).and_then(|e| e.first()).map(|e| {
        format!(
            "{}: {}",
            e.get("code").and_then(Value::as_i64).unwrap_or(0),
            e.get("title").and_then(Value::as_str).unwrap_or("")
        )
    });
    let body = match m.kind.as_str() {
        "text" => text_at("/text/body"),
        "image" | "video" | "document" | "sticker" | "audio" => text_at(&format!("/{}/caption", m.kind)),
        "location" => text_at("/location/name").or_else(|| text_at("/location/address")),
        "interactive" => {
            text_at("/interactive/button_reply/title").or_else(|| text_at("/interactive/list_reply/title"))
        }
        "button" => text_at("/button/text"),
        "reaction" => text_at("/reaction/emoji"),
        _ => None,
    };
    let details = match m.kind.as_str() {
        "text" => None,
        _ => sub,
    };
    (body, details, error)
}

/// Why a delivery could not be read (it is still kept, as unprocessable).
#[derive(Debug, thiserror::Error)]
#[error("unreadable delivery: {0}")]
pub struct ParseError(pub String);

/// Every message, status, webhook-level error and unhandled change of a delivery, in order,
/// with NUL characters stripped. Unknown keys are ignored; a message whose `id` is missing
/// is keyed by the digest of its content.
pub fn parse_delivery(body: &[u8]) -> Result<Vec<Event>, ParseError> {
    let mut root: Value = serde_json::from_slice(body).map_err(|e| ParseError(format!("not JSON ({e})")))?;
    strip_nul(&mut root);
    let digest = hex::encode(&Sha256::digest(body)[..12]);
    let mut recorded = 0;
    let mut record = |field: &str, code: Option<i64>, raw: &Value| {
        recorded += 1;
        Recorded { field: field.to_owned(), code, key: format!("{digest}:{recorded}"), raw: raw.clone() }
    };
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(ParseError("not a whatsapp_business_account delivery".into()));
    }
    let entries =
        root.get("entry").and_then(Value::as_array).ok_or_else(|| ParseError("no entry array".into()))?;
    let mut events = Vec::new();
    for change in entries.iter().filter_map(|e| e.get("changes")?.as_array()).flatten() {
        let value = change.get("value").unwrap_or(&Value::Null);
        let field = change.get("field").and_then(Value::as_str).unwrap_or("");
        if field != "messages" {
            events.push(Event::Ignored(record(field, None, value)));
            continue;
        }
        for e in value.get("errors").and_then(Value::as_array).into_iter().flatten() {
            events.push(Event::WebhookError(record(field, e.get("code").and_then(Value::as_i64), e)));
        }
        let number = str_at(value, &["metadata", "phone_number_id"]).unwrap_or_default();
        let contacts = value.get("contacts").and_then(Value::as_array).cloned().unwrap_or_default();
        for m in value.get("messages").and_then(Value::as_array).into_iter().flatten() {
            events.push(Event::Message(message(&number, m, &contacts)));
        }
        for s in value.get("statuses").and_then(Value::as_array).into_iter().flatten() {
            let Some(wamid) = str_at(s, &["id"]) else { continue };
            let errors = s
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        e.get("code").and_then(Value::as_i64).unwrap_or(0),
                        str_at(e, &["title"]).unwrap_or_default(),
                    )
                })
                .collect();
            events.push(Event::Status(StatusUpdate {
                phone_number_id: number.clone(),
                wamid,
                status: str_at(s, &["status"]).unwrap_or_default(),
                timestamp: timestamp(s),
                errors,
                callback: str_at(s, &["biz_opaque_callback_data"]),
            }));
        }
    }
    Ok(events)
}

fn message(number: &str, m: &Value, contacts: &[Value]) -> InboundMessage {
    let wa_id = str_at(m, &["from"]);
    let bsuid = str_at(m, &["from_user_id"]);
    let contact = contacts.iter().find(|c| {
        (wa_id.is_some() && str_at(c, &["wa_id"]) == wa_id)
            || (bsuid.is_some() && str_at(c, &["user_id"]) == bsuid)
    });
    let wamid = str_at(m, &["id"])
        .unwrap_or_else(|| format!("nohash.{}", hex::encode(Sha256::digest(m.to_string().as_bytes()))));
    InboundMessage {
        phone_number_id: number.to_owned(),
        wamid,
        wa_id: wa_id.or_else(|| contact.and_then(|c| str_at(c, &["wa_id"]))),
        bsuid: bsuid.or_else(|| contact.and_then(|c| str_at(c, &["user_id"]))),
        name: contact.and_then(|c| str_at(c, &["profile", "name"])),
        username: contact.and_then(|c| str_at(c, &["profile", "username"])),
        timestamp: timestamp(m),
        kind: str_at(m, &["type"]).unwrap_or_else(|| "unsupported".into()),
        raw: m.clone(),
    }
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str).map(str::to_owned)
}

fn timestamp(v: &Value) -> i64 {
    str_at(v, &["timestamp"]).and_then(|t| t.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests;
