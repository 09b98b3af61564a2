//! A team's tools on a conversation: assigning it (to a member, to oneself, to nobody),
//! internal notes, which the thread shows and the customer never receives, and labels
//! on its customer. Either
//! is announced to the open pages (`web::live`) by the database's triggers.

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use mujibak_core::{
    db::{contacts, conversations, notes},
    domain::{contact, ConversationId, UserId},
};
use serde::Deserialize;

use super::{
    error::WebError,
    extract::{CurrentUser, Page, PathId},
    input::Form,
    routes::Routes,
    session::set_flash,
    thread_view::refuse,
};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .route("/inbox/{id}/assign", post(assign))
        .route("/inbox/{id}/notes", post(add_note))
        .route("/inbox/{id}/labels", post(set_labels))
}

#[derive(Deserialize)]
struct AssignForm {
    /// A member's id, `me`, or empty for nobody.
    user: String,
}

async fn assign(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    PathId(id): PathId<ConversationId>,
    Form { data: f, refused }: Form<AssignForm>,
) -> Result<Response, WebError> {
    if !refused.is_empty() {
        return refuse(&state, &page, me.tenant_id, id, &refused).await;
    }
    let to = match f.user.trim() {
        "" => None,
        "me" => Some(me.user_id),
        other => Some(other.parse::<UserId>().map_err(|_| WebError::NotFound)?),
    };
    if !conversations::assign(&mut *state.db.acquire().await?, me.tenant_id, id, to).await? {
        return Err(WebError::NotFound);
    }
    let flash = if to.is_some() { "flash.assigned" } else { "flash.unassigned" };
    set_flash(&state, &page.session, "success", flash).await?;
    Ok(Redirect::to(&format!("/inbox/{id}")).into_response())
}

#[derive(Deserialize)]
struct NoteForm {
    note: String,
}

async fn add_note(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    PathId(id): PathId<ConversationId>,
    Form { data: f, refused }: Form<NoteForm>,
) -> Result<Response, WebError> {
    if !refused.is_empty() {
        return refuse(&state, &page, me.tenant_id, id, &refused).await;
    }
    let text = f.note.trim();
    if text.is_empty() || text.chars().count() > 4000 {
        set_flash(&state, &page.session, "error", "errors.note_length").await?;
        return Ok(Redirect::to(&format!("/inbox/{id}")).into_response());
    }
    match notes::add(&mut *state.db.acquire().await?, me.tenant_id, id, me.user_id, text).await? {
        notes::Added::Added => {}
        notes::Added::Full => set_flash(&state, &page.session, "error", "errors.notes_full").await?,
        notes::Added::NotFound => return Err(WebError::NotFound),
    }
    Ok(Redirect::to(&format!("/inbox/{id}")).into_response())
}

#[derive(Deserialize)]
struct LabelsForm {
    labels: String,
}

async fn set_labels(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    PathId(id): PathId<ConversationId>,
    Form { data: f, refused }: Form<LabelsForm>,
) -> Result<Response, WebError> {
    if !refused.is_empty() {
        return refuse(&state, &page, me.tenant_id, id, &refused).await;
    }
    let labels = match contact::parse_labels(&f.labels) {
        Ok(labels) => labels,
        Err(e) => {
            let key = match e {
                contact::LabelError::TooMany => "errors.labels_too_many",
                contact::LabelError::TooLong => "errors.label_too_long",
            };
            set_flash(&state, &page.session, "error", key).await?;
            return Ok(Redirect::to(&format!("/inbox/{id}")).into_response());
        }
    };
    if !contacts::set_labels(&mut *state.db.acquire().await?, me.tenant_id, id, &labels).await? {
        return Err(WebError::NotFound);
    }
    set_flash(&state, &page.session, "success", "flash.labels_saved").await?;
    Ok(Redirect::to(&format!("/inbox/{id}")).into_response())
}
