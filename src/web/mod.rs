//! The axum router: every area's `routes()` merged, and the layers every request passes
//! (trace, timeout, body limit).

mod error;
mod health;

use std::time::Duration;

use axum::{extract::DefaultBodyLimit, Router};
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

pub use error::WebError;

use crate::state::AppState;

/// Largest request body accepted anywhere (webhooks included).
pub const BODY_LIMIT: usize = 256 * 1024;

/// The production router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(15),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
