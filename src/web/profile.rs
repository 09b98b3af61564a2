//! The profile (correcting name, business name for owners, language, the calendar dates
//! are shown in (Gregorian or Hijri), and the email
//! address: that takes the current password and is confirmed from the new inbox, see
//! `email.rs`) and the password change. Current-password checks count against
//! `limits::PASSWORD_CHECKS`; email changes against `limits::EMAIL_CHANGES`. A new address
//! that another account uses is answered exactly like a free one (its holder is told).

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use mujibak_core::{
    accounts::{self, AccountError, EmailChange},
    db::{tenants, users},
    domain::{name, DisplayName, EmailAddress, Locale, NewPassword, Role},
};
use serde::Deserialize;

use super::{
    auth::name_error,
    error::WebError,
    extract::{CurrentUser, Page},
    forms::FormView,
    input::Form,
    limits::{EMAIL_CHANGES, PASSWORD_CHECKS},
    routes::Routes,
    session::set_flash,
};
use crate::{mail, state::AppState};

pub fn routes() -> Routes {
    Routes::new()
        .route("/profile", get(profile_form).post(save_profile))
        .route("/password", get(password_form).post(change_password))
}

async fn profile_form(page: Page, CurrentUser(user): CurrentUser) -> Result<impl IntoResponse, WebError> {
    let tenant = tenants::get(&mut *page.state.db.acquire().await?, user.tenant_id).await?;
    let view = FormView::default()
        .value("name", &user.name)
        .value("email", &user.email)
        .value("business_name", &tenant.business_name)
        .value("locale", user.locale.as_str())
        .value("calendar", if user.hijri { "hijri" } else { "gregorian" });
    page.render("profile/edit.html", &view)
}

#[derive(Deserialize)]
struct ProfileForm {
    name: String,
    email: String,
    business_name: Option<String>,
    locale: String,
    /// `hijri` or `gregorian`; absent: unchanged.
    calendar: Option<String>,
    current_password: Option<String>,
}

/// Checks the current password (counted per account); on a mismatch the field's error.
async fn current_password_ok(
    state: &AppState,
    page: &Page,
    user: &users::User,
    given: &str,
    view: &mut FormView,
) -> Result<bool, WebError> {
    if given.is_empty() {
        view.error(page, "current_password", "errors.password_needed");
        return Ok(false);
    }
    let key = user.user_id.to_string();
    PASSWORD_CHECKS.check(state, &key).await?;
    if !accounts::password_matches(&state.db, user, given).await? {
        view.error(page, "current_password", "errors.wrong_password");
        return Ok(false);
    }
    PASSWORD_CHECKS.clear(state, &key).await?;
    Ok(true)
}

async fn save_profile(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(user): CurrentUser,
    Form { data: f, refused }: Form<ProfileForm>,
) -> Result<Response, WebError> {
    let is_owner = user.role == Role::Owner;
    let mut view = FormView::default()
        .value("name", &f.name)
        .value("email", &f.email)
        .value("business_name", f.business_name.as_deref().unwrap_or(""))
        .value("locale", &f.locale)
        .value("calendar", f.calendar.as_deref().unwrap_or(if user.hijri { "hijri" } else { "gregorian" }));
    view.refuse(&page, &refused);
    let person = DisplayName::parse(&f.name, name::PERSON_MAX)
        .map_err(|k| view.error(&page, "name", &name_error(k)))
        .ok();
    let business = match f.business_name.as_deref().filter(|_| is_owner) {
        Some(raw) => match DisplayName::parse(raw, name::BUSINESS_MAX) {
            Ok(b) => Some(b),
            Err(k) => {
                view.error(&page, "business_name", &name_error(k));
                None
            }
        },
        None => None,
    };
    let email =
        EmailAddress::parse(&f.email).map_err(|k| view.error(&page, "email", &format!("errors.{k}"))).ok();
    let locale = Locale::parse(&f.locale).unwrap_or(user.locale);
    let (Some(person), Some(email), true) = (person, email, view.is_valid()) else {
        return page.invalid("profile/edit.html", &view);
    };
    let changing = !email.as_str().eq_ignore_ascii_case(&user.email);
    if changing {
        let given = f.current_password.as_deref().unwrap_or("");
        if !current_password_ok(&state, &page, &user, given, &mut view).await? {
            return page.invalid("profile/edit.html", &view);
        }
        EMAIL_CHANGES.check(&state, &user.user_id.to_string()).await?;
    }
    let mut tx = state.db.begin().await?;
    users::update_profile(&mut tx, user.tenant_id, user.user_id, person.as_str(), locale).await?;
    if let Some(calendar) = f.calendar.as_deref() {
        users::set_calendar(&mut tx, user.tenant_id, user.user_id, calendar == "hijri").await?;
    }
    if let Some(business) = business {
        tenants::rename(&mut tx, user.tenant_id, business.as_str()).await?;
    }
    let mut flash = "flash.profile_saved";
    if changing {
        let link = match accounts::start_email_change(&mut tx, &user, &email).await? {
            EmailChange::Confirm(token) => {
                Some(format!("{}/profile/email/{token}", state.config.http.base_url))
            }
            EmailChange::InUse => None,
        };
        let data =
            mail::LinkMail { name: person.as_str().to_owned(), link: link.clone().unwrap_or_default() };
        let kind = if link.is_some() { "email_change" } else { "email_in_use" };
        let outgoing =
            mail::Outgoing { kind, tenant_id: Some(user.tenant_id), to: email.as_str(), locale, data: &data };
        mail::queue(&mut tx, &state.views, outgoing).await?;
        flash = "flash.email_change_sent";
    }
    tx.commit().await?;
    set_flash(&state, &page.session, "success", flash).await?;
    Ok(Redirect::to("/profile").into_response())
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
    Form { data: f, refused }: Form<PasswordForm>,
) -> Result<Response, WebError> {
    let mut view = FormView::default();
    view.refuse(&page, &refused);
    let new = match NewPassword::parse(&f.new_password, &[&user.email, &user.name]) {
        Ok(p) if view.is_valid() => p,
        Ok(_) => return page.invalid("profile/password.html", &view),
        Err(key) => {
            view.error(&page, "new_password", &format!("errors.{key}"));
            return page.invalid("profile/password.html", &view);
        }
    };
    let key = user.user_id.to_string();
    PASSWORD_CHECKS.check(&state, &key).await?;
    match accounts::change_password(&state.db, &user, &f.current_password, new, &page.session.hash).await {
        Ok(()) => {
            PASSWORD_CHECKS.clear(&state, &key).await?;
            set_flash(&state, &page.session, "success", "flash.password_changed").await?;
            Ok(Redirect::to("/profile").into_response())
        }
        Err(AccountError::WrongCurrentPassword) => {
            view.error(&page, "current_password", "errors.wrong_password");
            page.invalid("profile/password.html", &view)
        }
        Err(e) => Err(e.into()),
    }
}
