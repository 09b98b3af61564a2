//! Edits and deletions of a message, by the customer (`messages`) or by the business from
//! the WhatsApp Business app (`smb_message_echoes`). An edit replaces the message's content
//! (marked edited); a deletion removes it from the message and from every webhook payload
//! that carried it (the message, its echo, its edits). Either may arrive before the message
//! it names: then that message is stored from the edit, or as deleted, so the original,
//! when it comes, is recognised and not stored again.

use serde_json::Value;
use sqlx::PgConnection;

use super::{
    customer::{store, Stored},
    Effects, Party, Side,
};
use crate::{
    db::{inbound_events, messages},
    delivery,
    domain::{
        whatsapp::{content_of, event_time, fields::stored_kind, wants_reply, InboundMessage},
        MessageId, TenantId,
    },
};

fn target(m: &InboundMessage, kind: &str) -> Option<String> {
    m.raw.pointer(&format!("/{kind}/original_message_id")).and_then(Value::as_str).map(str::to_owned)
}

/// Stores an echo (unless its wamid is known) and applies the statuses parked for it.
pub(super) async fn store_echo(
    conn: &mut PgConnection,
    tenant: TenantId,
    echo: &messages::Arrived<'_>,
) -> Result<Option<MessageId>, sqlx::Error> {
    let id = messages::insert_echo(conn, tenant, echo).await?;
    if id.is_some() {
        delivery::apply_parked(conn, tenant, echo.wamid).await?;
    }
    Ok(id)
}

/// An edit: the message it names takes the new content.
pub(super) async fn edit(
    conn: &mut PgConnection,
    tenant: TenantId,
    party: Party,
    m: &InboundMessage,
    side: Side,
) -> Result<Effects, sqlx::Error> {
    let Some(original) = target(m, "edit") else { return Ok(Effects::note("edit without the id it edits")) };
    let new = m.raw.pointer("/edit/message").cloned().unwrap_or(Value::Null);
    let kind = stored_kind(new.get("type").and_then(Value::as_str).unwrap_or("text")).to_owned();
    let (body, details, error) = content_of(&kind, &new);
    let dir = side.direction();
    if messages::edit(conn, tenant, dir, &original, body.as_deref(), details.as_ref()).await?.is_some() {
        return Ok(Effects::default());
    }
    if messages::wamid_known(conn, tenant, &original).await? {
        return Ok(Effects::note("edit of a deleted message: it stays deleted"));
    }
    let first = Stored {
        wamid: &original,
        kind: &kind,
        wants_reply: wants_reply(&kind, &new),
        body,
        details,
        error,
        edited: true,
        deleted: false,
        from_customer: true,
    };
    arrived_first(conn, tenant, party, m, side, &first).await
}

/// A deletion: the message it names loses its content, and so do the payloads we kept.
pub(super) async fn revoke(
    conn: &mut PgConnection,
    tenant: TenantId,
    party: Party,
    m: &InboundMessage,
    side: Side,
) -> Result<Effects, sqlx::Error> {
    let Some(original) = target(m, "revoke") else {
        return Ok(Effects::note("deletion without the id it deletes"));
    };
    inbound_events::scrub(conn, tenant, &original).await?;
    let dir = side.direction();
    if messages::delete_content(conn, tenant, dir, &original).await?.is_some() {
        return Ok(Effects::default());
    }
    if messages::wamid_known(conn, tenant, &original).await? {
        return Ok(Effects::note("deletion of a message of the other side: not applied"));
    }
    let first = Stored {
        wamid: &original,
        kind: "text",
        body: None,
        details: None,
        error: None,
        edited: false,
        deleted: true,
        wants_reply: false,
        from_customer: true,
    };
    arrived_first(conn, tenant, party, m, side, &first).await?;
    Ok(Effects::default())
}

/// The edit or deletion came before the message it names: that message is stored from it
/// (edited, or deleted without content), so the original, when it comes, is recognised and
/// not stored again. A customer's message is stored as one; the business's as an echo, then
/// edited or emptied like a known one.
async fn arrived_first(
    conn: &mut PgConnection,
    tenant: TenantId,
    party: Party,
    m: &InboundMessage,
    side: Side,
    first: &Stored<'_>,
) -> Result<Effects, sqlx::Error> {
    match side {
        Side::Customer => Ok(store(conn, tenant, party, m.timestamp, first).await?.0),
        Side::Business => {
            let echo = messages::Arrived {
                conversation_id: party.conversation_id,
                wamid: first.wamid,
                kind: first.kind,
                body: first.body.as_deref(),
                details: first.details.as_ref(),
                at: event_time(m.timestamp, chrono::Utc::now()),
                error: None,
                edited: false,
                deleted: false,
            };
            store_echo(conn, tenant, &echo).await?;
            let dir = side.direction();
            if first.deleted {
                messages::delete_content(conn, tenant, dir, first.wamid).await?;
            } else {
                messages::edit(conn, tenant, dir, first.wamid, first.body.as_deref(), first.details.as_ref())
                    .await?;
            }
            Ok(Effects::default())
        }
    }
}
