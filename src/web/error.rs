//! `WebError`: the one error type of the web layer. Page errors (400, 403, 404, 429, 500)
//! are marked on the response and rendered as a localised page by the session middleware
//! (which also renders axum's own plain-text rejections this way, so their wording never
//! reaches a visitor); 5xx causes are logged once here and never shown.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use mujibak_core::accounts::AccountError;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A request no page expects (a form missing a field, a `next` that is not our path).
    #[error("bad request")]
    BadRequest,
    /// A query or path holding characters no field accepts (a NUL byte).
    #[error("bad input")]
    BadInput,
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// No credentials, or a token that is unknown, expired or revoked (the ops API).
    #[error("unauthorized")]
    Unauthorized,
    /// The request is understood but the state does not allow it (said in plain words).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A field's value is not acceptable (said in plain words; machine clients).
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("sign-in required")]
    SignInRequired(String),
    #[error("too many attempts; retry in {0}s")]
    RateLimited(u64),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bare status for machine clients (webhooks): no page rendered.
    #[error("{0}")]
    Plain(StatusCode),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Marks a response whose body is to be the localised error page for this status, with
/// the message `key` (under `error_page` in the catalogs).
#[derive(Debug, Clone, Copy)]
pub struct ErrorPage(pub StatusCode, pub &'static str);

/// The error page's message for `status`.
pub fn page_key(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        403 => "forbidden",
        404 => "not_found",
        413 => "too_large",
        429 => "too_many",
        _ => "server",
    }
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<tera::Error> for WebError {
    fn from(e: tera::Error) -> Self {
        Self::Internal(anyhow::anyhow!("template: {e:?}"))
    }
}

impl From<AccountError> for WebError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Unverified | AccountError::Suspended | AccountError::Deleting => Self::Forbidden,
            e => Self::Internal(e.into()),
        }
    }
}

impl From<mujibak_core::ops::OpsError> for WebError {
    fn from(e: mujibak_core::ops::OpsError) -> Self {
        use mujibak_core::ops::OpsError as E;
        match e {
            E::NoSuchJob | E::NoSuchToken => Self::NotFound,
            E::Conflict(why) => Self::Conflict(why.to_owned()),
            E::Db(e) => e.into(),
            e => Self::Invalid(e.to_string()),
        }
    }
}

impl From<mujibak_core::incidents::IncidentError> for WebError {
    fn from(e: mujibak_core::incidents::IncidentError) -> Self {
        use mujibak_core::incidents::IncidentError as E;
        match e {
            E::Invalid(why) => Self::Invalid(why),
            E::NotFound => Self::NotFound,
            E::Database(e) => e.into(),
        }
    }
}

impl From<mujibak_jobs::notify_breach::FanOutError> for WebError {
    fn from(e: mujibak_jobs::notify_breach::FanOutError) -> Self {
        use mujibak_jobs::notify_breach::FanOutError as E;
        match e {
            E::Incident(e) => e.into(),
            E::Queue(e) => e.into(),
        }
    }
}

impl From<mujibak_jobs::enqueue::QueueError> for WebError {
    fn from(e: mujibak_jobs::enqueue::QueueError) -> Self {
        Self::Internal(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut key = None;
        let status = match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::BadInput => {
                key = Some("bad_input");
                StatusCode::BAD_REQUEST
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::SignInRequired(next) => {
                let to = format!(
                    "/signin?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return Redirect::to(&to).into_response();
            }
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(why) => return (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
            Self::Unauthorized => {
                let mut response =
                    (StatusCode::UNAUTHORIZED, "a live staff token is required (Authorization: Bearer)")
                        .into_response();
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            Self::Conflict(why) => return (StatusCode::CONFLICT, why).into_response(),
            Self::Invalid(why) => return (StatusCode::UNPROCESSABLE_ENTITY, why).into_response(),
            Self::Plain(status) => return (status, status.canonical_reason().unwrap_or("")).into_response(),
            Self::Internal(ref e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = (status, status.canonical_reason().unwrap_or("error")).into_response();
        if let Self::RateLimited(secs) = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response.extensions_mut().insert(ErrorPage(status, key.unwrap_or_else(|| page_key(status))));
        response
    }
}
