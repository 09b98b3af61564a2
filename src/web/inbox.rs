//! The inbox: conversations newest first (search by name, number or text; keyset pages),
//! a thread with delivery ticks and the 24-hour window, pausing the bot, and human
//! replies (which pause the bot and go out through `send_message`; refused once the 24-hour
//! window has closed, when only a template can reach the customer: `follow_up`). The thread shows what
//! webhooks changed: edited and deleted messages, a flow's answers, replies sent from the
//! WhatsApp Business app, a customer's marketing opt-out. Opening a thread marks its
//! customer messages read. The list and the open thread update themselves: /static/inbox.js
//! listens to `/inbox/events` (`web::live`) and re-reads `/inbox/rows` or
//! `/inbox/{id}/thread` when their conversation changes. A customer's voice note or image
//! plays or shows in the thread (`/inbox/{id}/media/{message}`), with its transcript or
//! description, or why it could not be kept.

use axum::http::header;
use axum::{
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use mujibak_core::db::{
    conversations,
    inbox::{self, Show},
    media, messages, quick_replies, users,
};
use mujibak_jobs::{enqueue, send_message::SendMessage};
use serde::{Deserialize, Serialize};

use super::{
    error::WebError,
    extract::{CurrentTenant, CurrentUser, Page, PathId},
    input::{Form, Query},
    routes::Routes,
    session::set_flash,
    thread_view::{load, load_part, refuse},
};
use crate::state::AppState;
use mujibak_core::domain::message::Author;
use mujibak_core::domain::{ConversationId, MessageId};

const PAGE_SIZE: i64 = 30;

pub fn routes() -> Routes {
    super::team_inbox::routes()
        .merge(super::customer_data::routes())
        .route("/inbox", get(list))
        .route("/inbox/rows", get(rows))
        .route("/inbox/events", get(super::inbox_events::events))
        .route("/inbox/{id}", get(thread))
        .route("/inbox/{id}/thread", get(thread_fragment))
        .route("/inbox/{id}/media/{message}", get(media_file))
        .route("/inbox/{id}/pause", post(pause))
        .route("/inbox/{id}/resume", post(resume))
        .route("/inbox/{id}/reply", post(reply))
        .route("/static/inbox.js", get(script))
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    before: Option<String>,
    /// `person`, `failed`, `unread` or `mine`: only those conversations.
    filter: Option<String>,
    /// Only customers with this label.
    label: Option<String>,
}

#[derive(Serialize)]
struct ListView {
    q: String,
    rows: Vec<inbox::InboxRow>,
    next: Option<String>,
    /// The filter shown: "", `person`, `failed`, `unread` or `mine`.
    filter: &'static str,
    /// How many need a person, the bot failed, are unread.
    counts: inbox::Counts,
    /// An older page (not updated live: new conversations belong to the first).
    older: bool,
    /// The label listed ("" for any).
    label: String,
}

async fn list(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, WebError> {
    page.render("inbox/list.html", &list_view(&state, &me, q).await?)
}

/// The list's live part (filters, counts, rows), as the list page would show it.
async fn rows(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, WebError> {
    page.render("inbox/_rows.html", &list_view(&state, &me, q).await?)
}

async fn list_view(state: &AppState, me: &users::User, q: ListQuery) -> Result<ListView, WebError> {
    let tenant = me.tenant_id;
    // Numbers typed with Arabic-Indic digits (٠٥٠…) find the stored ASCII ones.
    let typed = q.q.as_deref().map(mujibak_core::domain::digits::ascii_digits);
    let query = typed.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let before = q.before.as_deref().and_then(|b| {
        let (at, id) = b.split_once('_')?;
        Some((DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc), id.parse::<ConversationId>().ok()?))
    });
    let (filter, show) = match q.filter.as_deref() {
        Some("person") => ("person", Show::NeedsPerson),
        Some("failed") => ("failed", Show::BotFailed),
        Some("unread") => ("unread", Show::Unread),
        Some("mine") => ("mine", Show::AssignedTo(me.user_id)),
        _ => ("", Show::All),
    };
    let mut conn = state.db.acquire().await?;
    let label = q.label.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_lowercase);
    let number = query.and_then(mujibak_core::domain::digits::saudi_number);
    let which = inbox::InboxFilter { query, number: number.as_deref(), show, label: label.as_deref() };
    let rows = inbox::list(&mut conn, tenant, which, before, PAGE_SIZE).await?;
    let counts = inbox::counts(&mut conn, tenant, me.user_id).await?;
    drop(conn);
    let next = (rows.len() as i64 == PAGE_SIZE)
        .then(|| rows.last().map(|r| format!("{}_{}", r.last_message_at.to_rfc3339(), r.conversation_id)))
        .flatten();
    Ok(ListView {
        q: query.unwrap_or("").to_owned(),
        rows,
        next,
        filter,
        counts,
        older: before.is_some(),
        label: label.unwrap_or_default(),
    })
}

async fn thread(
    State(state): State<AppState>,
    page: Page,
    CurrentTenant(tenant): CurrentTenant,
    PathId(id): PathId<ConversationId>,
) -> Result<impl IntoResponse, WebError> {
    page.render("inbox/thread.html", &load(&state, tenant, id).await?)
}

async fn thread_fragment(
    State(state): State<AppState>,
    page: Page,
    CurrentTenant(tenant): CurrentTenant,
    PathId(id): PathId<ConversationId>,
) -> Result<Html<String>, WebError> {
    page.render("inbox/_messages.html", &load_part(&state, tenant, id).await?)
}

/// A customer's kept file, for the thread's player or picture (a document downloads).
async fn media_file(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path((id, message)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (Ok(id), Ok(message)) = (id.parse::<ConversationId>(), message.parse::<MessageId>()) else {
        return Err(WebError::NotFound);
    };
    let mut conn = state.db.acquire().await?;
    let (mime, bytes) = media::file(&mut conn, tenant, id, message).await?.ok_or(WebError::NotFound)?;
    let inline = mime.starts_with("audio/") || mime.starts_with("image/") || mime.starts_with("video/");
    let disposition = if inline { "inline" } else { "attachment" };
    let headers = [
        (header::CONTENT_TYPE, mime),
        (header::CONTENT_DISPOSITION, disposition.to_owned()),
        // A customer's file must not stay in the browser's cache after sign-out.
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    Ok((headers, bytes).into_response())
}

async fn set_paused(
    state: &AppState,
    page: &Page,
    tenant: mujibak_core::domain::TenantId,
    uuid: ConversationId,
    paused: bool,
) -> Result<Response, WebError> {
    if !conversations::set_paused(&mut *state.db.acquire().await?, tenant, uuid, paused).await? {
        return Err(WebError::NotFound);
    }
    set_flash(state, &page.session, "success", if paused { "flash.bot_paused" } else { "flash.bot_resumed" })
        .await?;
    Ok(Redirect::to(&format!("/inbox/{uuid}")).into_response())
}

async fn pause(
    State(state): State<AppState>,
    page: Page,
    CurrentTenant(tenant): CurrentTenant,
    PathId(id): PathId<ConversationId>,
) -> Result<Response, WebError> {
    set_paused(&state, &page, tenant, id, true).await
}

async fn resume(
    State(state): State<AppState>,
    page: Page,
    CurrentTenant(tenant): CurrentTenant,
    PathId(id): PathId<ConversationId>,
) -> Result<Response, WebError> {
    set_paused(&state, &page, tenant, id, false).await
}

#[derive(Deserialize)]
struct ReplyForm {
    text: String,
}

/// A human reply: pauses the bot for this conversation and queues the send.
async fn reply(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    PathId(uuid): PathId<ConversationId>,
    Form { data: f, refused }: Form<ReplyForm>,
) -> Result<Response, WebError> {
    let tenant = me.tenant_id;
    if !refused.is_empty() {
        return refuse(&state, &page, tenant, uuid, &refused).await;
    }
    // A reply that is exactly a saved shortcut ("/hours") sends the saved answer.
    let saved = match f.text.trim() {
        typed if typed.starts_with('/') => {
            quick_replies::body_of(&mut *state.db.acquire().await?, tenant, typed).await?
        }
        _ => None,
    };
    let text = saved.as_deref().unwrap_or(f.text.trim());
    if text.is_empty() || text.chars().count() > 4096 {
        set_flash(&state, &page.session, "error", "errors.reply_length").await?;
        return Ok(Redirect::to(&format!("/inbox/{uuid}")).into_response());
    }
    let mut tx = state.db.begin().await?;
    let conv = conversations::lock(&mut tx, tenant, uuid).await?.ok_or(WebError::NotFound)?;
    if !mujibak_core::domain::reply::window_open(conv.last_inbound_at, Utc::now()) {
        // WhatsApp would refuse it (131047): say so now, and offer a template instead.
        drop(tx);
        set_flash(&state, &page.session, "error", "errors.window_closed").await?;
        return Ok(Redirect::to(&format!("/inbox/{uuid}/template")).into_response());
    }
    conversations::set_paused(&mut tx, tenant, uuid, true).await?;
    let message_id =
        messages::insert_outbound(&mut tx, tenant, uuid, Author::Human, text, None, false).await?;
    messages::written_by(&mut tx, tenant, message_id, me.user_id).await?;
    conversations::answered(&mut tx, tenant, uuid).await?;
    enqueue(&mut tx, &SendMessage { tenant_id: tenant, message_id }).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/inbox/{uuid}")).into_response())
}

async fn script() -> impl IntoResponse {
    let js = super::views::Views::asset("inbox.js").unwrap_or_default();
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        js,
    )
}
