//! What the business side reports: a message the owner sent from the WhatsApp Business
//! app (an echo: a human reply like one typed in the inbox, so the bot pauses in that
//! conversation; its edits and deletions follow), an account update (the connection's
//! status follows the ones that stop or restore the number) and a customer's marketing
//! preference (kept on the contact, to be honoured by template sends).

use sqlx::PgConnection;

use super::{changes, customer, Effects, Side};
use crate::{
    db::{connections, contacts, conversations, messages},
    domain::{
        whatsapp::{
            account_effect, content, event_time, fields::stored_kind, AccountEffect, AccountUpdate,
            InboundMessage, PreferenceUpdate,
        },
        ConnectionId, TenantId,
    },
};

/// A message the business sent from the WhatsApp Business app, or its edit or deletion.
pub async fn echo(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    m: &InboundMessage,
) -> Result<Effects, sqlx::Error> {
    if m.wa_id.is_none() && m.bsuid.is_none() {
        return Ok(Effects::note("echo without a recipient"));
    }
    let party = customer::party(conn, tenant, connection_id, m).await?;
    let effects = match m.kind.as_str() {
        "edit" => changes::edit(conn, tenant, party, m, Side::Business).await?,
        "revoke" => changes::revoke(conn, tenant, party, m, Side::Business).await?,
        kind => {
            let (body, details, _) = content(m);
            let echo = messages::Arrived {
                conversation_id: party.conversation_id,
                wamid: &m.wamid,
                kind: stored_kind(kind),
                body: body.as_deref(),
                details: details.as_ref(),
                at: event_time(m.timestamp, chrono::Utc::now()),
                error: None,
                edited: false,
                deleted: false,
            };
            if changes::store_echo(conn, tenant, &echo).await?.is_some() {
                conversations::answered(conn, tenant, party.conversation_id).await?;
            }
            Effects::default()
        }
    };
    // The owner is answering from the phone: the bot steps aside, as for an inbox reply.
    conversations::set_paused(conn, tenant, party.conversation_id, true).await?;
    Ok(effects)
}

/// An account update of the connection's WhatsApp Business Account.
pub async fn account(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    a: &AccountUpdate,
) -> Result<Effects, sqlx::Error> {
    match account_effect(&a.update, &a.raw) {
        AccountEffect::Stop { status, detail } => {
            let changed = connections::set_status(conn, tenant, connection_id, status, Some(&detail)).await?;
            Ok(Effects { stopped: changed.then_some(status), ..Effects::default() })
        }
        AccountEffect::Restore { from } => {
            let restored = connections::restore(conn, tenant, connection_id, from).await?;
            Ok(if restored { Effects::default() } else { Effects::note("nothing to restore") })
        }
        AccountEffect::Inform => Ok(Effects::note("informational; recorded")),
    }
}

/// A customer's marketing preference (`stop` / `resume`), kept on their contact (created
/// if the customer never wrote: the opt-out must be honoured all the same).
pub async fn preference(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    p: &PreferenceUpdate,
) -> Result<Effects, sqlx::Error> {
    let stop = match (p.category.as_str(), p.value.as_str()) {
        ("marketing_messages", "stop") => true,
        ("marketing_messages", "resume") => false,
        _ => return Ok(Effects::note("a preference Mujibak does not act on; recorded")),
    };
    if p.wa_id.is_none() && p.bsuid.is_none() {
        return Ok(Effects::note("preference without a customer id"));
    }
    let key = contacts::ContactKey {
        connection_id,
        wa_id: p.wa_id.as_deref(),
        bsuid: p.bsuid.as_deref(),
        name: None,
        username: None,
    };
    let contact = contacts::upsert(conn, tenant, &key).await?;
    let at = event_time(p.timestamp, chrono::Utc::now());
    if !contacts::set_marketing(conn, tenant, contact, stop, at).await? {
        return Ok(Effects::note("an older preference than the one recorded"));
    }
    Ok(Effects::default())
}
