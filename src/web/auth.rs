//! Signing up, in and out, and resetting a forgotten password. Sign-up answers the same
//! whether or not the address has an account ("check your email", and no session): the
//! new address gets its confirmation link, an address with an account is told by email
//! that someone tried. Every attempt is counted
//! against the limits of `limits.rs` before it is let through (per client, and sign-in also
//! per client and account); an account's failures from every client together refuse only
//! the clients that failed for it themselves, so nobody can lock the owner out. Sign-in
//! failures never say whether the email exists, and a reset request is answered before the
//! account is looked up (`background.rs`).

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{
    accounts::{self, AccountError, SignUp},
    domain::{name, DisplayName, EmailAddress, Locale, NewPassword},
};
use serde::Deserialize;

use super::{
    error::WebError,
    extract::{ClientIp, Page},
    forms::FormView,
    input::{Form, Query},
    limits::{self, RESETS, SIGNIN, SIGNIN_ACCOUNT, SIGNIN_CLIENT, SIGNUPS, SIGNUP_NOTICES},
    next::safe_next,
    routes::Routes,
    session::{end_session, set_flash, start_session},
};
use crate::{mail, state::AppState};

pub fn routes() -> Routes {
    Routes::new()
        .route("/signup", get(signup_form).post(signup))
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .route("/forgot", get(forgot_form).post(forgot))
        .route("/reset/{token}", get(reset_form).post(reset))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn signup_form(page: Page) -> Result<impl IntoResponse, WebError> {
    page.render("auth/signup.html", &FormView::default().value("locale", page.session.locale.as_str()))
}

#[derive(Deserialize)]
struct SignUpForm {
    name: String,
    email: String,
    business_name: String,
    password: String,
    locale: String,
}

/// The catalog key of a name's error.
pub fn name_error(key: &str) -> String {
    format!("errors.{key}")
}

async fn signup(
    State(state): State<AppState>,
    page: Page,
    ip: ClientIp,
    Form { data: f, refused }: Form<SignUpForm>,
) -> Result<Response, WebError> {
    SIGNUPS.check(&state, &ip.0).await?;
    let mut view = FormView::default()
        .value("name", &f.name)
        .value("email", &f.email)
        .value("business_name", &f.business_name)
        .value("locale", &f.locale);
    let email =
        EmailAddress::parse(&f.email).map_err(|k| view.error(&page, "email", &format!("errors.{k}"))).ok();
    let person = DisplayName::parse(&f.name, name::PERSON_MAX)
        .map_err(|k| view.error(&page, "name", &name_error(k)))
        .ok();
    let business = DisplayName::parse(&f.business_name, name::BUSINESS_MAX)
        .map_err(|k| view.error(&page, "business_name", &name_error(k)))
        .ok();
    let password = NewPassword::parse(&f.password, &[&f.email, &f.name, &f.business_name])
        .map_err(|k| view.error(&page, "password", &format!("errors.{k}")))
        .ok();
    view.refuse(&page, &refused);
    let locale = Locale::parse(&f.locale).unwrap_or(page.session.locale);
    let (Some(email), Some(name), Some(business_name), Some(password), true) =
        (email, person, business, password, view.is_valid())
    else {
        return page.invalid("auth/signup.html", &view);
    };
    let address = email.as_str().to_owned();
    let new = SignUp { name, email, business_name, password, locale };
    let mut tx = state.db.begin().await?;
    match accounts::sign_up(&mut tx, new).await {
        Ok((user, token)) => {
            super::email::queue_verification(&state, &mut tx, &user, &token).await?;
            tx.commit().await?;
        }
        Err(AccountError::EmailTaken) => {
            drop(tx);
            tell_existing(&state, &address).await?;
        }
        Err(e) => return Err(e.into()),
    }
    // The same answer whether or not the address had an account: what happened is said
    // only to the address itself.
    set_flash(&state, &page.session, "info", "flash.signup_check_email").await?;
    Ok(Redirect::to("/signin").into_response())
}

/// Tells the owner of `address` that someone tried to sign up with it (at most
/// `SIGNUP_NOTICES` an hour; beyond it, nothing is sent).
async fn tell_existing(state: &AppState, address: &str) -> Result<(), WebError> {
    if !SIGNUP_NOTICES.allows(&state.db, &limits::email_key(address)).await? {
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    if let Some(owner) = accounts::account_for(&mut tx, address).await? {
        let data = mail::LinkMail {
            name: owner.name.clone(),
            link: format!("{}/signin", state.config.http.base_url),
        };
        let outgoing = mail::Outgoing {
            kind: "signup_existing",
            tenant_id: Some(owner.tenant_id),
            to: &owner.email,
            locale: owner.locale,
            data: &data,
        };
        mail::queue(&mut tx, &state.views, outgoing).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn signin_form(page: Page, Query(q): Query<NextQuery>) -> Result<impl IntoResponse, WebError> {
    let next = safe_next(q.next.as_deref())?;
    page.render("auth/signin.html", &FormView::default().extra("next", &next))
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn signin(
    State(state): State<AppState>,
    page: Page,
    ip: ClientIp,
    Form { data: f, refused }: Form<SignInForm>,
) -> Result<Response, WebError> {
    if refused.iter().any(|field| field == "next") {
        return Err(WebError::BadRequest);
    }
    let next = safe_next(f.next.as_deref())?;
    let mut view = FormView::default().value("email", &f.email).extra("next", &next);
    if !refused.is_empty() {
        view.refuse(&page, &refused);
        return page.invalid("auth/signin.html", &view);
    }
    let account = limits::email_key(&f.email);
    let client_account = format!("{}:{account}", ip.0);
    SIGNIN_CLIENT.check(&state, &ip.0).await?;
    // This client's tries for the account since its last success, this one included.
    let tries = SIGNIN.count(&state, &client_account).await?;
    if tries > 1 && SIGNIN_ACCOUNT.over(&state, &account).await? {
        tracing::warn!(limit = SIGNIN_ACCOUNT.name, "rate limit reached");
        return Err(WebError::RateLimited(SIGNIN_ACCOUNT.window.as_secs()));
    }
    match accounts::authenticate(&state.db, &f.email, &f.password).await {
        Ok(user) => {
            SIGNIN.clear(&state, &client_account).await?;
            start_session(&state, &page.session, &user, &next).await
        }
        Err(AccountError::InvalidCredentials) => {
            SIGNIN_ACCOUNT.record(&state, &account).await?;
            view.error(&page, "form", "errors.invalid_credentials");
            page.invalid("auth/signin.html", &view)
        }
        Err(AccountError::Suspended) => {
            view.error(&page, "form", "errors.account_suspended");
            page.invalid("auth/signin.html", &view)
        }
        Err(AccountError::Deleting) => {
            view.error(&page, "form", "errors.account_deleting");
            page.invalid("auth/signin.html", &view)
        }
        Err(e) => Err(e.into()),
    }
}

async fn signout(State(state): State<AppState>, page: Page) -> Result<Response, WebError> {
    end_session(&state, &page.session, "/signin", "flash.signed_out").await
}

async fn forgot_form(page: Page) -> Result<impl IntoResponse, WebError> {
    page.render("auth/forgot.html", &FormView::default())
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

/// Answers the same, at once, whether or not the email has an account.
async fn forgot(
    State(state): State<AppState>,
    page: Page,
    ip: ClientIp,
    Form { data: f, refused }: Form<ForgotForm>,
) -> Result<Response, WebError> {
    RESETS.check(&state, &ip.0).await?;
    if !refused.is_empty() {
        let mut view = FormView::default();
        view.refuse(&page, &refused);
        return page.invalid("auth/forgot.html", &view);
    }
    if let Ok(email) = EmailAddress::parse(&f.email) {
        state.background.password_reset(&state.db, email.as_str()).await?;
    }
    set_flash(&state, &page.session, "info", "flash.reset_sent").await?;
    Ok(Redirect::to("/signin").into_response())
}

async fn reset_form(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    if !accounts::reset_token_valid(&state.db, &token).await? {
        return page.link_invalid();
    }
    Ok(page.render("auth/reset.html", &FormView::default())?.into_response())
}

#[derive(Deserialize)]
struct ResetForm {
    password: String,
}

async fn reset(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
    Form { data: f, refused }: Form<ResetForm>,
) -> Result<Response, WebError> {
    let mut view = FormView::default();
    view.refuse(&page, &refused);
    let password = match NewPassword::parse(&f.password, &[]) {
        Ok(p) if view.is_valid() => p,
        Ok(_) => return page.invalid("auth/reset.html", &view),
        Err(key) => {
            view.error(&page, "password", &format!("errors.{key}"));
            return page.invalid("auth/reset.html", &view);
        }
    };
    match accounts::reset_password(&state.db, &token, password).await {
        Ok(done) => {
            let flash = if done.cleared { "flash.password_reset_cleared" } else { "flash.password_reset" };
            set_flash(&state, &page.session, "success", flash).await?;
            Ok(Redirect::to("/signin").into_response())
        }
        Err(AccountError::InvalidToken) => page.link_invalid(),
        Err(e) => Err(e.into()),
    }
}
