//! Owner settings: quick replies, the business's saved answers. Each has a shortcut
//! ("/hours": a slash and up to 30 characters without spaces) that the team types as the
//! whole reply to send the saved answer; the thread also offers them under the reply box.
//! A business keeps at most `quick_replies::MAX` (one more is refused, saying so).

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::db::quick_replies;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    state::AppState,
    web::{
        error::WebError,
        extract::{Owner, Page, PathId},
        input::Form,
        routes::Routes,
        session::set_flash,
    },
};

pub(super) fn routes() -> Routes {
    Routes::new()
        .route("/settings/replies", get(list).post(save))
        .route("/settings/replies/{id}/delete", post(delete))
}

#[derive(Serialize)]
struct RepliesView {
    replies: Vec<quick_replies::QuickReply>,
    shortcut: String,
    body: String,
}

async fn list(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<impl IntoResponse, WebError> {
    let replies = quick_replies::list(&mut *state.db.acquire().await?, owner.tenant_id).await?;
    page.render(
        "settings/replies.html",
        &RepliesView { replies, shortcut: String::new(), body: String::new() },
    )
}

#[derive(Deserialize)]
struct ReplyForm {
    shortcut: String,
    body: String,
}

/// `typed` as a shortcut: a leading slash added if missing; `None` if it has spaces or
/// another slash, or is empty or longer than 30 characters.
fn shortcut(typed: &str) -> Option<String> {
    let name = typed.trim().trim_start_matches('/');
    let fine =
        (1..=30).contains(&name.chars().count()) && !name.chars().any(|c| c.is_whitespace() || c == '/');
    fine.then(|| format!("/{name}"))
}

async fn save(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused }: Form<ReplyForm>,
) -> Result<Response, WebError> {
    let body = f.body.trim();
    let name = shortcut(&f.shortcut);
    let body_fine = (1..=4096).contains(&body.chars().count());
    if !refused.is_empty() || name.is_none() || !body_fine {
        page.refuse(&refused);
        if name.is_none() {
            page.alert("errors.shortcut");
        }
        if !body_fine {
            page.alert("errors.reply_length");
        }
        let replies = quick_replies::list(&mut *state.db.acquire().await?, owner.tenant_id).await?;
        let view = RepliesView { replies, shortcut: f.shortcut, body: f.body };
        return page.invalid("settings/replies.html", &view);
    }
    let name = name.unwrap_or_default();
    if !quick_replies::save(&mut *state.db.acquire().await?, owner.tenant_id, &name, body).await? {
        page.alert("errors.quick_replies_full");
        let replies = quick_replies::list(&mut *state.db.acquire().await?, owner.tenant_id).await?;
        let view = RepliesView { replies, shortcut: f.shortcut, body: f.body };
        return page.invalid("settings/replies.html", &view);
    }
    set_flash(&state, &page.session, "success", "flash.quick_reply_saved").await?;
    Ok(Redirect::to("/settings/replies").into_response())
}

async fn delete(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    PathId(id): PathId<Uuid>,
) -> Result<Response, WebError> {
    if !quick_replies::delete(&mut *state.db.acquire().await?, owner.tenant_id, id).await? {
        return Err(WebError::NotFound);
    }
    set_flash(&state, &page.session, "success", "flash.quick_reply_deleted").await?;
    Ok(Redirect::to("/settings/replies").into_response())
}

#[cfg(test)]
mod tests {
    use super::shortcut;

    #[test]
    fn a_shortcut_is_a_slash_and_one_word() {
        assert_eq!(shortcut("hours").as_deref(), Some("/hours"));
        assert_eq!(shortcut(" /مواعيد ").as_deref(), Some("/مواعيد"));
        assert_eq!(shortcut("two words"), None);
        assert_eq!(shortcut("/"), None);
        assert_eq!(shortcut(&"x".repeat(31)), None);
    }
}
