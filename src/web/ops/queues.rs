//! The queues page: per queue, counts by state, the oldest runnable job's age, throughput
//! and wait/run percentiles over the last hour and day, and the workers' heartbeats
//! (`core::ops::stats`). The page redraws itself every 5 seconds from its own URL as JSON
//! (`/static/ops.js`), charts included, without a reload.

use axum::{extract::State, http::header, response::IntoResponse, routing::get};
use mujibak_core::ops::stats;
use mujibak_jobs::worker::QUEUES;

use super::{show, StaffCtx};
use crate::{
    state::AppState,
    web::{error::WebError, routes::Routes, views::Views},
};

pub fn routes() -> Routes {
    Routes::new().route("/ops/queues", get(queues))
}

async fn queues(State(state): State<AppState>, ctx: StaffCtx) -> Result<axum::response::Response, WebError> {
    let names: Vec<&str> = QUEUES.iter().map(|q| q.name).collect();
    let overview = stats::overview(&state.db, &names).await?;
    show(&state, &ctx, "ops/queues.html", &overview)
}

/// The queues page's script (served without credentials, like the stylesheet).
pub async fn script() -> impl IntoResponse {
    let js = Views::asset("ops.js").unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        js,
    )
}
