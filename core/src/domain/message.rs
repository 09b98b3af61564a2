//! One message of a conversation, either direction, as the domain reads it ([`Message`]):
//! stored and read by `db::messages`, whose module doc says how its status moves.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// A message, with its file's state when read for a thread.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Message {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub direction: String,
    pub author: String,
    pub wamid: Option<String>,
    pub kind: String,
    pub body: Option<String>,
    pub details: Option<Json<Value>>,
    pub status: String,
    pub error: Option<String>,
    pub reply_to: Option<Uuid>,
    /// Meta's timestamp for an inbound message (whole seconds, as old as Meta's retries
    /// make it); when we stored it for the others.
    pub created_at: DateTime<Utc>,
    /// When the message reached us, on our clock: what arrived after a reply is a new turn.
    pub received_at: DateTime<Utc>,
    pub resent_at: Option<DateTime<Utc>>,
    /// How an interrupted send ended: confirmed_late | resent | unconfirmed | sent_twice.
    pub delivery_note: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// `business_app` for a human reply sent from the WhatsApp Business app.
    pub sent_from: Option<String>,
    /// The team member who wrote a human reply here.
    pub author_user_id: Option<Uuid>,
    /// Their name (read by `db::messages::recent` only; `None` once they left the team).
    #[sqlx(default)]
    pub author_name: Option<String>,
    /// A media message's file (read by `db::messages::recent` only): pending | ready | failed …
    #[sqlx(default)]
    pub media_status: Option<String>,
    /// … what the AI understood of it (a transcript, a description) …
    #[sqlx(default)]
    pub media_text: Option<String>,
    /// … and why it could not be kept or understood (`domain::media::Failure`).
    #[sqlx(default)]
    pub media_failure: Option<String>,
}
