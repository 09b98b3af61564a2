//! The fake's media, as Meta serves a customer's files: `GET /{media-id}` (with the
//! receiving number's token) answers `{url, mime_type, sha256, file_size, id}` and the
//! short-lived URL (`GET /_media/{id}`, same token) answers the bytes with their type.
//! Files are added by a test or the customer simulator (`POST /_sandbox/graph/media`);
//! downloads fail on demand (Meta's 5xx, an expired URL). The sample voice note and image
//! carry what they "say" or "show" after a marker, which the fake OpenAI's transcription
//! and vision read back, so the pipeline is testable end to end without real audio.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{wire::*, GraphFake};

/// What a sample voice note says follows this marker in its bytes.
pub const SPEECH_MARKER: &str = "SANDBOX-SPEECH:";
/// What a sample image shows follows this marker in its bytes.
pub const SIGHT_MARKER: &str = "SANDBOX-SHOWS:";

/// A customer's file held by the fake.
pub(super) struct FakeMedia {
    phone_number_id: String,
    mime_type: String,
    bytes: Vec<u8>,
}

/// A failure of the next media downloads (see [`GraphFake::fail_media`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFault {
    /// The download URL answers HTTP 500.
    ServerError,
    /// The download URL answers HTTP 404, as an expired URL does.
    Expired,
}

/// A voice note (an Ogg file) that "says" `text`.
pub fn sample_voice_note(text: &str) -> Vec<u8> {
    [b"OggS\0\x02".as_slice(), &[0; 20], SPEECH_MARKER.as_bytes(), text.as_bytes()].concat()
}

/// A photo (a PNG file) that "shows" `text`.
pub fn sample_image(text: &str) -> Vec<u8> {
    [b"\x89PNG\r\n\x1a\n".as_slice(), &[0; 16], SIGHT_MARKER.as_bytes(), text.as_bytes()].concat()
}

impl GraphFake {
    /// Holds a file a customer of `phone_number_id` sent; its media id.
    pub fn add_media(&self, phone_number_id: &str, mime_type: &str, bytes: Vec<u8>) -> String {
        let id = format!("{}", uuid::Uuid::new_v4().as_u128() % 10u128.pow(16));
        let file =
            FakeMedia { phone_number_id: phone_number_id.to_owned(), mime_type: mime_type.to_owned(), bytes };
        self.lock().media.insert(id.clone(), file);
        id
    }

    /// Makes the next `times` media downloads fail with `fault`.
    pub fn fail_media(&self, fault: MediaFault, times: usize) {
        self.lock().media_faults.extend(std::iter::repeat_n(fault, times));
    }

    /// Waits this long before answering each download of a file's bytes.
    pub fn set_media_latency(&self, latency: std::time::Duration) {
        self.lock().media_latency = latency;
    }

    /// Download attempts of the file's bytes so far (failed ones included).
    pub fn media_downloads(&self) -> usize {
        self.lock().media_downloads
    }

    /// The token of the number a file was sent to, if `id` is a file.
    fn media_token(&self, id: &str) -> Option<String> {
        let inner = self.lock();
        let file = inner.media.get(id)?;
        Some(inner.numbers.get(&file.phone_number_id).map(|n| n.token.clone()).unwrap_or_default())
    }
}

fn bearer(headers: &HeaderMap) -> &str {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    authorization.strip_prefix("Bearer ").unwrap_or("")
}

/// `GET /{version}/{media-id}` for a file (`None`: `id` is not one).
pub(super) fn info(fake: &GraphFake, id: &str, headers: &HeaderMap) -> Option<Response> {
    let token = fake.media_token(id)?;
    if bearer(headers) != token {
        return Some(invalid_token());
    }
    let inner = fake.lock();
    let file = inner.media.get(id)?;
    let sha256 = hex(&Sha256::digest(&file.bytes));
    Some(
        Json(json!({ "messaging_product": "whatsapp", "url": format!("{}/_media/{id}", fake.base_url()),
            "mime_type": file.mime_type, "sha256": sha256, "file_size": file.bytes.len().to_string(), "id": id }))
        .into_response(),
    )
}

/// `GET /_media/{id}`: the file's bytes, with the receiving number's token.
pub(super) async fn download(
    State(fake): State<GraphFake>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    fake.delay().await;
    let (fault, latency) = {
        let mut inner = fake.lock();
        inner.media_downloads += 1;
        (inner.media_faults.pop_front(), inner.media_latency)
    };
    tokio::time::sleep(latency).await;
    match fault {
        Some(MediaFault::ServerError) => return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response(),
        Some(MediaFault::Expired) => return (StatusCode::NOT_FOUND, "").into_response(),
        None => {}
    }
    match fake.media_token(&id) {
        Some(token) if bearer(&headers) == token => {}
        Some(_) => return StatusCode::UNAUTHORIZED.into_response(),
        None => return StatusCode::NOT_FOUND.into_response(),
    }
    let inner = fake.lock();
    let Some(file) = inner.media.get(&id) else { return StatusCode::NOT_FOUND.into_response() };
    ([(header::CONTENT_TYPE, file.mime_type.clone())], file.bytes.clone()).into_response()
}

/// `POST /_sandbox/graph/media` `{"phone_number_id","mime_type","data": base64}` → `{"id"}`;
/// or `{"phone_number_id","voice_note": text}` / `{"phone_number_id","image": text}` for a
/// sample file that says or shows `text`.
pub(super) async fn add(State(fake): State<GraphFake>, Json(file): Json<Value>) -> Response {
    let Some(number) = file["phone_number_id"].as_str() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (mime, bytes) = if let Some(text) = file["voice_note"].as_str() {
        ("audio/ogg; codecs=opus".to_owned(), sample_voice_note(text))
    } else if let Some(text) = file["image"].as_str() {
        ("image/png".to_owned(), sample_image(text))
    } else {
        let data =
            file["data"].as_str().and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok());
        match (file["mime_type"].as_str(), data) {
            (Some(mime), Some(bytes)) => (mime.to_owned(), bytes),
            _ => return StatusCode::BAD_REQUEST.into_response(),
        }
    };
    Json(json!({ "id": fake.add_media(number, &mime, bytes), "mime_type": mime })).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
