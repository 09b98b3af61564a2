//! Sessions and CSRF, as one middleware in front of every page.
//!
//! Every browser request (not probes, static files or webhooks) gets a server-side session:
//! the cookie holds a random token, Postgres holds its SHA-256, the user (if signed in),
//! the CSRF token and flash messages. Signed-out visitors get an anonymous session, which
//! sign-in replaces (the id rotates). Every state-changing request must carry the
//! session's CSRF token in its form (`csrf_token`) and, when the browser sends `Origin`,
//! come from our own origin; otherwise it gets 403 and reaches no handler.

use axum::{
    body::{to_bytes, Body},
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
use subtle::ConstantTimeEq;

use super::{error::render_error_page, WebError, BODY_LIMIT};
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

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, WebError> {
    let cookie = cookie(req.headers(), SESSION_COOKIE);
    let idle = state.config.session.idle.as_secs() as i64;
    let found = match &cookie {
        Some(token) => sessions::find_live(&state.db, &auth::token_digest(token), idle).await?,
        None => None,
    };
    let (row, new_token) = match found {
        Some(row) => (row, None),
        None => {
            let (token, hash) = auth::new_token();
            let (csrf, _) = auth::new_token();
            let expires =
                Utc::now() + chrono::Duration::from_std(state.config.session.max_age).unwrap_or_default();
            sessions::create(&mut *state.db.acquire().await?, &hash, None, &csrf, expires).await?;
            let row = sessions::find_live(&state.db, &hash, idle)
                .await?
                .ok_or(WebError::Internal(anyhow::anyhow!("a session just created is not found")))?;
            (row, Some(token))
        }
    };
    if new_token.is_none() && Utc::now() - row.last_seen_at > chrono::Duration::seconds(60) {
        sessions::touch(&state.db, &row.session_hash).await?;
    }
    let user = match (row.tenant_id, row.user_id) {
        (Some(t), Some(u)) => users::get(&mut *state.db.acquire().await?, t, u).await?,
        _ => None,
    };
    let locale = user.as_ref().map(|u| u.locale).unwrap_or_else(|| request_locale(req.headers()));
    let flash = row
        .flash
        .as_ref()
        .and_then(|f| f.0.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| Some((f.get("kind")?.as_str()?.to_owned(), f.get("key")?.as_str()?.to_owned())))
        .collect::<Vec<_>>();
    let ctx =
        SessionCtx { hash: row.session_hash.clone(), csrf: row.csrf_token.clone(), user, flash, locale };

    let mut req = req;
    req.extensions_mut().insert(ctx.clone());
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = if unsafe_method {
        match check_csrf(&state, req, &ctx.csrf).await {
            Ok(req) => next.run(req).await,
            Err(Refused::TooLarge) => render_error_page(&state, &ctx, StatusCode::PAYLOAD_TOO_LARGE, "/"),
            Err(Refused::Csrf(reason)) => {
                tracing::warn!(reason, "request refused: CSRF check failed");
                render_error_page(&state, &ctx, StatusCode::FORBIDDEN, "/")
            }
            Err(Refused::ForeignOrigin(origin)) => {
                tracing::warn!(%origin, expected = %state.config.http.base_url,
                    "request refused: its Origin is not BASE_URL (set BASE_URL to the address users open)");
                render_error_page(&state, &ctx, StatusCode::FORBIDDEN, "/")
            }
        }
    } else {
        next.run(req).await
    };
    let mut response = match response.extensions().get::<super::error::ErrorPage>().copied() {
        Some(page) => {
            let mut rendered = render_error_page(&state, &ctx, page.0, "/");
            if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
                rendered.headers_mut().insert(header::RETRY_AFTER, retry.clone());
            }
            rendered
        }
        None => response,
    };
    if !ctx.flash.is_empty() && response.status().is_success() {
        sessions::clear_flash(&state.db, &ctx.hash).await?;
    }
    if let Some(token) = new_token {
        append_cookie(&mut response, &session_cookie(&state, &token));
    }
    Ok(response)
}

/// Reads the body (up to the limit) to find `csrf_token`, compares it in constant time,
/// checks `Origin`, and hands the request on with its body intact.
enum Refused {
    Csrf(&'static str),
    ForeignOrigin(String),
    TooLarge,
}

async fn check_csrf(state: &AppState, req: Request, expected: &str) -> Result<Request, Refused> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
        if !super::origin::allowed(origin, &state.config.http.base_url, host, state.sandbox) {
            return Err(Refused::ForeignOrigin(origin.chars().take(200).collect()));
        }
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT).await.map_err(|_| Refused::TooLarge)?;
    let sent = form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf_token").map(|(_, v)| v.into_owned());
    match sent {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(Refused::Csrf("missing or wrong token")),
    }
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

/// Shows `key` (a catalog key) as a `kind` message (success, error, info) on the next page.
pub async fn set_flash(
    state: &AppState,
    session: &SessionCtx,
    kind: &str,
    key: &str,
) -> Result<(), WebError> {
    let flash = serde_json::json!([{ "kind": kind, "key": key }]);
    sessions::set_flash(&state.db, &session.hash, &flash).await?;
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
    let expires = Utc::now() + chrono::Duration::from_std(state.config.session.max_age).unwrap_or_default();
    let mut tx = state.db.begin().await?;
    sessions::delete(&mut tx, &old.hash).await?;
    sessions::create(&mut tx, &hash, Some((user.tenant_id, user.user_id)), &csrf, expires).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %user.tenant_id, user.id = %user.user_id, "signed in");
    let mut response = axum::response::Redirect::to(next).into_response();
    append_cookie(&mut response, &session_cookie(state, &token));
    Ok(response)
}

/// Signs out: the session is deleted and a fresh anonymous one carries the goodbye flash.
pub async fn end_session(state: &AppState, old: &SessionCtx, next: &str) -> Result<Response, WebError> {
    let mut tx = state.db.begin().await?;
    sessions::delete(&mut tx, &old.hash).await?;
    let (token, hash) = create_session(state, &mut tx, None).await?;
    tx.commit().await?;
    let flash = serde_json::json!([{ "kind": "info", "key": "flash.signed_out" }]);
    sessions::set_flash(&state.db, &hash, &flash).await?;
    let mut response = axum::response::Redirect::to(next).into_response();
    append_cookie(&mut response, &session_cookie(state, &token));
    Ok(response)
}

/// A new session (fresh token and CSRF token) for `user`, or anonymous.
async fn create_session(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    user: Option<&User>,
) -> Result<(String, Vec<u8>), WebError> {
    let (token, hash) = auth::new_token();
    let (csrf, _) = auth::new_token();
    let expires = Utc::now() + chrono::Duration::from_std(state.config.session.max_age).unwrap_or_default();
    sessions::create(conn, &hash, user.map(|u| (u.tenant_id, u.user_id)), &csrf, expires).await?;
    Ok((token, hash))
}
