//! What the thread page shows of one conversation: its messages and the team's internal
//! notes in one timeline, the 24-hour window, who it is assigned to and who it could be,
//! the contact panel (with the customer's past conversations) and the saved answers.
//! Loading it marks the conversation read. The live refresh re-reads only the timeline
//! part ([`load_part`]), not the team, the panel or the saved answers.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use mujibak_core::{
    db::{contacts, conversations, inbox, messages, notes, past_conversations, quick_replies, users},
    domain::{contact, ConversationId, TenantId},
};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{error::WebError, extract::Page};
use crate::state::AppState;

/// The part of the thread page the live refresh re-renders (`inbox/_messages.html`).
#[derive(Serialize)]
pub(super) struct ThreadPart {
    conversation_id: ConversationId,
    contact_name: String,
    number: String,
    bot_paused: bool,
    /// The customer opted out of marketing messages.
    marketing_opt_out: bool,
    notice: Option<String>,
    window_open: bool,
    /// Time left in the 24-hour window, as hours and minutes (shown as a duration, never
    /// as a clock time).
    window_hours: i64,
    window_minutes: i64,
    /// The reconcile window, for the "sent again" note.
    reconcile_secs: u64,
    /// Messages and internal notes, oldest first.
    entries: Vec<Entry>,
    /// Who it is assigned to.
    assigned_to: Option<Uuid>,
}

/// The whole thread page.
#[derive(Serialize)]
pub(super) struct ThreadView {
    #[serde(flatten)]
    part: ThreadPart,
    /// Who it could be assigned to.
    team: Vec<Member>,
    /// The contact panel: the customer, their number as Saudis write it, labels (typed
    /// form), and this conversation's length.
    contact: contacts::Panel,
    number_display: String,
    labels_typed: String,
    /// The customer's earlier conversations (24-hour windows), newest first.
    past_conversations: Vec<Past>,
    /// The business's saved answers, offered under the reply box.
    quick_replies: Vec<quick_replies::QuickReply>,
}

/// A line of the thread.
#[derive(Serialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
enum Entry {
    Message(Box<messages::Message>),
    Note(notes::Note),
}

/// The thread: messages in the order they reached us (never re-sorted by Meta's
/// timestamp), each team note placed after the messages that arrived before it.
fn interleave(messages: Vec<messages::Message>, mut notes: Vec<notes::Note>) -> Vec<Entry> {
    notes.sort_by_key(|n| n.created_at);
    let mut notes = notes.into_iter().peekable();
    let mut out = Vec::with_capacity(messages.len() + notes.len());
    for m in messages {
        while let Some(n) = notes.next_if(|n| n.created_at < m.received_at) {
            out.push(Entry::Note(n));
        }
        out.push(Entry::Message(Box::new(m)));
    }
    out.extend(notes.map(Entry::Note));
    out
}

/// A past conversation, and whether its first message is on the page (a link to it).
#[derive(Serialize)]
struct Past {
    #[serde(flatten)]
    conversation: past_conversations::PastConversation,
    on_page: bool,
}

#[derive(Serialize)]
struct Member {
    user_id: Uuid,
    name: String,
}

/// The timeline part of `tenant`'s conversation `id`; marks it read.
pub(super) async fn load_part(
    state: &AppState,
    tenant: TenantId,
    id: ConversationId,
) -> Result<ThreadPart, WebError> {
    part(&mut *state.db.acquire().await?, state, tenant, id).await
}

/// The whole thread page of `tenant`'s conversation `id`; marks it read.
pub(super) async fn load(
    state: &AppState,
    tenant: TenantId,
    id: ConversationId,
) -> Result<ThreadView, WebError> {
    let mut conn = state.db.acquire().await?;
    let part = part(&mut conn, state, tenant, id).await?;
    let team = users::list(&mut conn, tenant)
        .await?
        .into_iter()
        .map(|u| Member { user_id: u.user_id.0, name: u.name })
        .collect();
    let contact = contacts::panel(&mut conn, tenant, id).await?.ok_or(WebError::NotFound)?;
    let quick_replies = quick_replies::list(&mut conn, tenant).await?;
    let past_conversations = past_conversations::list(&mut conn, tenant, id, 10)
        .await?
        .into_iter()
        .map(|c| Past {
            on_page: part
                .entries
                .iter()
                .any(|e| matches!(e, Entry::Message(m) if m.message_id == c.first_message_id)),
            conversation: c,
        })
        .collect();
    Ok(ThreadView {
        part,
        team,
        number_display: contact.wa_id.as_deref().map(contact::display_number).unwrap_or_default(),
        labels_typed: contact.labels.join(", "),
        contact,
        past_conversations,
        quick_replies,
    })
}

async fn part(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: TenantId,
    id: ConversationId,
) -> Result<ThreadPart, WebError> {
    let conv = conversations::get(&mut *conn, tenant, id).await?.ok_or(WebError::NotFound)?;
    let messages = messages::recent(&mut *conn, tenant, id, 200).await?;
    let entries = interleave(messages, notes::recent(&mut *conn, tenant, id, 100).await?);
    inbox::mark_read(&mut *conn, tenant, id).await?;
    let left = conv
        .last_inbound_at
        .map(|at| at + chrono::Duration::hours(24) - Utc::now())
        .filter(|d| *d > chrono::Duration::zero());
    Ok(ThreadPart {
        conversation_id: id,
        contact_name: conv.contact_name,
        number: conv.wa_id.or(conv.bsuid).unwrap_or_default(),
        bot_paused: conv.bot_paused,
        marketing_opt_out: conv.marketing_opt_out_at.is_some(),
        notice: conv.notice,
        window_open: left.is_some(),
        window_hours: left.map(|d| d.num_hours()).unwrap_or(0),
        window_minutes: left.map(|d| d.num_minutes() % 60).unwrap_or(0),
        reconcile_secs: state.config.whatsapp.reconcile_after.as_secs(),
        entries,
        assigned_to: conv.assigned_to,
    })
}

/// The thread page again, 422, saying which fields of the form could not be read.
pub(super) async fn refuse(
    state: &AppState,
    page: &Page,
    tenant: TenantId,
    id: ConversationId,
    refused: &[String],
) -> Result<Response, WebError> {
    let view = load(state, tenant, id).await?;
    page.refuse(refused);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page.render("inbox/thread.html", &view)?).into_response())
}
