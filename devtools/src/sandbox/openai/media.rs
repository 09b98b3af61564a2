//! The fake's media understanding: `POST /v1/audio/transcriptions` (multipart, as OpenAI
//! takes it: `file` and `model`) answers `{"text": …}`, and a chat completion whose last
//! customer message holds an image answers a description. A sample file from the fake
//! Graph API says or shows the text after its marker; any other file gets a fixed,
//! visibly simulated text.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine;
use serde_json::{json, Value};

use super::{api_error, OpenAiFake, MISSING};
use crate::sandbox::graph::media::{SIGHT_MARKER, SPEECH_MARKER};

/// The transcript of a file without a marker.
pub(super) const DEFAULT_TRANSCRIPT: &str = "[simulated transcript of a voice note]";
/// The description of an image without a marker.
pub(super) const DEFAULT_SIGHT: &str = "[simulated description of a photo]";

/// `POST /v1/audio/transcriptions`.
pub(super) async fn transcriptions(
    State(fake): State<OpenAiFake>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.lock().received.push(body.clone());
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if authorization.strip_prefix("Bearer ").is_none_or(|token| token.trim().is_empty()) {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "Missing bearer token",
            "invalid_request_error",
            "invalid_api_key",
        );
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let has = |field: &str| find(&body, format!("name=\"{field}\"").as_bytes()).is_some();
    if !is_form || !has("file") || !has("model") {
        let message = "Missing required parameter: 'file' or 'model'.";
        return api_error(StatusCode::BAD_REQUEST, message, "invalid_request_error", MISSING);
    }
    {
        let mut inner = fake.lock();
        inner.transcriptions += 1;
        if let Some(fault) = inner.faults.pop_front() {
            tracing::info!(?fault, "sandbox openai: injected transcription failure");
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response();
        }
    }
    let text = after_marker(&body, SPEECH_MARKER).unwrap_or_else(|| DEFAULT_TRANSCRIPT.to_owned());
    Json(json!({ "text": text, "usage": { "type": "duration", "seconds": 4 } })).into_response()
}

/// The description of the image in the last user message of a chat request, if it has one.
pub(super) fn description(request: &Value) -> Option<String> {
    let messages = request["messages"].as_array()?;
    let last = messages.iter().rev().find(|m| m["role"] == "user")?;
    let url = last["content"].as_array()?.iter().find_map(|p| p.pointer("/image_url/url")?.as_str())?;
    // An image sent inline, as Mujibak sends a customer's photo to be described.
    let (_, data) = url.strip_prefix("data:")?.split_once(";base64,")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_default();
    Some(after_marker(&bytes, SIGHT_MARKER).unwrap_or_else(|| DEFAULT_SIGHT.to_owned()))
}

/// The UTF-8 text after `marker` in `bytes`, up to a multipart boundary or the end.
fn after_marker(bytes: &[u8], marker: &str) -> Option<String> {
    let start = find(bytes, marker.as_bytes())? + marker.len();
    let rest = &bytes[start..];
    let end = find(rest, b"\r\n--").unwrap_or(rest.len());
    Some(String::from_utf8_lossy(&rest[..end]).trim().to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
