//! Wire formats of the fake Graph API: Meta's error bodies, status webhook envelopes,
//! their HMAC signature (and echoed callback data), request validation and message ids.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use super::GraphFault;

pub(super) const WABA_ID: &str = "SANDBOX-WABA";
pub(super) const DISPLAY_NUMBER: &str = "966500000000";
pub(super) const STATUS_GAP: Duration = Duration::from_millis(40);
pub(super) const EXPIRED: &str = "Error validating access token: Session has expired";
pub(super) const TOO_MANY: &str =
    "Message failed to send because there were too many messages sent from this phone \
    number in a short period of time";
pub(super) const PAIR_LIMIT: &str = "(Business Account, Consumer Account) pair rate limit hit";
pub(super) const TOO_MANY_TO_ONE: &str =
    "Message failed to send because there were too many messages sent from this \
    phone number to the same phone number in a short period of time";
pub(super) const UNKNOWN_ID: &str =
    ", cannot be loaded due to missing permissions, or does not support this operation";
pub(super) const UNAVAILABLE: &str = "Service temporarily unavailable";
pub(super) const UNAVAILABLE_DETAILS: &str =
    "Service temporarily unavailable. Please retry your request later.";
pub(super) const REENGAGEMENT: &str =
    "Message failed to send because more than 24 hours have passed since the \
    customer last replied to this number.";

/// `(input, "wa_id" | "user_id", contact id)` for a well-formed send, else Graph's details text.
pub(super) fn recipient_of(body: &Value) -> Result<(String, &'static str, String), &'static str> {
    if body["messaging_product"] != "whatsapp" {
        return Err("The parameter messaging_product is required and must be \"whatsapp\"");
    }
    let Some(kind) = body["type"].as_str() else { return Err("The parameter type is required") };
    if body.get(kind).is_none() {
        return Err("The message body for the given type is missing");
    }
    match (body.get("to"), body.get("recipient")) {
        (Some(Value::String(to)), None) if !to.is_empty() => {
            Ok((to.clone(), "wa_id", to.chars().filter(char::is_ascii_digit).collect()))
        }
        (None, Some(Value::String(user))) if !user.is_empty() => Ok((user.clone(), "user_id", user.clone())),
        _ => Err("Exactly one of the parameters to or recipient is required"),
    }
}

/// Graph's refusal of a text whose body is missing, not a string, empty or longer than
/// 4,096 characters (Meta counts characters, not bytes).
pub(super) fn text_refused(body: &Value) -> Option<&'static str> {
    if body["type"] != "text" {
        return None;
    }
    match body["text"]["body"].as_str() {
        None => Some("Param text['body'] is required and must be a string"),
        Some(text) if text.trim().is_empty() => Some("Param text['body'] must not be empty"),
        Some(text) if text.chars().count() > 4096 => {
            Some("Param text['body'] must be at most 4096 characters long.")
        }
        Some(_) => None,
    }
}

pub(super) fn fault_response(fault: GraphFault) -> Option<Response> {
    let (status, code, message, details) = match fault {
        GraphFault::TokenExpired => (StatusCode::UNAUTHORIZED, 190, EXPIRED, EXPIRED),
        GraphFault::RateLimited => (StatusCode::TOO_MANY_REQUESTS, 130429, "Rate limit hit", TOO_MANY),
        GraphFault::PairRateLimited => (StatusCode::TOO_MANY_REQUESTS, 131056, PAIR_LIMIT, TOO_MANY_TO_ONE),
        GraphFault::ServerError => (StatusCode::SERVICE_UNAVAILABLE, 2, UNAVAILABLE, UNAVAILABLE_DETAILS),
        GraphFault::WindowClosed
        | GraphFault::Timeout { .. }
        | GraphFault::AcceptThenHang { .. }
        | GraphFault::NoId => return None,
    };
    let subcode = if code == 190 { 463 } else { 2494055 };
    Some(graph_error(status, code, Some(subcode), message, details))
}

pub(super) fn invalid_parameter(details: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, 100, None, "Invalid parameter", details)
}

/// Code 100, subcode 33: Graph knows no object `id` the caller may read.
pub(super) fn unknown_object(id: &str) -> Response {
    let message = format!("Unsupported request. Object with ID '{id}' does not exist{UNKNOWN_ID}");
    graph_error(StatusCode::BAD_REQUEST, 100, Some(33), &message, "Invalid parameter")
}

/// Code 190, subcode 463: the bearer token is not one Graph accepts.
pub(super) fn invalid_token() -> Response {
    let message = "Error validating access token: The access token is invalid or has expired";
    graph_error(StatusCode::UNAUTHORIZED, 190, Some(463), message, message)
}

/// Graph's error body: `{"error":{"message":"(#CODE) …","type":"OAuthException",…}}`.
pub(super) fn graph_error(
    status: StatusCode,
    code: u32,
    subcode: Option<u32>,
    text: &str,
    details: &str,
) -> Response {
    let mut error = json!({ "message": format!("(#{code}) {text}"), "type": "OAuthException", "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": details },
        "fbtrace_id": new_id("ASANDBOX") });
    if let Some(subcode) = subcode {
        error["error_subcode"] = subcode.into();
    }
    (status, Json(json!({ "error": error }))).into_response()
}

/// A `statuses` webhook for one message; `callback` echoes the send's `biz_opaque_callback_data`.
pub(super) fn status_envelope(
    phone_number_id: &str,
    wamid: &str,
    recipient: &str,
    status: &str,
    callback: Option<&str>,
) -> Value {
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().to_string();
    let mut entry =
        json!({ "id": wamid, "status": status, "timestamp": timestamp, "recipient_id": recipient });
    if let Some(callback) = callback {
        entry["biz_opaque_callback_data"] = callback.into();
    }
    if status == "failed" {
        entry["errors"] = json!([{ "code": 131047, "title": "Re-engagement message",
            "message": "Re-engagement message", "error_data": { "details": REENGAGEMENT },
            "href": "/documentation/business-messaging/whatsapp/support/error-codes" }]);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": WABA_ID, "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id },
            "statuses": [entry],
        }}]}],
    })
}

/// Posts a signed status webhook; like Meta, retries a delivery that did not get a 2xx
/// (with backoff, here for about a minute rather than Meta's days).
pub(super) async fn deliver(http: &reqwest::Client, url: &str, secret: &str, envelope: &Value, status: &str) {
    let body = envelope.to_string().into_bytes();
    let signature = format!("sha256={}", sign(secret, &body));
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=8 {
        let request = http.post(url).header(header::CONTENT_TYPE, "application/json");
        match request.header("X-Hub-Signature-256", &signature).body(body.clone()).send().await {
            Ok(r) if r.status().is_success() => {
                tracing::debug!(status, attempt, "sandbox graph: status webhook posted");
                return;
            }
            Ok(r) => {
                tracing::warn!(status, attempt, http = %r.status(), "sandbox graph: status webhook refused; retrying")
            }
            Err(e) => {
                tracing::warn!(status, attempt, error = %e, "sandbox graph: status webhook not delivered; retrying")
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(15));
    }
    tracing::warn!(status, "sandbox graph: status webhook given up");
}

/// Lower-case hex HMAC-SHA256 of `body` keyed with the app secret, as in `X-Hub-Signature-256`.
pub(super) fn sign(secret: &str, body: &[u8]) -> String {
    mujibak_core::domain::whatsapp::signature(secret, body).trim_start_matches("sha256=").to_owned()
}

/// `prefix` + a hex id unique within the process and unlikely to repeat across runs.
pub(super) fn new_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
    format!("{prefix}{:016X}{n:06X}", nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
