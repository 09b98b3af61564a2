//! Staff actions on a tenant (tenants:write), each with a stated reason where it changes
//! what the business can do: suspend for abuse (sign-in closed, bot stopped, webhooks
//! dropped: `accounts::suspend`), lift the suspension, and start a deletion the owner
//! asked for by email (`deletion::request_by_staff`, then the same confirmation email and
//! scheduled purge as the owner's own request). Each is audited in its own transaction.

use axum::{extract::State, response::Response, routing::post};
use mujibak_core::{accounts, deletion, domain::TenantId};
use serde::Deserialize;
use sqlx::{Postgres, Transaction};

use super::{done, tenants::stated_reason, StaffCtx};
use crate::{
    state::AppState,
    web::{account, error::WebError, extract::PathId, input::Form, routes::Routes},
};

pub fn routes() -> Routes {
    Routes::new()
        .route("/ops/tenants/{tenant}/suspend", post(suspend))
        .route("/ops/tenants/{tenant}/unsuspend", post(unsuspend))
        .route("/ops/tenants/{tenant}/delete", post(delete))
}

#[derive(Deserialize)]
struct ReasonForm {
    reason: Option<String>,
}

/// The form's reason: required here (10 to 500 characters).
fn required_reason(form: Form<ReasonForm>) -> Result<String, WebError> {
    if !form.refused.is_empty() {
        return Err(WebError::BadInput);
    }
    stated_reason(form.data.reason)?.ok_or_else(|| WebError::Invalid("a reason is required".into()))
}

/// The tenant of the path (it must exist) and a transaction to act on it in.
async fn begin(state: &AppState, id: TenantId) -> Result<Transaction<'static, Postgres>, WebError> {
    let mut tx = state.db.begin().await?;
    super::tenants::existing(&mut tx, id).await?;
    Ok(tx)
}

/// Commits the action and answers it (back to the tenant's page).
async fn finish(
    tx: Transaction<'static, Postgres>,
    ctx: &StaffCtx,
    id: TenantId,
) -> Result<Response, WebError> {
    tx.commit().await?;
    Ok(done(ctx, &format!("/ops/tenants/{id}")))
}

async fn suspend(
    State(state): State<AppState>,
    ctx: StaffCtx,
    PathId(id): PathId<TenantId>,
    form: Form<ReasonForm>,
) -> Result<Response, WebError> {
    let reason = required_reason(form)?;
    let mut tx = begin(&state, id).await?;
    if !accounts::suspend(&mut tx, id, &ctx.staff.actor(), &reason).await? {
        return Err(WebError::Conflict("the tenant is already suspended".into()));
    }
    finish(tx, &ctx, id).await
}

async fn unsuspend(
    State(state): State<AppState>,
    ctx: StaffCtx,
    PathId(id): PathId<TenantId>,
) -> Result<Response, WebError> {
    let mut tx = begin(&state, id).await?;
    if !accounts::unsuspend(&mut tx, id, &ctx.staff.actor()).await? {
        return Err(WebError::Conflict("the tenant is not suspended".into()));
    }
    finish(tx, &ctx, id).await
}

async fn delete(
    State(state): State<AppState>,
    ctx: StaffCtx,
    PathId(id): PathId<TenantId>,
    form: Form<ReasonForm>,
) -> Result<Response, WebError> {
    let reason = required_reason(form)?;
    let mut tx = begin(&state, id).await?;
    let grace = state.config.privacy.deletion_grace;
    let request = match deletion::request_by_staff(&mut tx, id, &ctx.staff.actor(), &reason, grace).await {
        Ok(request) => request,
        Err(deletion::DeletionError::AlreadyRequested) => {
            return Err(WebError::Conflict("a deletion is already requested for this tenant".into()))
        }
        Err(e) => return Err(WebError::Internal(e.into())),
    };
    account::schedule(&state, &mut tx, &request).await?;
    finish(tx, &ctx, id).await
}
