//! The account gate on every signed-in request (called by the session middleware): a
//! suspended account's sessions, and those of a deleting account's members, are ended on
//! their next request with a message; a deleting account's owner reaches only the page
//! that shows the date and cancels (`account.rs`), and sign-out. The rule itself is
//! `mujibak_core::accounts::status`.

use axum::response::{IntoResponse, Redirect, Response};
use mujibak_core::{
    accounts::{self, TenantStatus},
    domain::Role,
};

use super::{
    error::WebError,
    session::{end_session, SessionCtx},
};
use crate::state::AppState;

/// Where a deleting account's owner may go.
const WHILE_DELETING: &[&str] = &["/account/deletion", "/account/deletion/cancel", "/signout", "/lang"];

/// The answer that replaces the request's, if the account may not use it.
pub async fn check(state: &AppState, ctx: &SessionCtx, path: &str) -> Result<Option<Response>, WebError> {
    let Some(user) = &ctx.user else { return Ok(None) };
    let status = accounts::status(&mut *state.db.acquire().await?, user.tenant_id).await?;
    let flash = match status {
        TenantStatus::Active => return Ok(None),
        TenantStatus::Suspended { .. } => "flash.account_suspended",
        TenantStatus::Deleting { purged: false, .. } if user.role == Role::Owner => {
            if WHILE_DELETING.contains(&path) {
                return Ok(None);
            }
            return Ok(Some(Redirect::to("/account/deletion").into_response()));
        }
        TenantStatus::Deleting { .. } => "flash.account_deleting",
    };
    tracing::info!(tenant.id = %user.tenant_id, status = status.as_str(), "session refused by the account gate");
    Ok(Some(end_session(state, ctx, "/signin", flash).await?))
}
