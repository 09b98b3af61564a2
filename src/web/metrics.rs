//! `/metrics`: the Prometheus page, for a scraper holding the metrics bearer token (never
//! a session). [`render`] sums every process's flushed counts (this process's flushed
//! first) and adds the queue gauges read at scrape time; [`authorize`] is the one check
//! in front of it (`METRICS_TOKEN` today; staff tokens with scope ops:read later). Series
//! and labels: `mujibak_core::metrics` and README "Metrics".

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::Utc;
use mujibak_core::{
    db::{metrics as samples, queue_stats},
    metrics::{expose, flush},
};
use mujibak_jobs::worker::QUEUES;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{routes::Routes, WebError};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    if let Err(refused) = authorize(&state, &headers) {
        return Ok(refused.into_response());
    }
    let page = render(&state).await?;
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    Ok(([(header::CONTENT_TYPE, content_type)], page).into_response())
}

/// The metrics page: every process's counts summed, and the queue gauges.
pub async fn render(state: &AppState) -> Result<String, WebError> {
    let db = &state.db;
    flush::flush_now(db).await?;
    let stale = chrono::Duration::from_std(flush::STALE_AFTER).unwrap_or_default();
    samples::fold_stale(db, Utc::now() - stale).await?;
    let mut all = samples::totals(db).await?;
    let (depth, oldest) = (queue_stats::depth(db).await?, queue_stats::oldest_due(db).await?);
    let queues: Vec<&str> = QUEUES.iter().map(|q| q.name).collect();
    all.extend(expose::queue_gauges(&queues, &depth, &oldest, Utc::now()));
    Ok(expose::render(&all))
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No token is configured: the route does not exist (404).
    Disabled,
    /// No bearer token, or not the right one (401 with a Bearer challenge).
    Unauthorized,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Disabled => StatusCode::NOT_FOUND.into_response(),
            Refused::Unauthorized => {
                let challenge = HeaderValue::from_static("Bearer realm=\"metrics\"");
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
            }
        }
    }
}

/// `Ok` for the configured bearer token, compared in constant time (the one check in
/// front of `/metrics`; staff tokens with scope ops:read will replace it).
pub fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Refused> {
    let Some(token) = &state.config.ops.metrics_token else {
        return Err(Refused::Disabled);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    // Digests first: equal lengths, so the comparison's time says nothing about the token.
    let (want, got) = (Sha256::digest(token.expose_secret().as_bytes()), Sha256::digest(given.as_bytes()));
    if given.is_empty() || !bool::from(want.ct_eq(&got)) {
        return Err(Refused::Unauthorized);
    }
    Ok(())
}
