//! Owner settings: the knowledge base — FAQ entries (a question and its answer) and pasted
//! documents (menus, price lists, policies), each searchable as passages ("try the bot",
//! which answers from them, is `try_bot`).

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{db::knowledge, domain::knowledge as rules};
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
        .route("/settings/knowledge", get(list))
        .route("/settings/knowledge/faq", post(add_faq))
        .route("/settings/knowledge/documents", post(add_document))
        .route("/settings/knowledge/{id}/delete", post(delete))
}

#[derive(Serialize, Default)]
struct KnowledgeView {
    entries: Vec<knowledge::Entry>,
    question: String,
    answer: String,
    title: String,
    text: String,
}

async fn list(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<impl IntoResponse, WebError> {
    let entries = knowledge::list(&mut *state.db.acquire().await?, owner.tenant_id).await?;
    page.render("settings/knowledge.html", &KnowledgeView { entries, ..Default::default() })
}

#[derive(Deserialize)]
struct FaqForm {
    question: String,
    answer: String,
}

#[derive(Deserialize)]
struct DocumentForm {
    title: String,
    text: String,
}

/// Which of a title and a body is out of bounds (empty, or too long).
fn out_of_bounds(title: &str, body: &str) -> Vec<&'static str> {
    let mut wrong = Vec::new();
    if !(1..=rules::MAX_TITLE_CHARS).contains(&title.chars().count()) {
        wrong.push("errors.knowledge_title");
    }
    if !(1..=rules::MAX_BODY_CHARS).contains(&body.chars().count()) {
        wrong.push("errors.knowledge_body");
    }
    wrong
}

/// Refuses a form (422, the page again with what was typed), or checks the entry limit.
async fn refused(
    state: &AppState,
    page: &Page,
    owner: &mujibak_core::db::users::User,
    refused: &[String],
    wrong: &[&str],
    typed: KnowledgeView,
) -> Result<Option<Response>, WebError> {
    let mut conn = state.db.acquire().await?;
    let full = knowledge::count(&mut conn, owner.tenant_id).await? >= rules::MAX_ENTRIES;
    if refused.is_empty() && wrong.is_empty() && !full {
        return Ok(None);
    }
    page.refuse(refused);
    for key in wrong {
        page.alert(key);
    }
    if full {
        page.alert("errors.knowledge_full");
    }
    let entries = knowledge::list(&mut conn, owner.tenant_id).await?;
    Ok(Some(page.invalid("settings/knowledge.html", &KnowledgeView { entries, ..typed })?))
}

async fn add_faq(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused: bad }: Form<FaqForm>,
) -> Result<Response, WebError> {
    let (question, answer) = (f.question.trim(), f.answer.trim());
    let typed =
        KnowledgeView { question: f.question.clone(), answer: f.answer.clone(), ..Default::default() };
    if let Some(r) = refused(&state, &page, &owner, &bad, &out_of_bounds(question, answer), typed).await? {
        return Ok(r);
    }
    let passage = rules::faq_passage(question, answer);
    knowledge::add_faq(&mut *state.db.acquire().await?, owner.tenant_id, question, answer, &passage).await?;
    set_flash(&state, &page.session, "success", "flash.knowledge_saved").await?;
    Ok(Redirect::to("/settings/knowledge").into_response())
}

async fn add_document(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused: bad }: Form<DocumentForm>,
) -> Result<Response, WebError> {
    let (title, text) = (f.title.trim(), f.text.trim());
    let typed = KnowledgeView { title: f.title.clone(), text: f.text.clone(), ..Default::default() };
    if let Some(r) = refused(&state, &page, &owner, &bad, &out_of_bounds(title, text), typed).await? {
        return Ok(r);
    }
    knowledge::add_document(&mut *state.db.acquire().await?, owner.tenant_id, title, text).await?;
    set_flash(&state, &page.session, "success", "flash.knowledge_saved").await?;
    Ok(Redirect::to("/settings/knowledge").into_response())
}

async fn delete(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    PathId(id): PathId<Uuid>,
) -> Result<Response, WebError> {
    if !knowledge::delete(&mut *state.db.acquire().await?, owner.tenant_id, id).await? {
        return Err(WebError::NotFound);
    }
    set_flash(&state, &page.session, "success", "flash.knowledge_deleted").await?;
    Ok(Redirect::to("/settings/knowledge").into_response())
}
