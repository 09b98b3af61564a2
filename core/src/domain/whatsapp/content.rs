//! What a message holds: the text to store and show (body), its structured details (media
//! reference, location, shared contacts, order, a flow's answers as fields), Meta's error;
//! whether it asks for an answer; and the identity change a system message announces.

use serde_json::{json, Value};

use super::{parse::str_at, InboundMessage};

/// What to store of a message: (text body, structured details, error).
pub fn content(m: &InboundMessage) -> (Option<String>, Option<Value>, Option<String>) {
    content_of(&m.kind, &m.raw)
}

/// As [`content`], for a message object `raw` of type `kind` (an edit carries one).
pub fn content_of(kind: &str, raw: &Value) -> (Option<String>, Option<Value>, Option<String>) {
    let text_at = |path: &str| raw.pointer(path).and_then(Value::as_str).map(str::to_owned);
    let error = raw.get("errors").and_then(Value::as_array).and_then(|e| e.first()).map(|e| {
        format!(
            "{}: {}",
            e.get("code").and_then(Value::as_i64).unwrap_or(0),
            e.get("title").and_then(Value::as_str).unwrap_or("")
        )
    });
    let body = match kind {
        "text" => text_at("/text/body"),
        "image" | "video" | "document" | "sticker" | "audio" => text_at(&format!("/{kind}/caption")),
        "location" => text_at("/location/name").or_else(|| text_at("/location/address")),
        "interactive" => {
            text_at("/interactive/button_reply/title").or_else(|| text_at("/interactive/list_reply/title"))
        }
        "button" => text_at("/button/text"),
        "reaction" => text_at("/reaction/emoji"),
        "system" => text_at("/system/body"),
        _ => None,
    };
    let details = match kind {
        "text" | "system" | "request_welcome" => None,
        "interactive" => raw.get("interactive").cloned().map(with_flow_fields),
        _ => raw.get(kind).cloned(),
    };
    (body, details, error)
}

/// A flow's answers (`nfm_reply.response_json`, a JSON string) as `fields`: one
/// `{name, value}` per answer, our own `flow_token` left out.
fn with_flow_fields(mut interactive: Value) -> Value {
    let answers = interactive
        .pointer("/nfm_reply/response_json")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    if let (Some(Value::Object(answers)), Some(obj)) = (answers, interactive.as_object_mut()) {
        let fields: Vec<Value> = answers
            .iter()
            .filter(|(name, _)| name.as_str() != "flow_token")
            .map(|(name, value)| {
                let value = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                json!({ "name": name, "value": value })
            })
            .collect();
        obj.insert("fields".into(), Value::Array(fields));
    }
    interactive
}

/// Whether a stored message of `kind` asks for an answer: something the customer said or
/// sent, without an error from Meta. Reactions, system messages, a customer opening the
/// chat, interactive replies with nothing to answer (a call permission reply) and any
/// message carrying `errors` are stored and shown, never answered.
pub fn wants_reply(kind: &str, raw: &Value) -> bool {
    if raw.get("errors").and_then(Value::as_array).is_some_and(|e| !e.is_empty()) {
        return false;
    }
    match kind {
        "interactive" => {
            matches!(
                str_at(raw, &["interactive", "type"]).as_deref(),
                Some("button_reply" | "list_reply" | "nfm_reply")
            )
        }
        "text" | "button" | "image" | "video" | "audio" | "document" | "sticker" | "location"
        | "contacts" | "order" => true,
        _ => false,
    }
}

/// A customer's new identifiers, from a `system` message: `user_changed_number` comes
/// from the old number with the new one in `system.wa_id`; `user_changed_user_id` has no
/// sender, the old BSUID in `system.previous_user_id` (or the body's "changed from X to
/// Y") and the new one in `system.user_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChange {
    pub old_wa_id: Option<String>,
    pub old_bsuid: Option<String>,
    pub new_wa_id: Option<String>,
    pub new_bsuid: Option<String>,
}

/// The identity change a system message announces; `None` for any other message.
pub fn identity_change(m: &InboundMessage) -> Option<IdentityChange> {
    let system = m.raw.get("system")?;
    let at = |k: &str| str_at(system, &[k]);
    let from_body = || {
        let body = at("body")?;
        let (_, rest) = body.split_once(" changed from ")?;
        let (old, new) = rest.split_once(" to ")?;
        Some((old.trim().to_owned(), new.trim().to_owned()))
    };
    match at("type")?.as_str() {
        "user_changed_number" => Some(IdentityChange {
            old_wa_id: m.wa_id.clone().or_else(|| from_body().map(|b| b.0)),
            old_bsuid: at("previous_user_id").or_else(|| m.bsuid.clone()),
            new_wa_id: at("wa_id").or_else(|| from_body().map(|b| b.1)),
            new_bsuid: at("user_id"),
        }),
        "user_changed_user_id" => Some(IdentityChange {
            old_wa_id: at("wa_id"),
            old_bsuid: at("previous_user_id").or_else(|| from_body().map(|b| b.0)),
            new_wa_id: at("wa_id"),
            new_bsuid: at("user_id").or_else(|| from_body().map(|b| b.1)),
        }),
        _ => None,
    }
    .filter(|c| {
        (c.old_wa_id.is_some() || c.old_bsuid.is_some()) && (c.new_wa_id.is_some() || c.new_bsuid.is_some())
    })
}
