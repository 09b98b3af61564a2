//! Reading a WhatsApp webhook's body, only once its URL key named a connection, under
//! three bounds: at most [`WEBHOOK_BODY_LIMIT`] bytes (413), within [`READ_TIMEOUT`] (408),
//! and within the process's budget of webhook bytes in flight (`WEBHOOK_INFLIGHT_MB`; past
//! it, 503 with `Retry-After`: Meta retries). The budget is taken by the declared length
//! (or the whole limit when none is declared) before a byte is read, and given back when
//! the delivery has been handled. Every refusal closes the connection, so an unread body
//! is never drained.

use std::{sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest webhook delivery accepted: Meta batches, and answers a 413 by retrying the
/// same delivery for days. The rest of the app keeps [`super::BODY_LIMIT`].
pub const WEBHOOK_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// How long a delivery's body may take to arrive once its headers have.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The budget is counted in KiB (a semaphore's permits).
const UNIT: usize = 1024;

/// The process's budget of webhook bytes being read.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Self(Arc::new(Semaphore::new((bytes / UNIT).max(1))))
    }
}

/// A body read, with its share of the budget (given back when dropped).
pub struct Read {
    pub bytes: Bytes,
    _share: OwnedSemaphorePermit,
}

/// `status`, with the connection closed.
pub fn refusal(status: StatusCode) -> Response {
    let mut response = (status, status.canonical_reason().unwrap_or("")).into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

/// Reads `body` (announced by `headers`) within the bounds; the refusal's status if not.
pub async fn read(budget: &InFlight, headers: &HeaderMap, body: Body) -> Result<Read, StatusCode> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > WEBHOOK_BODY_LIMIT) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let units = declared.unwrap_or(WEBHOOK_BODY_LIMIT).div_ceil(UNIT).max(1);
    let share = u32::try_from(units)
        .ok()
        .and_then(|n| budget.0.clone().try_acquire_many_owned(n).ok())
        .ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
    match tokio::time::timeout(READ_TIMEOUT, axum::body::to_bytes(body, WEBHOOK_BODY_LIMIT)).await {
        Ok(Ok(bytes)) => Ok(Read { bytes, _share: share }),
        // Only a body of no declared length can outgrow the limit; else the client broke off.
        Ok(Err(_)) if declared.is_none() => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Ok(Err(_)) => Err(StatusCode::BAD_REQUEST),
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}
