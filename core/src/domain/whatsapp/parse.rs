//! Reading a delivery: every change of every entry becomes events, in order, each field
//! by its shape in Meta's webhook reference (see [`super::fields`] for what becomes what).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    fields::{handling, Handling},
    strip_nul, AccountUpdate, Event, InboundMessage, PreferenceUpdate, Recorded, StatusUpdate,
};

/// Why a delivery could not be read (it is still kept, as unprocessable).
#[derive(Debug, thiserror::Error)]
#[error("unreadable delivery: {0}")]
pub struct ParseError(pub String);

/// Every event of a delivery, in order, with NUL characters stripped. Unknown keys are
/// ignored; a message whose `id` is missing is keyed by the digest of its content.
pub fn parse_delivery(body: &[u8]) -> Result<Vec<Event>, ParseError> {
    let mut root: Value = serde_json::from_slice(body).map_err(|e| ParseError(format!("not JSON ({e})")))?;
    strip_nul(&mut root);
    let digest = hex::encode(&Sha256::digest(body)[..12]);
    let mut position = 0;
    let mut key = || {
        position += 1;
        format!("{digest}:{position}")
    };
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(ParseError("not a whatsapp_business_account delivery".into()));
    }
    let entries =
        root.get("entry").and_then(Value::as_array).ok_or_else(|| ParseError("no entry array".into()))?;
    let mut events = Vec::new();
    for entry in entries {
        let waba_id = str_at(entry, &["id"]).unwrap_or_default();
        for change in entry.get("changes").and_then(Value::as_array).into_iter().flatten() {
            let value = change.get("value").unwrap_or(&Value::Null);
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            let recorded = |key: String, code: Option<i64>, raw: &Value| Recorded {
                field: field.to_owned(),
                code,
                key,
                raw: raw.clone(),
            };
            let number = str_at(value, &["metadata", "phone_number_id"]).unwrap_or_default();
            match (field, handling(field)) {
                ("messages", _) => {
                    for e in value.get("errors").and_then(Value::as_array).into_iter().flatten() {
                        let code = e.get("code").and_then(Value::as_i64);
                        events.push(Event::WebhookError(recorded(key(), code, e)));
                    }
                    let contacts =
                        value.get("contacts").and_then(Value::as_array).cloned().unwrap_or_default();
                    for m in items(value, "messages") {
                        events.push(Event::Message(message(&number, m, &contacts)));
                    }
                    events.extend(
                        items(value, "statuses").filter_map(|s| status(&number, s)).map(Event::Status),
                    );
                }
                ("smb_message_echoes", _) => {
                    events.extend(items(value, "message_echoes").map(|m| Event::Echo(echo(&number, m))));
                }
                ("account_update", _) => events.push(Event::Account(AccountUpdate {
                    field: field.to_owned(),
                    waba_id: waba_id.clone(),
                    update: str_at(value, &["event"]).unwrap_or_default(),
                    key: key(),
                    raw: value.clone(),
                })),
                ("user_preferences", _) => {
                    for p in items(value, "user_preferences") {
                        events.push(Event::Preference(PreferenceUpdate {
                            field: field.to_owned(),
                            phone_number_id: number.clone(),
                            wa_id: str_at(p, &["wa_id"]),
                            bsuid: str_at(p, &["user_id"]),
                            category: str_at(p, &["category"]).unwrap_or_default(),
                            value: str_at(p, &["value"]).unwrap_or_default(),
                            timestamp: timestamp(p),
                        }));
                    }
                }
                (_, Some(Handling::Recorded)) => events.push(Event::Recorded(recorded(key(), None, value))),
                (_, _) => events.push(Event::Ignored(recorded(key(), None, value))),
            }
        }
    }
    Ok(events)
}

fn items<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn status(number: &str, s: &Value) -> Option<StatusUpdate> {
    let wamid = str_at(s, &["id"])?;
    let errors = items(s, "errors")
        .map(|e| {
            (e.get("code").and_then(Value::as_i64).unwrap_or(0), str_at(e, &["title"]).unwrap_or_default())
        })
        .collect();
    Some(StatusUpdate {
        phone_number_id: number.to_owned(),
        wamid,
        status: str_at(s, &["status"]).unwrap_or_default(),
        timestamp: timestamp(s),
        errors,
        callback: str_at(s, &["biz_opaque_callback_data"]),
    })
}

fn message(number: &str, m: &Value, contacts: &[Value]) -> InboundMessage {
    let wa_id = str_at(m, &["from"]);
    let bsuid = str_at(m, &["from_user_id"]);
    let contact = contacts.iter().find(|c| {
        (wa_id.is_some() && str_at(c, &["wa_id"]) == wa_id)
            || (bsuid.is_some() && str_at(c, &["user_id"]) == bsuid)
    });
    InboundMessage {
        phone_number_id: number.to_owned(),
        wamid: wamid(m),
        wa_id: wa_id.or_else(|| contact.and_then(|c| str_at(c, &["wa_id"]))),
        bsuid: bsuid.or_else(|| contact.and_then(|c| str_at(c, &["user_id"]))),
        name: contact.and_then(|c| str_at(c, &["profile", "name"])),
        username: contact.and_then(|c| str_at(c, &["profile", "username"])),
        timestamp: timestamp(m),
        kind: str_at(m, &["type"]).unwrap_or_else(|| "unsupported".into()),
        raw: m.clone(),
    }
}

/// An echo names the customer it went to in `to` (phone) or `to_user_id` (BSUID).
fn echo(number: &str, m: &Value) -> InboundMessage {
    InboundMessage {
        phone_number_id: number.to_owned(),
        wamid: wamid(m),
        wa_id: str_at(m, &["to"]),
        bsuid: str_at(m, &["to_user_id"]),
        name: None,
        username: None,
        timestamp: timestamp(m),
        kind: str_at(m, &["type"]).unwrap_or_else(|| "unsupported".into()),
        raw: m.clone(),
    }
}

fn wamid(m: &Value) -> String {
    str_at(m, &["id"])
        .unwrap_or_else(|| format!("nohash.{}", hex::encode(Sha256::digest(m.to_string().as_bytes()))))
}

pub(super) fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str).map(str::to_owned)
}

/// Meta's `timestamp`: seconds, as a string (messages, statuses) or a number (preferences).
fn timestamp(v: &Value) -> i64 {
    match v.get("timestamp") {
        Some(Value::String(t)) => t.parse().unwrap_or(0),
        Some(n) => n.as_i64().unwrap_or(0),
        None => 0,
    }
}
