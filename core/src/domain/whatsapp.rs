//! WhatsApp Cloud API webhook deliveries, parsed into events (pure: no I/O).
//!
//! A delivery may batch many entries, changes, messages and statuses; every one becomes
//! an [`Event`] with its own dedupe key (Meta retries deliveries for days). A customer may
//! arrive with a phone (`wa_id`), a business-scoped user id (BSUID) or both.

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
}

/// An item of a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Message(InboundMessage),
    Status(StatusUpdate),
}

impl Event {
    /// Unique per tenant: Meta's id (and the status), so a redelivery is recognised.
    pub fn dedupe_key(&self) -> String {
        match self {
            Event::Message(m) => format!("message:{}", m.wamid),
            Event::Status(s) => format!("status:{}:{}", s.wamid, s.status),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Event::Message(_) => "message",
            Event::Status(_) => "status",
        }
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

/// Every message and status of a delivery, in order. Unknown fields and change types are
/// ignored; a message whose `id` is missing is keyed by the digest of its content.
pub fn parse_delivery(body: &[u8]) -> Result<Vec<Event>, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| ParseError(format!("not JSON ({e})")))?;
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(ParseError("not a whatsapp_business_account delivery".into()));
    }
    let entries =
        root.get("entry").and_then(Value::as_array).ok_or_else(|| ParseError("no entry array".into()))?;
    let mut events = Vec::new();
    for change in entries.iter().filter_map(|e| e.get("changes")?.as_array()).flatten() {
        if change.get("field").and_then(Value::as_str) != Some("messages") {
            continue;
        }
        let value = change.get("value").unwrap_or(&Value::Null);
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
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_reference_vectors_and_fails_closed() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let good = "sha256=02fe0c96d28c59ddb7cf81eff0ca05809b360ba73b63c28210b5906a0a107d1f";
        assert!(signature_valid("app_secret_123", body, Some(good)));
        assert!(signature_valid(
            "secret",
            b"test",
            Some("sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914")
        ));
        assert!(!signature_valid("app_secret_123", b"{}", Some(good)));
        assert!(!signature_valid("app_secret_123", body, None));
        assert!(!signature_valid("", body, Some(good)));
        assert!(!signature_valid("app_secret_123", body, Some("sha1=abc")));
        assert_eq!(signature("app_secret_123", body), good);
    }

    #[test]
    fn a_batched_delivery_yields_every_message_and_status_with_bsuid_only_contacts() {
        let body = serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
            {"field":"messages","value":{"metadata":{"phone_number_id":"P"},
              "contacts":[{"profile":{"name":"Sara"},"wa_id":"9665","user_id":"SA.1"},{"profile":{"name":"Anon","username":"anon"},"user_id":"SA.2"}],
              "messages":[
                {"from":"9665","id":"wamid.A","timestamp":"1739321024","type":"text","text":{"body":"مرحبا"}},
                {"from_user_id":"SA.2","id":"wamid.B","timestamp":"1739321025","type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}}],
              "statuses":[{"id":"wamid.O","status":"failed","timestamp":"1","recipient_id":"9665","errors":[{"code":131047,"title":"Re-engagement message"}]}]}},
            {"field":"account_update","value":{}}]}]});
        let events = parse_delivery(body.to_string().as_bytes()).unwrap();
        assert_eq!(events.len(), 3);
        let Event::Message(a) = &events[0] else { panic!() };
        assert_eq!(
            (a.wa_id.as_deref(), a.bsuid.as_deref(), a.name.as_deref()),
            (Some("9665"), Some("SA.1"), Some("Sara"))
        );
        let Event::Message(b) = &events[1] else { panic!() };
        assert_eq!(
            (b.wa_id.as_deref(), b.bsuid.as_deref(), b.kind.as_str()),
            (None, Some("SA.2"), "reaction")
        );
        assert_eq!(events[2].dedupe_key(), "status:wamid.O:failed");
        let Event::Status(s) = &events[2] else { panic!() };
        assert_eq!(s.errors, vec![(131047, "Re-engagement message".to_owned())]);
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        for junk in [
            &b"nope"[..],
            b"{}",
            br#"{"object":"page","entry":[]}"#,
            br#"{"object":"whatsapp_business_account"}"#,
        ] {
            assert!(parse_delivery(junk).is_err());
        }
    }
}
