//! The CSRF check of the session middleware: every state-changing request must carry its
//! session's token in its form (`csrf_token`, compared in constant time) and, when the
//! browser sends `Origin`, come from our own origin (`origin::allowed`). The body is read
//! (up to the limit) and handed on intact.

use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::header,
};
use subtle::ConstantTimeEq;

use super::BODY_LIMIT;
use crate::state::AppState;

/// Why a state-changing request was refused before any handler.
pub enum Refused {
    Csrf(&'static str),
    ForeignOrigin(String),
    TooLarge,
}

/// Checks `Origin` and the form's token against `expected`; returns the request, body intact.
pub async fn check(state: &AppState, req: Request, expected: &str) -> Result<Request, Refused> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
        if !super::origin::allowed(origin, &state.config.http.base_url, host, state.sandbox) {
            return Err(Refused::ForeignOrigin(
                origin.chars().filter(|c| !c.is_control()).take(200).collect(),
            ));
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
