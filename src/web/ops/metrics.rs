//! `/metrics`: the Prometheus page, for a scraper holding a staff token with scope
//! ops:read (`mujibak staff-token create --scopes ops:read`; checked by the ops console's
//! middleware, `ops::auth`). [`render`] sums every process's flushed counts (this
//! process's flushed first) and adds the queue gauges read at scrape time. Series and
//! labels: `mujibak_core::metrics` and docs/operations.md "Metrics".

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::Utc;
use mujibak_core::{
    db::{metrics as samples, ops_queues},
    metrics::{expose, flush},
};
use mujibak_jobs::worker::QUEUES;

use super::StaffCtx;
use crate::{
    state::AppState,
    web::{error::WebError, routes::Routes},
};

pub fn routes() -> Routes {
    Routes::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>, _: StaffCtx) -> Result<Response, WebError> {
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
    let depth: Vec<(String, String, i64)> = ops_queues::counts(db)
        .await?
        .into_iter()
        .flat_map(|c| {
            let live = [
                ("pending", c.pending),
                ("scheduled", c.scheduled),
                ("retrying", c.retrying),
                ("running", c.running),
            ];
            live.map(|(state, n)| (c.queue.clone(), state.to_owned(), n))
        })
        .collect();
    let oldest = ops_queues::oldest_due(db).await?;
    let queues: Vec<&str> = QUEUES.iter().map(|q| q.name).collect();
    all.extend(expose::queue_gauges(&queues, &depth, &oldest, Utc::now()));
    Ok(expose::render(&all))
}
