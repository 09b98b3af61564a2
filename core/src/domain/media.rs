//! Customer media: which files are downloaded and kept (the types Meta accepts, up to
//! `MEDIA_MAX_MB`), how a file's bytes are checked against the type it claims, why one
//! could not be kept, and how long a reply waits for a voice note's transcript or an
//! image's description before answering without it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::message::Message;

/// Message kinds that carry a file.
pub const KINDS: [&str; 5] = ["audio", "image", "video", "document", "sticker"];

/// How long a reply waits for the media of its turn: the download job retries within
/// this; a job that died is not waited for forever.
pub const WAIT: Duration = Duration::from_secs(300);

/// Whether messages of `kind` carry a file.
pub fn is_media(kind: &str) -> bool {
    KINDS.contains(&kind)
}

/// `audio/ogg; codecs=opus` → `audio/ogg`.
pub fn essence(mime: &str) -> String {
    mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether Meta accepts (and so we keep) a file of type `mime` as a `kind` message.
pub fn accepted(kind: &str, mime: &str) -> bool {
    let mime = essence(mime);
    let types: &[&str] = match kind {
        "audio" => &["audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"],
        "image" => &["image/jpeg", "image/png"],
        "sticker" => &["image/webp"],
        "video" => &["video/mp4", "video/3gpp"],
        "document" => &[
            "application/pdf",
            "text/plain",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ],
        _ => &[],
    };
    types.contains(&mime.as_str())
}

/// Whether `bytes` begin the way a file of type `mime` does (its magic number), for the
/// types that have one; a file that claims to be a picture and is not is refused.
pub fn looks_like(mime: &str, bytes: &[u8]) -> bool {
    let at = |from: usize, sig: &[u8]| bytes.get(from..from + sig.len()) == Some(sig);
    match essence(mime).as_str() {
        "audio/ogg" => at(0, b"OggS"),
        "image/png" => at(0, b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => at(0, &[0xFF, 0xD8, 0xFF]),
        "image/webp" => at(0, b"RIFF") && at(8, b"WEBP"),
        "audio/amr" => at(0, b"#!AMR"),
        "application/pdf" => at(0, b"%PDF-"),
        "audio/mp4" | "video/mp4" | "video/3gpp" => at(4, b"ftyp"),
        "audio/mpeg" => at(0, b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0),
        "audio/aac" => bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0,
        _ => !bytes.is_empty(),
    }
}

/// The file extension for `mime` (for the transcription upload and the export).
pub fn extension(mime: &str) -> &'static str {
    match essence(mime).as_str() {
        "audio/ogg" => "ogg",
        "audio/amr" => "amr",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// Whether a file of the customer's latest turn is still being fetched and understood:
/// the reply waits for it (`fetch_media` asks again when it is done), up to [`WAIT`].
pub fn waiting_for_media(history: &[Message], now: DateTime<Utc>) -> bool {
    let wait = chrono::Duration::from_std(WAIT).unwrap_or(chrono::Duration::MAX);
    super::reply::latest_turn_messages(history)
        .any(|m| m.media_status.as_deref() == Some("pending") && now - m.received_at < wait)
}

/// Why a file was not kept or not understood; stored on its row and shown in the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Larger than `MEDIA_MAX_MB`.
    TooLarge,
    /// A type Meta does not send as this kind (or we do not keep).
    Unsupported,
    /// The bytes are not what their type says.
    Mismatch,
    /// Meta kept failing (or no longer has it) after every retry.
    Download,
    /// Kept, but the transcription or description kept failing.
    Understanding,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::TooLarge => "too_large",
            Failure::Unsupported => "unsupported",
            Failure::Mismatch => "mismatch",
            Failure::Download => "download_failed",
            Failure::Understanding => "not_understood",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_types_meta_sends_are_kept() {
        assert!(accepted("audio", "audio/ogg; codecs=opus"));
        assert!(accepted("image", "IMAGE/JPEG"));
        assert!(!accepted("image", "image/svg+xml"), "an SVG can carry script");
        assert!(!accepted("audio", "image/png"), "a kind keeps its own types");
        assert!(!accepted("text", "text/plain"));
    }

    fn message(direction: &str, media: Option<&str>, received_at: DateTime<Utc>) -> Message {
        use crate::domain::message::{Author, MessageStatus};
        let inbound = direction == "in";
        Message {
            message_id: crate::domain::MessageId::new(),
            conversation_id: crate::domain::ConversationId(uuid::Uuid::nil()),
            seq: received_at.timestamp_micros(),
            direction: direction.parse().unwrap(),
            author: if inbound { Author::Customer } else { Author::Bot },
            wamid: None,
            kind: if media.is_some() { "audio" } else { "text" }.into(),
            body: Some("hi".into()),
            details: None,
            status: if inbound { MessageStatus::Received } else { MessageStatus::Sent },
            error: None,
            reply_to: None,
            created_at: received_at,
            received_at,
            resent_at: None,
            delivery_note: None,
            edited_at: None,
            deleted_at: None,
            sent_from: None,
            author_user_id: None,
            author_name: None,
            media_status: media.map(str::to_owned),
            media_text: None,
            media_failure: None,
        }
    }

    #[test]
    fn a_reply_waits_for_a_pending_file_of_its_turn_and_for_five_minutes_at_most() {
        let now = Utc::now();
        let ago = |s: i64| now - chrono::Duration::seconds(s);
        let turn =
            |file: &str, at: i64| vec![message("in", Some(file), ago(at)), message("in", None, ago(at - 1))];
        assert!(waiting_for_media(&turn("pending", 10), now));
        assert!(!waiting_for_media(&turn("ready", 10), now), "understood: answer");
        assert!(!waiting_for_media(&turn("failed", 10), now), "given up: answer");
        assert!(!waiting_for_media(&turn("pending", 301), now), "its job died: do not wait forever");
        let answered = vec![message("in", Some("pending"), ago(30)), message("out", None, ago(20))];
        assert!(!waiting_for_media(&answered, now), "an earlier turn's file holds nothing back");
    }

    #[test]
    fn bytes_must_match_the_type_they_claim() {
        assert!(looks_like("audio/ogg; codecs=opus", b"OggS\0\x02rest"));
        assert!(!looks_like("audio/ogg", b"<html>not audio</html>"));
        assert!(looks_like("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(!looks_like("image/jpeg", b"\x89PNG\r\n\x1a\n"));
        assert!(looks_like("image/webp", b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(looks_like("audio/mp4", b"\0\0\0\x20ftypM4A "));
        assert!(!looks_like("text/plain", b""));
        assert_eq!(extension("audio/ogg; codecs=opus"), "ogg");
    }
}
