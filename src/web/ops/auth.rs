//! Who is calling the ops console: a staff token as `Authorization: Bearer …` (the JSON
//! API) or a console session cookie opened with one (the pages). The middleware runs on
//! every ops route but sign-in: no or dead credentials → 401 (a browser loading a page
//! without a session is sent to sign in), a live token without the route's scope (from
//! `routes::ROUTES`) → 403, a session's form POST without its CSRF token or from a foreign
//! origin → 403. Answers are never cached.

use axum::{
    extract::{FromRequestParts, MatchedPath, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use mujibak_core::{
    auth,
    db::staff,
    ops::{tokens, tokens::Staff},
};

use crate::{
    state::AppState,
    web::{csrf, error::WebError, routes, session::cookie},
};

/// The console session cookie (HttpOnly, SameSite=Strict).
pub const COOKIE: &str = "mujibak_ops";

/// The caller, as handlers see it.
#[derive(Debug, Clone)]
pub struct StaffCtx {
    pub staff: Staff,
    /// Answer in JSON (a Bearer call, or `Accept: application/json`), else HTML.
    pub json: bool,
    /// The console session's CSRF token (`None` for Bearer calls).
    pub csrf: Option<String>,
}

impl FromRequestParts<AppState> for StaffCtx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, WebError> {
        parts.extensions.get::<StaffCtx>().cloned().ok_or(WebError::Unauthorized)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn accepts(headers: &HeaderMap, kind: &str) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains(kind))
}

/// The middleware (see the module docs).
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = match authorize(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(refusal) => refusal,
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn authorize(state: &AppState, mut req: Request) -> Result<Request, Response> {
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let scope = routes::scope(&path).ok_or_else(|| WebError::NotFound.into_response())?;
    let json = accepts(req.headers(), "application/json");
    let ctx = if let Some(presented) = bearer(req.headers()) {
        let staff = tokens::authenticate(&state.db, presented).await.map_err(internal)?;
        let staff = staff.ok_or_else(|| WebError::Unauthorized.into_response())?;
        StaffCtx { staff, json: true, csrf: None }
    } else {
        let session = match cookie(req.headers(), COOKIE).filter(|t| auth::well_formed(t)) {
            Some(t) => staff::find_session(&state.db, &auth::token_digest(&t)).await.map_err(internal)?,
            None => None,
        };
        let Some(session) = session else {
            // A browser's page load goes to sign in; an API call without a token is a 401.
            return Err(if req.method() == Method::GET && accepts(req.headers(), "text/html") {
                let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/ops");
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Redirect::to(&format!("/ops/signin?next={next}")).into_response()
            } else {
                WebError::Unauthorized.into_response()
            });
        };
        StaffCtx { staff: Staff::from(session.token), json, csrf: Some(session.csrf) }
    };
    if !ctx.staff.may(scope) {
        return Err((StatusCode::FORBIDDEN, format!("this token lacks the {scope} scope")).into_response());
    }
    if let (Some(expected), false) = (&ctx.csrf, req.method() == Method::GET) {
        req = csrf::check(state, req, expected).await.map_err(|_| WebError::Forbidden.into_response())?;
    }
    req.extensions_mut().insert(ctx);
    Ok(req)
}

fn internal(e: sqlx::Error) -> Response {
    WebError::from(e).into_response()
}
