//! One customer's data on request, from the contact panel (owners only): "export this
//! customer" queues an export of their rows and files in the account export's format
//! (`export::request` with the contact; it is listed and downloaded at `/account/export`),
//! and "erase this customer" shows what goes, asks for a reason, and queues the erasure
//! (`erasure`, carried out by the `delete_account` queue), audited with the reason.

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{
    db::conversations,
    domain::ConversationId,
    erasure::{self, ErasureError},
    export::{self, ExportError},
};
use mujibak_jobs::{delete_account::DeleteAccount, enqueue, export_data::ExportData};
use serde::{Deserialize, Serialize};

use super::{
    error::WebError,
    extract::{Owner, Page, PathId},
    input::Form,
    routes::Routes,
    session::set_flash,
};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .route("/inbox/{id}/export", post(export_customer))
        .route("/inbox/{id}/erase", get(confirm_erase).post(erase))
}

async fn export_customer(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    PathId(id): PathId<ConversationId>,
) -> Result<Response, WebError> {
    let mut tx = state.db.begin().await?;
    let contact = mujibak_core::db::purge::contact_of(&mut tx, user.tenant_id, id).await?;
    let contact = contact.ok_or(WebError::NotFound)?;
    let flash = match export::request(&mut tx, user.tenant_id, user.user_id, Some(contact)).await {
        Ok(e) => {
            enqueue(&mut tx, &ExportData::Build { tenant_id: user.tenant_id, export_id: e.export_id })
                .await
                .map_err(|e| WebError::Internal(e.into()))?;
            tx.commit().await?;
            ("success", "customer_data.export_requested")
        }
        Err(ExportError::AlreadyRunning) => ("info", "flash.export_in_progress"),
        Err(ExportError::TooMany) => ("info", "flash.export_limit"),
        Err(e) => return Err(WebError::Internal(e.into())),
    };
    set_flash(&state, &page.session, flash.0, flash.1).await?;
    Ok(Redirect::to("/account/export").into_response())
}

#[derive(Serialize)]
struct EraseView {
    conversation_id: String,
    name: String,
    number: String,
    max_reason: usize,
}

/// What erasing does, before it is done (one click never erases).
async fn confirm_erase(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    PathId(id): PathId<ConversationId>,
) -> Result<Response, WebError> {
    let mut conn = state.db.acquire().await?;
    let c = conversations::get(&mut conn, user.tenant_id, id).await?.ok_or(WebError::NotFound)?;
    let view = EraseView {
        conversation_id: id.to_string(),
        name: c.contact_name,
        number: c.wa_id.or(c.bsuid).unwrap_or_default(),
        max_reason: erasure::MAX_REASON,
    };
    Ok(page.render("inbox/erase.html", &view)?.into_response())
}

#[derive(Deserialize)]
struct EraseForm {
    reason: String,
}

async fn erase(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    PathId(id): PathId<ConversationId>,
    Form { data: f, refused }: Form<EraseForm>,
) -> Result<Response, WebError> {
    let again = Redirect::to(&format!("/inbox/{id}/erase")).into_response();
    if !refused.is_empty() {
        // A reason the form refused (a NUL, a control character): the page again, with why.
        page.alert("customer_data.reason_needed");
        let mut shown = confirm_erase(State(state), page, Owner(user), PathId(id)).await?;
        *shown.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(shown);
    }
    let mut tx = state.db.begin().await?;
    let contact = match erasure::request(&mut tx, user.tenant_id, id, user.user_id, &f.reason).await {
        Ok(contact) => contact,
        Err(ErasureError::Reason) => {
            set_flash(&state, &page.session, "error", "customer_data.reason_needed").await?;
            return Ok(again);
        }
        Err(ErasureError::NotFound) => return Err(WebError::NotFound),
        Err(e) => return Err(WebError::Internal(e.into())),
    };
    enqueue(&mut tx, &DeleteAccount::Customer { tenant_id: user.tenant_id, contact_id: contact })
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    tx.commit().await?;
    set_flash(&state, &page.session, "success", "customer_data.erasing").await?;
    Ok(Redirect::to("/inbox").into_response())
}
