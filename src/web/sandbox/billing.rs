//! The sandbox's billing button (sandbox mode only): runs the monthly invoice run for the
//! current month now, so an owner can see an invoice issued, its payment link emailed and
//! paid on the sandbox's Moyasar page, without waiting for the 1st.

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use mujibak_core::billing::run::period_of;
use mujibak_jobs::{billing::Billing, enqueue};

use crate::{
    state::AppState,
    web::{
        error::WebError,
        extract::{Owner, Page},
        routes::Routes,
        session::set_flash,
    },
};

/// Mounted only when the app runs in sandbox mode.
pub fn routes() -> Routes {
    Routes::new().route("/sandbox/billing/run", post(run))
}

async fn run(State(state): State<AppState>, page: Page, Owner(_): Owner) -> Result<Response, WebError> {
    let mut tx = state.db.begin().await?;
    enqueue(&mut tx, &Billing::Run { period: period_of(chrono::Utc::now()) })
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    tx.commit().await?;
    set_flash(&state, &page.session, "success", "flash.invoice_run_queued").await?;
    Ok(Redirect::to("/billing").into_response())
}
