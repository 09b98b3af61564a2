//! A customer's new message: stored (once per wamid), counted, the 24-hour window
//! reopened, a reply asked for when it has something to answer, its file (a voice note,
//! an image …) queued for download; the business's welcome
//! when the customer opens the chat for the first time; and a change of the customer's
//! number or business-scoped user id, which moves their contact and conversation.

use serde_json::Value;
use sqlx::PgConnection;

use super::{Effects, Party};
use crate::{
    db::{bot_settings, connections, contacts, conversations, media as db_media, messages},
    domain::{
        media,
        message::Author,
        whatsapp::{content, event_time, fields::stored_kind, wants_reply, IdentityChange, InboundMessage},
        ConnectionId, MessageId, TenantId,
    },
};

/// Finds or creates the customer's contact and conversation.
pub(super) async fn party(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    m: &InboundMessage,
) -> Result<Party, sqlx::Error> {
    let key = contacts::ContactKey {
        connection_id,
        wa_id: m.wa_id.as_deref(),
        bsuid: m.bsuid.as_deref(),
        name: m.name.as_deref(),
        username: m.username.as_deref(),
    };
    let (contact_id, conversation_id) = contacts::upsert_with_conversation(conn, tenant, &key).await?;
    Ok(Party { contact_id, conversation_id })
}

/// A message to store in a party's conversation.
pub(super) struct Stored<'a> {
    pub wamid: &'a str,
    pub kind: &'a str,
    pub body: Option<String>,
    pub details: Option<Value>,
    pub error: Option<String>,
    pub edited: bool,
    pub deleted: bool,
    pub wants_reply: bool,
    /// A message the customer wrote reopens the 24-hour window (a system notice does not).
    pub from_customer: bool,
}

/// Stores `s` unless its wamid is known; then counts it, reopens the window and asks for
/// a reply when it wants one. The new message's id, or `None` for a known wamid.
pub(super) async fn store(
    conn: &mut PgConnection,
    tenant: TenantId,
    party: Party,
    timestamp: i64,
    s: &Stored<'_>,
) -> Result<(Effects, Option<MessageId>), sqlx::Error> {
    let at = event_time(timestamp, chrono::Utc::now());
    let new = messages::Arrived {
        conversation_id: party.conversation_id,
        wamid: s.wamid,
        kind: s.kind,
        body: s.body.as_deref(),
        details: s.details.as_ref(),
        error: s.error.as_deref(),
        at,
        edited: s.edited,
        deleted: s.deleted,
    };
    let Some(stored) = messages::insert_inbound(conn, tenant, &new, s.from_customer, s.wants_reply).await?
    else {
        return Ok((Effects::default(), None)); // already stored from an earlier delivery
    };
    let id = stored.message_id;
    let reply = match stored.reply_requested_at {
        Some(requested_at) if s.wants_reply => Some((party.conversation_id, requested_at)),
        _ => None,
    };
    let counted = i32::from(s.from_customer);
    Ok((Effects { reply, counted, ..Effects::default() }, Some(id)))
}

/// A new message (any type but an edit or a deletion).
pub(super) async fn new_message(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    party: Party,
    m: &InboundMessage,
) -> Result<Effects, sqlx::Error> {
    let kind = stored_kind(&m.kind);
    let (body, details, error) = content(m);
    let stored = Stored {
        wamid: &m.wamid,
        kind,
        body,
        details,
        error,
        edited: false,
        deleted: false,
        wants_reply: wants_reply(kind, &m.raw),
        from_customer: kind != "system",
    };
    let (effects, id) = store(conn, tenant, party, m.timestamp, &stored).await?;
    match id {
        Some(id) if kind == "request_welcome" => {
            let welcomed = welcome(conn, tenant, connection_id, party, id).await?;
            Ok(Effects { counted: effects.counted, ..welcomed })
        }
        Some(id) if media::is_media(kind) && stored.error.is_none() => {
            let file = |k: &str| m.raw.pointer(&format!("/{kind}/{k}")).and_then(Value::as_str);
            let Some(media_id) = file("id") else { return Ok(effects) };
            db_media::insert_pending(conn, tenant, id, media_id, kind, file("mime_type")).await?;
            Ok(Effects { media: Some(id), ..effects })
        }
        _ => Ok(effects),
    }
}

/// The customer opened the chat (`request_welcome`): the business's welcome message, once
/// per customer, if the bot is on, a welcome is set and the connection is active.
async fn welcome(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    party: Party,
    opened: MessageId,
) -> Result<Effects, sqlx::Error> {
    let settings = bot_settings::get(conn, tenant).await?;
    let text = settings.welcome_message.trim();
    if !settings.enabled || text.is_empty() {
        return Ok(Effects::note("opened the chat; no welcome message is set"));
    }
    let active = connections::get(conn, tenant, connection_id).await?.is_some_and(|c| c.status == "active");
    if !active {
        return Ok(Effects::note("opened the chat; the connection is not active"));
    }
    if !contacts::mark_welcomed(conn, tenant, party.contact_id).await? {
        return Ok(Effects::note("opened the chat; welcomed before"));
    }
    let id = messages::insert_outbound(
        conn,
        tenant,
        party.conversation_id,
        Author::Bot,
        text,
        Some(opened),
        false,
    )
    .await?;
    conversations::answered(conn, tenant, party.conversation_id).await?;
    Ok(Effects { send: Some(id), ..Effects::default() })
}

/// The customer's number or BSUID changed: their contact takes the new identifiers (merged
/// with a contact the new ones already had), and the notice is kept in their thread.
pub(super) async fn identity(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    m: &InboundMessage,
    change: &IdentityChange,
) -> Result<Effects, sqlx::Error> {
    let ids = [&change.old_bsuid, &change.old_wa_id, &change.new_bsuid, &change.new_wa_id];
    let keys: Vec<&str> = ids.iter().filter_map(|id| id.as_deref()).collect();
    contacts::lock(conn, tenant, connection_id, &keys).await?;
    let (old_wa, old_bsuid) = (change.old_wa_id.as_deref(), change.old_bsuid.as_deref());
    let (new_wa, new_bsuid) = (change.new_wa_id.as_deref(), change.new_bsuid.as_deref());
    let old = contacts::find(conn, tenant, connection_id, old_wa, old_bsuid).await?;
    let new = contacts::find(conn, tenant, connection_id, new_wa, new_bsuid).await?;
    let contact_id = match (old, new) {
        (Some(old), Some(new)) if old != new => {
            contacts::merge(conn, tenant, old, new).await?;
            old
        }
        (Some(old), _) => old,
        (None, Some(new)) => new, // moved already (a redelivery, or the new id wrote first)
        (None, None) => return Ok(Effects::note("identity change of a customer we do not know")),
    };
    contacts::set_ids(conn, tenant, contact_id, new_wa, new_bsuid).await?;
    let conversation_id = conversations::upsert(conn, tenant, connection_id, contact_id).await?;
    let (body, _, error) = content(m);
    let stored = Stored {
        wamid: &m.wamid,
        kind: "system",
        body,
        details: None,
        error,
        edited: false,
        deleted: false,
        wants_reply: false,
        from_customer: false,
    };
    store(conn, tenant, Party { contact_id, conversation_id }, m.timestamp, &stored).await?;
    Ok(Effects::default())
}
