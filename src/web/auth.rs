//! Signing up, in and out, and resetting a forgotten password. Sign-in and sign-up are
//! rate-limited in Postgres (so limits hold across replicas); sign-in failures never say
//! whether the email exists.

use std::time::Duration;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use mujibak_core::{
    accounts::{self, AccountError, SignUp},
    db::rate_limits,
    domain::{EmailAddress, Locale, NewPassword},
};
use serde::Deserialize;

use super::{
    extract::{safe_next, ClientIp, Page},
    forms::FormView,
    session::{end_session, set_flash, start_session},
    WebError,
};
use crate::{mail, state::AppState};

/// Failed sign-ins allowed per email and client address in a window.
pub const SIGNIN_FAILURES: i32 = 5;
const SIGNIN_WINDOW: Duration = Duration::from_secs(15 * 60);
const SIGNUPS_PER_HOUR: i32 = 10;
const RESETS_PER_HOUR: i32 = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
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

async fn signup(
    State(state): State<AppState>,
    page: Page,
    ip: ClientIp,
    Form(f): Form<SignUpForm>,
) -> Result<Response, WebError> {
    limit(&state, &format!("signup:{}", ip.0), SIGNUPS_PER_HOUR, Duration::from_secs(3600), true).await?;
    let mut view = FormView::default()
        .value("name", &f.name)
        .value("email", &f.email)
        .value("business_name", &f.business_name)
        .value("locale", &f.locale);
    let email =
        EmailAddress::parse(&f.email).map_err(|k| view.error(&page, "email", &format!("errors.{k}"))).ok();
    let (name, business) = (f.name.trim(), f.business_name.trim());
    if name.is_empty() || name.chars().count() > 200 {
        view.error(&page, "name", "errors.required");
    }
    if business.is_empty() || business.chars().count() > 200 {
        view.error(&page, "business_name", "errors.required");
    }
    let password = NewPassword::parse(&f.password, &[&f.email, name, business])
        .map_err(|k| view.error(&page, "password", &format!("errors.{k}")))
        .ok();
    let locale = Locale::parse(&f.locale).unwrap_or(page.session.locale);
    let (Some(email), Some(password), true) = (email, password, view.is_valid()) else {
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, page.render("auth/signup.html", &view)?).into_response()
        );
    };
    let new = SignUp { name: name.into(), email, business_name: business.into(), password, locale };
    match accounts::sign_up(&state.db, new).await {
        Ok(user) => {
            let response = start_session(&state, &page.session, &user, "/dashboard").await?;
            Ok(response)
        }
        Err(AccountError::EmailTaken) => {
            view.error(&page, "email", "errors.email_taken");
            page.invalid("auth/signup.html", &view)
        }
        Err(e) => Err(e.into()),
    }
}

async fn signin_form(page: Page, Query(q): Query<NextQuery>) -> Result<impl IntoResponse, WebError> {
    page.render("auth/signin.html", &FormView::default().extra("next", &safe_next(q.next.as_deref())))
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
    Form(f): Form<SignInForm>,
) -> Result<Response, WebError> {
    let email_key = f.email.trim().to_lowercase();
    let bucket = format!("signin:{}:{}", ip.0, hex_digest(&email_key));
    limit(&state, &bucket, SIGNIN_FAILURES, SIGNIN_WINDOW, false).await?;
    limit(&state, &format!("signin-ip:{}", ip.0), 50, SIGNIN_WINDOW, true).await?;
    let next = safe_next(f.next.as_deref());
    match accounts::authenticate(&state.db, &f.email, &f.password).await {
        Ok(user) => {
            rate_limits::clear(&state.db, &bucket).await?;
            start_session(&state, &page.session, &user, &next).await
        }
        Err(AccountError::InvalidCredentials) => {
            rate_limits::hit(&state.db, &bucket, SIGNIN_WINDOW).await?;
            let mut view = FormView::default().value("email", &f.email).extra("next", &next);
            view.error(&page, "form", "errors.invalid_credentials");
            page.invalid("auth/signin.html", &view)
        }
        Err(e) => Err(e.into()),
    }
}

async fn signout(State(state): State<AppState>, page: Page) -> Result<Response, WebError> {
    end_session(&state, &page.session, "/signin").await
}

async fn forgot_form(page: Page) -> Result<impl IntoResponse, WebError> {
    page.render("auth/forgot.html", &FormView::default())
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

/// Always answers the same, whether or not the email has an account.
async fn forgot(
    State(state): State<AppState>,
    page: Page,
    ip: ClientIp,
    Form(f): Form<ForgotForm>,
) -> Result<Response, WebError> {
    limit(&state, &format!("forgot:{}", ip.0), RESETS_PER_HOUR, Duration::from_secs(3600), true).await?;
    let mut tx = state.db.begin().await?;
    if let Some((user, token)) = accounts::start_password_reset(&mut tx, &f.email).await? {
        let data = mail::LinkMail {
            name: user.name.clone(),
            link: format!("{}/reset/{token}", state.config.http.base_url),
        };
        let outgoing = mail::Outgoing {
            kind: "password_reset",
            tenant_id: Some(user.tenant_id),
            to: &user.email,
            locale: user.locale,
            data: &data,
        };
        mail::queue(&mut tx, &state.views, outgoing).await?;
    }
    tx.commit().await?;
    set_flash(&state, &page.session, "info", "flash.reset_sent").await?;
    Ok(Redirect::to("/signin").into_response())
}

async fn reset_form(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    if !accounts::reset_token_valid(&state.db, &token).await? {
        return Ok(
            (StatusCode::GONE, page.render("auth/link_invalid.html", &FormView::default())?).into_response()
        );
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
    Form(f): Form<ResetForm>,
) -> Result<Response, WebError> {
    let password = match NewPassword::parse(&f.password, &[]) {
        Ok(p) => p,
        Err(key) => {
            let mut view = FormView::default();
            view.error(&page, "password", &format!("errors.{key}"));
            return Ok(
                (StatusCode::UNPROCESSABLE_ENTITY, page.render("auth/reset.html", &view)?).into_response()
            );
        }
    };
    match accounts::reset_password(&state.db, &token, password).await {
        Ok(_) => {
            set_flash(&state, &page.session, "success", "flash.password_reset").await?;
            Ok(Redirect::to("/signin").into_response())
        }
        Err(AccountError::InvalidToken) => {
            Ok((StatusCode::GONE, page.render("auth/link_invalid.html", &FormView::default())?)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses with 429 once `bucket` has `max` hits in its window; with `count`, this request
/// is itself a hit.
pub async fn limit(
    state: &AppState,
    bucket: &str,
    max: i32,
    window: Duration,
    count: bool,
) -> Result<(), WebError> {
    let current = if count {
        Some(rate_limits::hit(&state.db, bucket, window).await?).filter(|w| w.hits > max)
    } else {
        rate_limits::current(&state.db, bucket, window).await?.filter(|w| w.hits >= max)
    };
    match current {
        Some(w) => {
            let wait = (w.resets_at - chrono::Utc::now()).num_seconds().max(1) as u64;
            tracing::warn!(bucket = bucket.split(':').next().unwrap_or(""), "rate limit reached");
            Err(WebError::RateLimited(wait))
        }
        None => Ok(()),
    }
}

/// A short digest so rate-limit keys hold no email address.
fn hex_digest(s: &str) -> String {
    mujibak_core::auth::token_digest(s).iter().take(12).map(|b| format!("{b:02x}")).collect()
}
