//! The emailed links about an account's address: proving it after sign-up (and sending
//! that link again), confirming an email change from the new inbox, and taking the account
//! back from the old one. A link's GET only shows what it will do; the change is a POST
//! (with the CSRF token), so a mail scanner following links changes nothing.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{
    accounts::{self, masked, AccountError},
    db::{tokens::Purpose, users::User},
    domain::NewPassword,
};
use serde::{Deserialize, Serialize};

use super::{
    error::WebError,
    extract::{CurrentUser, Page},
    forms::FormView,
    input::Form,
    limits::VERIFY_RESENDS,
    routes::Routes,
    session::{end_session, set_flash},
};
use crate::{mail, state::AppState};

pub fn routes() -> Routes {
    Routes::new()
        .route("/verify/resend", post(resend))
        .route("/verify/{token}", get(verify_page).post(verify))
        .route("/profile/email/{token}", get(change_page).post(confirm_change))
        .route("/profile/email/revert/{token}", get(revert_page).post(revert))
}

/// Queues the link proving `user`'s address, on `tx`.
pub async fn queue_verification(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    user: &User,
    token: &str,
) -> Result<(), WebError> {
    let data = mail::LinkMail {
        name: user.name.clone(),
        link: format!("{}/verify/{token}", state.config.http.base_url),
    };
    let outgoing = mail::Outgoing {
        kind: "email_verification",
        tenant_id: Some(user.tenant_id),
        to: &user.email,
        locale: user.locale,
        data: &data,
    };
    mail::queue(tx, &state.views, outgoing).await?;
    Ok(())
}

/// A page with one button that POSTs to the link.
#[derive(Serialize)]
struct ConfirmView {
    title: String,
    lead: String,
    address: String,
    submit: String,
}

fn confirm_view(page: &Page, section: &str, address: String) -> ConfirmView {
    ConfirmView {
        title: page.text(&format!("{section}.title")),
        lead: page.text(&format!("{section}.lead")),
        address,
        submit: page.text(&format!("{section}.submit")),
    }
}

/// Where to go after a link: the signed-in user's own page, else sign-in.
fn after(page: &Page, user: &User, signed_in_to: &'static str) -> Redirect {
    let own = page.session.user.as_ref().is_some_and(|u| u.user_id == user.user_id);
    Redirect::to(if own { signed_in_to } else { "/signin" })
}

async fn verify_page(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(row) = accounts::link_valid(&state.db, &token, Purpose::EmailVerification).await? else {
        return page.link_invalid();
    };
    let view = confirm_view(&page, "confirm_verify", row.email.unwrap_or_default());
    Ok(page.render("auth/confirm.html", &view)?.into_response())
}

async fn verify(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match accounts::verify_email(&state.db, &token).await {
        Ok(user) => {
            set_flash(&state, &page.session, "success", "flash.email_verified").await?;
            Ok(after(&page, &user, "/dashboard").into_response())
        }
        Err(AccountError::InvalidToken) => page.link_invalid(),
        Err(e) => Err(e.into()),
    }
}

/// Sends the verification link again (at most `VERIFY_RESENDS` an hour).
async fn resend(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(user): CurrentUser,
) -> Result<Response, WebError> {
    if !user.email_verified {
        VERIFY_RESENDS.check(&state, &user.user_id.to_string()).await?;
        let mut tx = state.db.begin().await?;
        let token = accounts::verification_token(&mut tx, &user).await?;
        queue_verification(&state, &mut tx, &user, &token).await?;
        tx.commit().await?;
    }
    set_flash(&state, &page.session, "info", "flash.verification_sent").await?;
    Ok(Redirect::to("/dashboard").into_response())
}

async fn change_page(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(row) = accounts::link_valid(&state.db, &token, Purpose::EmailChange).await? else {
        return page.link_invalid();
    };
    let view = confirm_view(&page, "confirm_change", row.email.unwrap_or_default());
    Ok(page.render("auth/confirm.html", &view)?.into_response())
}

#[derive(Serialize)]
struct ChangedMail {
    name: String,
    new_email: String,
    link: String,
}

/// Confirms the change; the old address is told, with its way back.
async fn confirm_change(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let changed = match accounts::confirm_email_change(&state.db, &token, &page.session.hash).await {
        Ok(changed) => changed,
        Err(AccountError::InvalidToken | AccountError::EmailTaken) => return page.link_invalid(),
        Err(e) => return Err(e.into()),
    };
    let user = &changed.user;
    let data = ChangedMail {
        name: user.name.clone(),
        new_email: masked(&user.email),
        link: format!("{}/profile/email/revert/{}", state.config.http.base_url, changed.revert_token),
    };
    let mut tx = state.db.begin().await?;
    let outgoing = mail::Outgoing {
        kind: "email_changed",
        tenant_id: Some(user.tenant_id),
        to: &changed.old_email,
        locale: user.locale,
        data: &data,
    };
    mail::queue(&mut tx, &state.views, outgoing).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %user.tenant_id, user.id = %user.user_id, "email address changed");
    set_flash(&state, &page.session, "success", "flash.email_changed").await?;
    Ok(after(&page, user, "/profile").into_response())
}

async fn revert_page(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(row) = accounts::link_valid(&state.db, &token, Purpose::EmailRevert).await? else {
        return page.link_invalid();
    };
    page.render("auth/revert.html", &FormView::default().extra("address", &row.email.unwrap_or_default()))
        .map(IntoResponse::into_response)
}

#[derive(Deserialize)]
struct RevertForm {
    password: String,
}

/// Takes the account back to the old address with a new password; every session ends.
async fn revert(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
    Form { data: f, refused }: Form<RevertForm>,
) -> Result<Response, WebError> {
    let Some(row) = accounts::link_valid(&state.db, &token, Purpose::EmailRevert).await? else {
        return page.link_invalid();
    };
    let mut view = FormView::default().extra("address", &row.email.unwrap_or_default());
    view.refuse(&page, &refused);
    let password = NewPassword::parse(&f.password, &[])
        .map_err(|k| view.error(&page, "password", &format!("errors.{k}")));
    let (Ok(password), true) = (password, view.is_valid()) else {
        return page.invalid("auth/revert.html", &view);
    };
    match accounts::revert_email(&state.db, &token, password).await {
        Ok(user) => {
            tracing::info!(tenant.id = %user.tenant_id, user.id = %user.user_id, "email address taken back");
            end_session(&state, &page.session, "/signin", "flash.email_reverted").await
        }
        Err(AccountError::InvalidToken) => page.link_invalid(),
        Err(AccountError::EmailTaken) => {
            view.error(&page, "password", "errors.address_taken_since");
            page.invalid("auth/revert.html", &view)
        }
        Err(e) => Err(e.into()),
    }
}
