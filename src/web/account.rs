//! Deleting the account (owner only): `/account/delete` shows what goes and what stays and
//! takes the password; the request disables the account at once (the gate, `gate.rs`),
//! emails the confirmation in each owner's language and schedules the purge
//! (`delete_account`) after `DELETION_GRACE_DAYS`. Until then the owner can sign in to
//! `/account/deletion` only, which shows the date and cancels (password again).

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{
    accounts,
    billing::run,
    db::{audit::Actor, users, users::User},
    deletion::{self, DeletionError, Request},
    domain::Role,
};
use mujibak_jobs::{billing::Billing, delete_account::DeleteAccount, enqueue_at};
use serde::{Deserialize, Serialize};

use super::{
    error::WebError,
    extract::{Owner, Page},
    forms::FormView,
    input::Form,
    limits::PASSWORD_CHECKS,
    routes::Routes,
    session::set_flash,
};
use crate::{mail, state::AppState};

pub fn routes() -> Routes {
    Routes::new()
        .route("/account/delete", get(delete_form).post(request_deletion))
        .route("/account/deletion", get(pending_page))
        .route("/account/deletion/cancel", post(cancel))
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
}

/// The confirmation email's data.
#[derive(Serialize)]
struct DeletionMail {
    name: String,
    purge_after: String,
    link: String,
}

/// On `tx`, after a request was recorded (by the owner here, or by staff through
/// `deletion::request_by_staff`): emails every owner the confirmation in their language,
/// notes it on the request (the purge waits for it), schedules the purge and, where
/// invoices are issued, the last invoices: the month before if its run has not billed it
/// yet, and this month for the days used (`billing::run`).
pub async fn schedule(state: &AppState, tx: &mut sqlx::PgConnection, req: &Request) -> Result<(), WebError> {
    let owners = users::list(tx, req.tenant_id).await?.into_iter().filter(|u| u.role == Role::Owner);
    for owner in owners {
        let data = DeletionMail {
            name: owner.name.clone(),
            purge_after: req.purge_after.to_rfc3339(),
            link: format!("{}/account/deletion", state.config.http.base_url),
        };
        let outgoing = mail::Outgoing {
            kind: "account_deletion",
            tenant_id: Some(req.tenant_id),
            to: &owner.email,
            locale: owner.locale,
            data: &data,
        };
        let email = mail::queue(tx, &state.views, outgoing).await?;
        deletion::confirmation_queued(tx, req.tenant_id, req.request_id, email).await?;
    }
    let job = DeleteAccount::Request { tenant_id: req.tenant_id, request_id: req.request_id };
    enqueue_at(tx, &job, req.purge_after).await?;
    if state.config.seller.is_some() {
        let last = [run::period_before(req.requested_at), run::period_of(req.requested_at)]
            .map(|period| Billing::Issue { tenant_id: req.tenant_id, period });
        mujibak_jobs::enqueue_many(tx, &last).await.map_err(anyhow::Error::from)?;
    }
    Ok(())
}

async fn delete_form(page: Page, Owner(user): Owner) -> Result<Response, WebError> {
    if deletion::pending(&mut *page.state.db.acquire().await?, user.tenant_id).await?.is_some() {
        return Ok(Redirect::to("/account/deletion").into_response());
    }
    let days = page.state.config.privacy.deletion_grace.num_days().to_string();
    Ok(page.render("account/delete.html", &FormView::default().extra("grace_days", &days))?.into_response())
}

/// Checks the password (counted per account); on a mismatch, the field's error.
async fn password_ok(page: &Page, user: &User, given: &str, view: &mut FormView) -> Result<bool, WebError> {
    let key = user.user_id.to_string();
    PASSWORD_CHECKS.check(&page.state, &key).await?;
    if given.is_empty() || !accounts::password_matches(&page.state.db, user, given).await? {
        view.error(page, "password", "errors.wrong_password");
        return Ok(false);
    }
    PASSWORD_CHECKS.clear(&page.state, &key).await?;
    Ok(true)
}

async fn request_deletion(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    Form { data: f, refused }: Form<PasswordForm>,
) -> Result<Response, WebError> {
    let days = state.config.privacy.deletion_grace.num_days().to_string();
    let mut view = FormView::default().extra("grace_days", &days);
    view.refuse(&page, &refused);
    if !view.is_valid() || !password_ok(&page, &user, &f.password, &mut view).await? {
        return page.invalid("account/delete.html", &view);
    }
    let mut tx = state.db.begin().await?;
    let actor = Actor::User(user.user_id);
    match deletion::request(&mut tx, user.tenant_id, &actor, None, state.config.privacy.deletion_grace).await
    {
        Ok(req) => schedule(&state, &mut tx, &req).await?,
        Err(DeletionError::AlreadyRequested) => return Ok(Redirect::to("/account/deletion").into_response()),
        Err(e) => return Err(WebError::Internal(e.into())),
    }
    tx.commit().await?;
    set_flash(&state, &page.session, "info", "flash.deletion_requested").await?;
    Ok(Redirect::to("/account/deletion").into_response())
}

/// What the page of a pending deletion shows.
#[derive(Serialize, Default)]
struct PendingView {
    #[serde(flatten)]
    form: FormView,
    purge_after: String,
}

async fn pending_page(page: Page, Owner(user): Owner) -> Result<Response, WebError> {
    let Some(req) = deletion::pending(&mut *page.state.db.acquire().await?, user.tenant_id).await? else {
        return Ok(Redirect::to("/dashboard").into_response());
    };
    let view = PendingView { purge_after: req.purge_after.to_rfc3339(), ..PendingView::default() };
    Ok(page.render("account/deletion.html", &view)?.into_response())
}

async fn cancel(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    Form { data: f, refused }: Form<PasswordForm>,
) -> Result<Response, WebError> {
    let Some(req) = deletion::pending(&mut *state.db.acquire().await?, user.tenant_id).await? else {
        // Nothing to cancel; a value no field accepts is still refused as such.
        return if refused.is_empty() {
            Ok(Redirect::to("/dashboard").into_response())
        } else {
            Err(WebError::BadInput)
        };
    };
    let mut view = PendingView { purge_after: req.purge_after.to_rfc3339(), ..PendingView::default() };
    view.form.refuse(&page, &refused);
    if !view.form.is_valid() || !password_ok(&page, &user, &f.password, &mut view.form).await? {
        return page.invalid("account/deletion.html", &view);
    }
    let mut tx = state.db.begin().await?;
    match deletion::cancel(&mut tx, user.tenant_id, &Actor::User(user.user_id)).await {
        Ok(_) | Err(DeletionError::NotPending) => {}
        Err(e) => return Err(WebError::Internal(e.into())),
    }
    tx.commit().await?;
    set_flash(&state, &page.session, "success", "flash.deletion_cancelled").await?;
    Ok(Redirect::to("/dashboard").into_response())
}
