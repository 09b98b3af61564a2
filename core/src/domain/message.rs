//! One message of a conversation, either direction, as the domain reads it ([`Message`]):
//! stored and read by `db::messages`, whose module doc says how its status moves. Its
//! direction, author and status are enums here, each spelled once ([`stored_text!`]).

use crate::domain::{stored::stored_text, ConversationId, MessageId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

stored_text!(
    /// Which way a message went.
    Direction {
        /// From the customer.
        In = "in",
        /// To the customer (the bot, the team, or the business's own WhatsApp app).
        Out = "out",
    }
);

stored_text!(
    /// Who wrote a message.
    Author {
        Customer = "customer",
        /// The model.
        Bot = "bot",
        /// A team member, in the inbox or in the WhatsApp Business app.
        Human = "human",
        /// A notice of WhatsApp's (a customer's number changed).
        System = "system",
    }
);

stored_text!(
    /// Where a message is. An inbound one is `Received`; an outbound one only moves
    /// forward through [`MessageStatus::FORWARD`], or ends `Skipped` (not sent).
    MessageStatus {
        Received = "received",
        Queued = "queued",
        Sending = "sending",
        /// Its send may or may not have reached Meta.
        Uncertain = "uncertain",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Failed = "failed",
        Skipped = "skipped",
    }
);

impl MessageStatus {
    /// The order an outbound message's status moves in (`Failed` ends any of them).
    pub const FORWARD: [MessageStatus; 7] = [
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Uncertain,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Failed,
    ];

    /// It will not be sent, or was not (a failure or a skip).
    pub fn ended_unsent(self) -> bool {
        matches!(self, MessageStatus::Failed | MessageStatus::Skipped)
    }
}

/// A message, with its file's state when read for a thread.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Message {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// Its place in the conversation: the order messages reached us, which is the order
    /// the thread shows and the model reads (Meta's whole-second `created_at` can tie or
    /// run backwards).
    pub seq: i64,
    pub direction: Direction,
    pub author: Author,
    pub wamid: Option<String>,
    pub kind: String,
    pub body: Option<String>,
    pub details: Option<Json<Value>>,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub reply_to: Option<MessageId>,
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
