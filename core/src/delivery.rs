//! What Meta's answers and statuses do to our outbound messages, in one place for the
//! webhook job and the send jobs: a status carrying our callback data (our message id)
//! settles its message even when the send's own answer was lost; a status moves a message
//! only forward; a status for a message we do not know is parked, and applied the moment a
//! message gets that wamid (parking and taking are serialised per wamid). All on the
//! caller's transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    db::{
        conversations,
        messages::{self, sending, sent},
        parked_statuses,
    },
    domain::{message::MessageStatus, whatsapp::StatusUpdate, MessageId, TenantId},
};

/// What a status did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It moved its message forward.
    Moved,
    /// Its message is known and already as far (a redelivery, or statuses out of order).
    Unchanged,
    /// No message has this wamid yet: parked until one does.
    Parked,
    /// It reports an earlier send of a message that was sent again: the customer may have
    /// it twice (noted on the message).
    EarlierSend,
}

impl Applied {
    /// What the event's row notes about it (`None` when it simply applied).
    pub fn note(self) -> Option<&'static str> {
        match self {
            Applied::Moved | Applied::Unchanged => None,
            Applied::Parked => Some("parked: no message has this id yet"),
            Applied::EarlierSend => Some("status of an earlier send of a message that was sent again"),
        }
    }
}

/// Applies status event `event_id` of `tenant`.
pub async fn apply_status(
    conn: &mut PgConnection,
    tenant: TenantId,
    event_id: Uuid,
    s: &StatusUpdate,
) -> Result<Applied, sqlx::Error> {
    // The common case, a status for a message whose Meta id is stored, needs neither the
    // callback's row lock nor the parking lock: parking happens only when nothing moved.
    let first = forward(conn, tenant, s).await?;
    if first.moved.is_some() {
        return Ok(Applied::Moved);
    }
    let ours = s.callback.as_deref().and_then(|c| c.parse::<MessageId>().ok());
    if first.known.is_some_and(|known| ours.is_none_or(|ours| ours == known)) {
        // Its message has this wamid and is already as far: what the careful path below
        // would find after its locks.
        return Ok(Applied::Unchanged);
    }
    if let Some(id) = ours {
        if let Some(msg) = sending::lock_outbound(conn, tenant, id).await? {
            match msg.wamid.as_deref() {
                None => {
                    let note = match (msg.status, msg.resent_at) {
                        (MessageStatus::Uncertain, _) => Some("confirmed_late"),
                        (_, Some(_)) => Some("resent"),
                        _ => None,
                    };
                    sent(conn, tenant, id, &s.wamid, note).await?;
                }
                Some(known) if known != s.wamid => {
                    if matches!(s.status.as_str(), "sent" | "delivered" | "read") {
                        sending::set_note(conn, tenant, id, "sent_twice", false).await?;
                    }
                    return Ok(Applied::EarlierSend);
                }
                Some(_) => {}
            }
        }
    }
    parked_statuses::lock_wamid(conn, tenant, &s.wamid).await?;
    if forward(conn, tenant, s).await?.moved.is_some() {
        return Ok(Applied::Moved);
    }
    if messages::wamid_known(conn, tenant, &s.wamid).await? {
        return Ok(Applied::Unchanged);
    }
    parked_statuses::park(conn, tenant, event_id, s).await?;
    Ok(Applied::Parked)
}

/// Meta's id for message `id` is known (the send's answer, or a status carrying our
/// callback data): records it with `note`, applies the statuses parked for it, and counts
/// the send (and, for a reply the model wrote, the month's AI replies) as the record's last
/// write (`db::messages::sent`). `None` if the message already had an id (nothing done).
pub async fn sent(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: MessageId,
    wamid: &str,
    note: Option<&str>,
) -> Result<Option<sent::Recorded>, sqlx::Error> {
    let Some(recorded) = sent::record(conn, tenant, id, wamid, note).await? else {
        return Ok(None);
    };
    // Rarely any: a status Meta sent before the send's answer was stored.
    for parked in sent::count_and_take_parked(conn, tenant, wamid, recorded.generated).await? {
        forward(conn, tenant, &parked).await?;
    }
    Ok(Some(recorded))
}

/// A message with `wamid` was just stored (a send's answer, or an echo from the WhatsApp
/// Business app): applies the statuses parked for it.
pub async fn apply_parked(conn: &mut PgConnection, tenant: TenantId, wamid: &str) -> Result<(), sqlx::Error> {
    parked_statuses::lock_wamid(conn, tenant, wamid).await?;
    for parked in parked_statuses::take(conn, tenant, wamid).await? {
        forward(conn, tenant, &parked).await?;
    }
    Ok(())
}

/// Moves the message with the status' wamid forward; a failure because the 24-hour window
/// had closed tells the inbox. What moved, and which message has the wamid.
async fn forward(
    conn: &mut PgConnection,
    tenant: TenantId,
    s: &StatusUpdate,
) -> Result<sending::Forwarded, sqlx::Error> {
    // Meta's statuses that move a message (sent, delivered, read, failed); any other is
    // recorded, not applied.
    let Some(status) = s.status.parse().ok().filter(|s| MessageStatus::FORWARD.contains(s)) else {
        return Ok(sending::Forwarded { moved: None, known: None });
    };
    let error = s.errors.first().map(|(code, title)| format!("{code}: {title}"));
    let forwarded = sending::apply_status(conn, tenant, &s.wamid, status, error.as_deref()).await?;
    if let Some(conversation) = forwarded.moved {
        if status == MessageStatus::Failed && s.errors.iter().any(|(code, _)| *code == 131047) {
            conversations::set_notice(conn, tenant, conversation, "window_closed", true).await?;
        }
    }
    Ok(forwarded)
}
