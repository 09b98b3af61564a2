//! Opening and closing a console session with a staff token: the token is checked, a
//! session row (hash only) is stored for the token's life or 12 hours, whichever ends first,
//! and its cookie is HttpOnly and SameSite=Strict. Signing in is audited. A sign-in posted
//! by another site is refused (403) before the token is looked at: its `Origin` must be
//! ours and its `Sec-Fetch-Site` none or same-origin when the browser sends them, so no
//! page can swap a staff member's console session for one of its own. Scripts send
//! neither and sign in as before.

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{Duration, Utc};
use mujibak_core::{
    auth,
    db::{audit, staff},
    domain::Locale,
    ops::tokens,
};
use serde::Deserialize;

use super::auth::COOKIE;
use crate::{
    state::AppState,
    web::{
        error::WebError,
        input::{Form, Query},
        next::our_path,
        routes::Routes,
        session::{append_cookie, cookie},
    },
};

pub fn routes() -> Routes {
    Routes::new().route("/ops/signin", get(form).post(sign_in)).route("/ops/signout", post(sign_out))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

#[derive(serde::Serialize)]
struct View {
    error: bool,
    next: String,
}

fn page(state: &AppState, error: bool, next: &str) -> Result<Html<String>, WebError> {
    let view = View { error, next: next.to_owned() };
    Ok(Html(state.views.render_plain("ops/signin.html", &serde_json::json!({ "page": view }), Locale::En)?))
}

async fn form(State(state): State<AppState>, Query(q): Query<Next>) -> Result<Html<String>, WebError> {
    page(&state, false, &target(q.next.as_deref()))
}

/// Where to go after signing in: a console path, else the queues page.
fn target(next: Option<&str>) -> String {
    next.and_then(our_path).filter(|p| p.starts_with("/ops")).unwrap_or_else(|| "/ops/queues".to_owned())
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
    next: Option<String>,
}

/// Whether a browser says the request comes from another site.
fn cross_site(state: &AppState, headers: &HeaderMap) -> bool {
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("(not text)"));
    let fetch_site = text(header::HeaderName::from_static("sec-fetch-site"));
    if fetch_site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return true;
    }
    let host = text(header::HOST);
    text(header::ORIGIN).is_some_and(|origin| {
        !crate::web::origin::allowed(origin, &state.config.http.base_url, host, state.sandbox)
    })
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Form<SignIn>,
) -> Result<Response, WebError> {
    if cross_site(&state, &headers) {
        tracing::warn!("console sign-in refused: posted by another site");
        return Err(WebError::Forbidden);
    }
    if !form.refused.is_empty() {
        return Err(WebError::BadInput);
    }
    let f = form.data;
    let next = target(f.next.as_deref());
    let Some(staff) = tokens::authenticate(&state.db, f.token.trim()).await? else {
        let mut response = page(&state, true, &next)?.into_response();
        *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    };
    let (session, hash) = auth::new_token();
    let (csrf, _) = auth::new_token();
    let expires = staff.expires_at.min(Utc::now() + Duration::hours(12));
    let mut tx = state.db.begin().await?;
    staff::insert_session(&mut tx, &hash, staff.token_id, &csrf, expires).await?;
    audit::record(
        &mut tx,
        None,
        &staff.actor(),
        "staff_signed_in",
        serde_json::json!({ "name": staff.name }),
    )
    .await?;
    tx.commit().await?;
    let mut response = Redirect::to(&next).into_response();
    append_cookie(
        &mut response,
        &cookie_value(&state, &session, (expires - Utc::now()).num_seconds().max(0)),
    );
    Ok(response)
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    if let Some(token) = cookie(&headers, COOKIE).filter(|t| auth::well_formed(t)) {
        staff::delete_session(&state.db, &auth::token_digest(&token)).await?;
    }
    let mut response = Redirect::to("/ops/signin").into_response();
    append_cookie(&mut response, &cookie_value(&state, "", 0));
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

fn cookie_value(state: &AppState, token: &str, max_age: i64) -> String {
    let secure = if state.config.http.is_https() { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}
