//! Public and shared pages: landing, dashboard home, privacy policy and its sub-processor
//! list, the language switch and the static assets (the stylesheet, the copy buttons'
//! script).

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{
    config::processors::{self, Processor},
    db::{ai_usage, dashboard, inbox, tenants, users},
    domain::Locale,
};
use serde::{Deserialize, Serialize};

use super::{
    error::WebError,
    extract::{CurrentUser, Page},
    input::Form,
    next::safe_next,
    routes::Routes,
    session::{append_cookie, lang_cookie},
    views::Views,
};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .route("/", get(landing))
        .route("/dashboard", get(dashboard))
        .route("/privacy", get(privacy))
        .route("/privacy/processors", get(privacy_processors))
        .route("/lang", post(switch_language))
        .route("/static/app.css", get(stylesheet))
        .route("/static/copy.js", get(copy_script))
}

#[derive(Serialize)]
struct Empty {}

async fn landing(page: Page) -> Result<Response, WebError> {
    if page.session.user.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    Ok(page.render("landing.html", &Empty {})?.into_response())
}

#[derive(Serialize)]
struct Step {
    key: &'static str,
    done: bool,
    link: Option<&'static str>,
}

#[derive(Serialize)]
struct DashboardView {
    business_name: String,
    usage: super::usage::Charts,
    /// This month's AI replies and the plan's allowance.
    ai_used: String,
    ai_limit: String,
    /// The setup steps (the checklist shows until every one is done).
    steps: Vec<Step>,
    /// Share of replies the bot wrote, in percent (`None` before any reply).
    bot_share: Option<i64>,
    /// Conversations waiting for a person.
    waiting: i64,
}

async fn dashboard(page: Page, CurrentUser(me): CurrentUser) -> Result<impl IntoResponse, WebError> {
    let tenant_id = me.tenant_id;
    let mut conn = page.state.db.acquire().await?;
    let tenant = tenants::get(&mut conn, tenant_id).await?;
    let allowance = ai_usage::allowance(&mut conn, tenant_id).await?;
    let setup = dashboard::setup(&mut conn, tenant_id).await?;
    let figures = dashboard::figures(&mut conn, tenant_id, 30).await?;
    let waiting = inbox::counts(&mut conn, tenant_id, me.user_id).await?.needs_person;
    drop(conn);
    let replies = figures.by_bot + figures.by_people;
    let days = mujibak_core::db::usage::last_days(&page.state.db, tenant_id, 30).await?;
    let view = DashboardView {
        business_name: tenant.business_name,
        usage: super::usage::charts(&days),
        ai_used: allowance.used.to_string(),
        ai_limit: allowance.limit.to_string(),
        steps: vec![
            Step { key: "verify", done: me.email_verified, link: Some("/profile") },
            Step { key: "connect", done: setup.connected, link: Some("/settings/whatsapp") },
            Step { key: "bot", done: setup.bot_written, link: Some("/settings/bot") },
            // Outside the sandbox a test message comes from the owner's own phone.
            Step {
                key: "test",
                done: setup.tested,
                link: page.state.sandbox.then_some("/sandbox/simulator"),
            },
            Step { key: "team", done: setup.team_invited, link: Some("/team") },
        ],
        bot_share: (replies > 0).then(|| (figures.by_bot * 100 + replies / 2) / replies),
        waiting,
    };
    page.render("dashboard/home.html", &view)
}

#[derive(Serialize)]
struct PrivacyView {
    ar: String,
    en: String,
}

async fn privacy(page: Page) -> Result<impl IntoResponse, WebError> {
    page.render("privacy.html", &PrivacyView { ar: Views::policy(Locale::Ar), en: Views::policy(Locale::En) })
}

#[derive(Serialize)]
struct ProcessorsView {
    processors: Vec<Processor>,
    /// The page's words in each language (`processors` of both catalogs): like the
    /// policy, the list is shown in Arabic and in English side by side.
    ar: serde_json::Value,
    en: serde_json::Value,
}

/// The processors the running configuration sends data to, and what each receives.
async fn privacy_processors(page: Page) -> Result<impl IntoResponse, WebError> {
    let words = |locale| page.state.views.catalog(locale)["processors"].clone();
    let view = ProcessorsView {
        processors: processors::in_use(&page.state.config),
        ar: words(Locale::Ar),
        en: words(Locale::En),
    };
    page.render("processors.html", &view)
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    next: Option<String>,
}

/// Sets the language cookie; for a signed-in user, also their saved locale.
async fn switch_language(
    State(state): State<AppState>,
    page: Page,
    Form { data: form, refused }: Form<LangForm>,
) -> Result<Response, WebError> {
    // Hidden fields only: nothing typed to show again.
    if !refused.is_empty() {
        return Err(WebError::BadRequest);
    }
    let next = safe_next(form.next.as_deref())?;
    let locale = Locale::parse(&form.lang).unwrap_or(page.session.locale);
    if let Some(user) = &page.session.user {
        users::set_locale(&mut *state.db.acquire().await?, user.tenant_id, user.user_id, locale).await?;
    }
    let mut response = Redirect::to(&next).into_response();
    append_cookie(&mut response, &lang_cookie(&state, locale));
    Ok(response)
}

async fn stylesheet() -> Result<impl IntoResponse, WebError> {
    let css = Views::asset("app.css").ok_or(WebError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        css,
    ))
}

/// The copy buttons' script (the WhatsApp settings page's webhook URL and verify token).
async fn copy_script() -> Result<impl IntoResponse, WebError> {
    let js = Views::asset("copy.js").ok_or(WebError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        js,
    ))
}
