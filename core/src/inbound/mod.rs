//! What each processed webhook event does, on the caller's transaction (the
//! `handle_inbound` job opens one per event and enqueues what the returned [`Effects`]
//! ask for): a customer's message is stored and may ask for a reply; an edit or deletion
//! changes the message it names; a customer opening the chat gets the business's welcome
//! once; an identity change moves the contact; an echo from the WhatsApp Business app is a
//! human reply that pauses the bot; an account update moves the connection's status; a
//! marketing preference is kept on the contact.

mod business;
mod changes;
mod customer;

use chrono::{DateTime, Utc};

pub use business::{account, echo, preference};

use crate::domain::{
    message::Direction,
    whatsapp::{identity_change, InboundMessage},
    ConnectionId, ContactId, ConversationId, MessageId, TenantId,
};

/// What the caller does after the event's transaction work (in the same transaction).
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// Ask for a reply in this conversation, requested at this time (debounced).
    pub reply: Option<(ConversationId, DateTime<Utc>)>,
    /// Send this queued outbound message (the business's welcome).
    pub send: Option<MessageId>,
    /// Download (and transcribe or describe) the file of this new media message.
    pub media: Option<MessageId>,
    /// The connection stopped with this status: email its owners.
    pub stopped: Option<&'static str>,
    /// Kept on the event's row: why it did nothing, or what it was.
    pub note: Option<String>,
    /// Messages the customer wrote that were stored: the caller counts them in the day's
    /// usage as the last write of its transaction (`db::usage::count_inbound`).
    pub counted: i32,
}

impl Effects {
    fn note(why: &str) -> Self {
        Self { note: Some(why.to_owned()), ..Self::default() }
    }
}

/// Which side wrote a message: the customer (`in`) or the business (`out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Customer,
    Business,
}

impl Side {
    fn direction(self) -> Direction {
        match self {
            Side::Customer => Direction::In,
            Side::Business => Direction::Out,
        }
    }
}

/// The customer a message is with: their contact and conversation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Party {
    pub contact_id: ContactId,
    pub conversation_id: ConversationId,
}

/// A customer's message of any type, from `connection_id`.
pub async fn message(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    m: &InboundMessage,
) -> Result<Effects, sqlx::Error> {
    if let Some(change) = identity_change(m) {
        return customer::identity(conn, tenant, connection_id, m, &change).await;
    }
    if m.wa_id.is_none() && m.bsuid.is_none() {
        return Ok(Effects::note("message without a sender id"));
    }
    let party = customer::party(conn, tenant, connection_id, m).await?;
    match m.kind.as_str() {
        "edit" => changes::edit(conn, tenant, party, m, Side::Customer).await,
        "revoke" => changes::revoke(conn, tenant, party, m, Side::Customer).await,
        _ => customer::new_message(conn, tenant, connection_id, party, m).await,
    }
}
