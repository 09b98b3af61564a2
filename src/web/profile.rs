//! The profile (correcting name, email — re-verified by a link to the new address —,
//! business name for owners, and language) and password change.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Form, Router,
};
use mujibak_core::{
    accounts::{self, AccountError},
    db::{tenants, users},
    domain::{EmailAddress, Locale, NewPassword, Role},
};
use serde::Deserialize;

use super::{
    extract::{CurrentUser, Page},
    forms::FormView,
    session::set_flash,
    WebError,
};
use crate::{mail, state::AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile_form).post(save_profile))
        .route("/profile/email/{token}", get(confirm_email))
        .route("/password", get(password_form).post(change_password))
}

async fn profile_form(page: Page, CurrentUser(user): CurrentUser) -> Result<impl IntoResponse, WebError> {
    let tenant = tenants::get(&mut *page.state.db.acquire().await?, user.tenant_id).await?;
    let view = FormView::default()
        .value("name", &user.name)
        .value("email", &user.email)
        .value("business_name", &tenant.business_name)
        .value("locale", user.locale.as_str());
    page.render("profile/edit.html", &view)
}

#[derive(Deserialize)]
struct ProfileForm {
    name: String,
    email: String,
    business_name: Option<String>,
    locale: String,
}

async fn save_profile(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(user): CurrentUser,
    Form(f): Form<ProfileForm>,
) -> Result<Response, WebError> {
    let is_owner = user.role == Role::Owner;
    let mut view = FormView::default()
        .value("name", &f.name)
        .value("email", &f.email)
        .value("business_name", f.business_name.as_deref().unwrap_or(""))
        .value("locale", &f.locale);
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        view.error(&page, "name", "errors.required");
    }
    let business = f.business_name.as_deref().map(str::trim).filter(|_| is_owner);
    if business.is_some_and(|b| b.is_empty() || b.chars().count() > 200) {
        view.error(&page, "business_name", "errors.required");
    }
    let email =
        EmailAddress::parse(&f.email).map_err(|k| view.error(&page, "email", &format!("errors.{k}"))).ok();
    let locale = Locale::parse(&f.locale).unwrap_or(user.locale);
    let Some(email) = email.filter(|_| view.is_valid()) else {
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, page.render("profile/edit.html", &view)?).into_response()
        );
    };
    let mut tx = state.db.begin().await?;
    users::update_profile(&mut tx, user.tenant_id, user.user_id, name, locale).await?;
    if let Some(business) = business {
        tenants::rename(&mut tx, user.tenant_id, business).await?;
    }
    let mut flash = "flash.profile_saved";
    if !email.as_str().eq_ignore_ascii_case(&user.email) {
        match accounts::start_email_change(&mut tx, &user, &email).await {
            Ok(token) => {
                let data = mail::LinkMail {
                    name: name.to_owned(),
                    link: format!("{}/profile/email/{token}", state.config.http.base_url),
                };
                let outgoing = mail::Outgoing {
                    kind: "email_change",
                    tenant_id: Some(user.tenant_id),
                    to: email.as_str(),
                    locale,
                    data: &data,
                };
                mail::queue(&mut tx, &state.views, outgoing).await?;
                flash = "flash.email_change_sent";
            }
            Err(AccountError::EmailTaken) => {
                view.error(&page, "email", "errors.email_taken");
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page.render("profile/edit.html", &view)?)
                    .into_response());
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    set_flash(&state, &page.session, "success", flash).await?;
    Ok(Redirect::to("/profile").into_response())
}

async fn confirm_email(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match accounts::confirm_email_change(&state.db, &token).await {
        Ok(_) => {
            set_flash(&state, &page.session, "success", "flash.email_changed").await?;
            Ok(Redirect::to("/profile").into_response())
        }
        Err(AccountError::InvalidToken | AccountError::EmailTaken) => {
            Ok((StatusCode::GONE, page.render("auth/link_invalid.html", &FormView::default())?)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn password_form(page: Page, CurrentUser(_): CurrentUser) -> Result<impl IntoResponse, WebError> {
    page.render("profile/password.html", &FormView::default())
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(user): CurrentUser,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let mut view = FormView::default();
    let new = match NewPassword::parse(&f.new_password, &[&user.email, &user.name]) {
        Ok(p) => p,
        Err(key) => {
            view.error(&page, "new_password", &format!("errors.{key}"));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page.render("profile/password.html", &view)?)
                .into_response());
        }
    };
    match accounts::change_password(&state.db, &user, &f.current_password, new, &page.session.hash).await {
        Ok(()) => {
            set_flash(&state, &page.session, "success", "flash.password_changed").await?;
            Ok(Redirect::to("/profile").into_response())
        }
        Err(AccountError::WrongCurrentPassword) => {
            view.error(&page, "current_password", "errors.wrong_password");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page.render("profile/password.html", &view)?)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
