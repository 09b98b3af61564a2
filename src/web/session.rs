//! Sessions and CSRF, as one middleware in front of every page.
//!
//! Every browser request (not probes, static files or webhooks) has a session: the cookie
//! holds a random token, Postgres holds its SHA-256, the user (if signed in), the CSRF
//! token and flash messages. A signed-out visitor's session is stored only once it has
//! something to keep (a flash message); until then its CSRF token is derived from the
//! cookie token (`auth::csrf_for`), so requests without a cookie write nothing. Sign-in
//! replaces the session (the id rotates). Every state-changing request must pass the CSRF
//! check (`csrf.rs`) or gets 403 and reaches no handler. A signed-in request of an account
//! that is suspended or being deleted is answered by the gate (`gate.rs`) instead. Every page answer is marked
//! `Cache-Control: no-store` (pages hold the CSRF token and, signed in, private data), and
//! error answers, axum's own rejections included, become the localised error page.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use mujibak_core::{
    auth,
    db::{sessions, users, users::User},
    domain::Locale,
};

use super::{
    csrf::{self, Refused},
    error::{page_key, ErrorPage, WebError},
    extract::render_error_page,
};
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "mujibak_session";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "lang";

/// The request's session, as handlers see it (request extension).
#[derive(Debug, Clone)]
pub struct SessionCtx {
    pub hash: Vec<u8>,
    pub csrf: String,
    pub user: Option<User>,
    pub flash: Vec<(String, String)>,
    pub locale: Locale,
    /// Whether a row exists (a signed-out visitor's session is stored only when needed).
    pub stored: bool,
}

/// Paths that never get a session: probes, assets, third-party webhooks.
fn exempt(path: &str) -> bool {
    path == "/healthz" || path == "/readyz" || path.starts_with("/static/") || path.starts_with("/webhooks/")
}

/// The middleware. See the module docs.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if exempt(req.uri().path()) {
        return next.run(req).await;
    }
    match run(state, req, next).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn expires(state: &AppState) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(state.config.session.max_age).unwrap_or_default()
}

/// The session of a request: its live row, or a signed-out one (unstored) for its cookie
/// token or a new token (returned, to be set as the cookie).
async fn load(state: &AppState, headers: &HeaderMap) -> Result<(SessionCtx, Option<String>), WebError> {
    let cookie = cookie(headers, SESSION_COOKIE).filter(|t| auth::well_formed(t));
    let idle = state.config.session.idle.as_secs() as i64;
    let found = match &cookie {
        Some(token) => sessions::find_live(&state.db, &auth::token_digest(token), idle).await?,
        None => None,
    };
    let Some(row) = found else {
        let (token, new) = match cookie {
            Some(token) => (token, false),
            None => (auth::new_token().0, true),
        };
        let ctx = SessionCtx {
            hash: auth::token_digest(&token),
            csrf: auth::csrf_for(&token),
            user: None,
            flash: Vec::new(),
            locale: request_locale(headers),
            stored: false,
        };
        return Ok((ctx, new.then_some(token)));
    };
    if Utc::now() - row.last_seen_at > chrono::Duration::seconds(60) {
        sessions::touch(&state.db, &row.session_hash).await?;
    }
    let user = match (row.tenant_id, row.user_id) {
        (Some(t), Some(u)) => users::get(&mut *state.db.acquire().await?, t, u).await?,
        _ => None,
    };
    let locale = user.as_ref().map(|u| u.locale).unwrap_or_else(|| request_locale(headers));
    let flash = row
        .flash
        .as_ref()
        .and_then(|f| f.0.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| Some((f.get("kind")?.as_str()?.to_owned(), f.get("key")?.as_str()?.to_owned())))
        .collect::<Vec<_>>();
    Ok((SessionCtx { hash: row.session_hash, csrf: row.csrf_token, user, flash, locale, stored: true }, None))
}

/// A NUL byte in the path or query (percent-encoded): no field or id of ours holds one.
fn nul_in_uri(req: &Request) -> bool {
    let uri = req.uri();
    let has = |s: &str| s.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0');
    has(uri.path()) || uri.query().is_some_and(has)
}

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, WebError> {
    let (ctx, new_token) = load(&state, req.headers()).await?;
    let mut req = req;
    req.extensions_mut().insert(ctx.clone());
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let gated = super::gate::check(&state, &ctx, req.uri().path()).await?;
    let response = if nul_in_uri(&req) {
        WebError::BadInput.into_response()
    } else if let Some(gated) = gated {
        gated
    } else if unsafe_method {
        match csrf::check(&state, req, &ctx.csrf).await {
            Ok(req) => next.run(req).await,
            Err(Refused::TooLarge) => WebError::Plain(StatusCode::PAYLOAD_TOO_LARGE).into_response(),
            Err(Refused::Csrf(reason)) => {
                tracing::warn!(reason, "request refused: CSRF check failed");
                WebError::Forbidden.into_response()
            }
            Err(Refused::ForeignOrigin(origin)) => {
                tracing::warn!(%origin, expected = %state.config.http.base_url,
                    "request refused: its Origin is not BASE_URL (set BASE_URL to the address users open)");
                WebError::Forbidden.into_response()
            }
        }
    } else {
        next.run(req).await
    };
    let mut response = error_page(&state, &ctx, response);
    if !ctx.flash.is_empty() && response.status().is_success() {
        sessions::clear_flash(&state.db, &ctx.hash).await?;
    }
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(token) = new_token {
        append_cookie(&mut response, &session_cookie(&state, &token));
    }
    Ok(response)
}

/// Renders the localised error page for a marked error answer, and for an error answer in
/// plain text (axum's extractor rejections), keeping `Retry-After`.
fn error_page(state: &AppState, ctx: &SessionCtx, response: Response) -> Response {
    let status = response.status();
    let marked = response.extensions().get::<ErrorPage>().copied();
    let plain = || {
        (status.is_client_error() || status.is_server_error())
            && response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/plain"))
    };
    let page = match marked {
        Some(page) => page,
        None if status == StatusCode::PAYLOAD_TOO_LARGE || plain() => ErrorPage(status, page_key(status)),
        None => return response,
    };
    let mut rendered = render_error_page(state, ctx, page.0, page.1, "/");
    if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
        rendered.headers_mut().insert(header::RETRY_AFTER, retry.clone());
    }
    rendered
}

/// Language for a signed-out visitor: the `lang` cookie, else `Accept-Language`, else Arabic.
pub fn request_locale(headers: &HeaderMap) -> Locale {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Locale::parse(&v))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(Locale::Ar)
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for a session token: HttpOnly, SameSite=Lax, Secure under https.
pub fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.config.http.is_https() { "; Secure" } else { "" };
    let max_age = state.config.session.max_age.as_secs();
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// `Set-Cookie` for the language choice (a year).
pub fn lang_cookie(state: &AppState, locale: Locale) -> String {
    let secure = if state.config.http.is_https() { "; Secure" } else { "" };
    format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}", locale.as_str())
}

pub fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Shows `key` (a catalog key) as a `kind` message (success, error, info) on the next page;
/// a signed-out visitor's session is stored now, to keep it.
pub async fn set_flash(
    state: &AppState,
    session: &SessionCtx,
    kind: &str,
    key: &str,
) -> Result<(), WebError> {
    let flash = serde_json::json!([{ "kind": kind, "key": key }]);
    if session.stored {
        sessions::set_flash(&state.db, &session.hash, &flash).await?;
    } else {
        sessions::store_anonymous(&state.db, &session.hash, &session.csrf, &flash, expires(state)).await?;
    }
    Ok(())
}

/// Signs `user` in: the visitor's session is replaced by a new one (new id, new CSRF
/// token), then a redirect to `next` carries the new cookie.
pub async fn start_session(
    state: &AppState,
    old: &SessionCtx,
    user: &User,
    next: &str,
) -> Result<Response, WebError> {
    let (token, hash) = auth::new_token();
    let (csrf, _) = auth::new_token();
    let mut tx = state.db.begin().await?;
    sessions::delete(&mut tx, &old.hash).await?;
    sessions::create(&mut tx, &hash, Some((user.tenant_id, user.user_id)), &csrf, expires(state)).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %user.tenant_id, user.id = %user.user_id, "signed in");
    let mut response = axum::response::Redirect::to(next).into_response();
    append_cookie(&mut response, &session_cookie(state, &token));
    Ok(response)
}

/// Ends this browser's session (if it still has one) and gives it a fresh signed-out one
/// carrying the info message `flash` (a catalog key) to `next`.
pub async fn end_session(
    state: &AppState,
    old: &SessionCtx,
    next: &str,
    flash: &str,
) -> Result<Response, WebError> {
    sessions::delete(&mut *state.db.acquire().await?, &old.hash).await?;
    state.live.streams.end_session(&old.hash);
    let (token, hash) = auth::new_token();
    let flash = serde_json::json!([{ "kind": "info", "key": flash }]);
    sessions::store_anonymous(&state.db, &hash, &auth::csrf_for(&token), &flash, expires(state)).await?;
    let mut response = axum::response::Redirect::to(next).into_response();
    append_cookie(&mut response, &session_cookie(state, &token));
    Ok(response)
}
