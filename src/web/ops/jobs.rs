//! Jobs: the list filtered by queue, state and tenant (newest 100), one job's detail
//! (payload ids, every attempt's error, timings) and the staff actions retry now, cancel
//! and discard (`core::ops::jobs`, audited; ops:write).

use axum::{
    extract::{Path, State},
    response::Response,
    routing::{get, post},
};
use mujibak_core::{
    db::{jobs as job_history, ops_jobs},
    ops::jobs::{self, Action},
};
use serde::{Deserialize, Serialize};

use super::{done, given, show, tenant_filter, StaffCtx};
use crate::{
    state::AppState,
    web::{error::WebError, input::Query, routes::Routes},
};

/// Rows the list shows.
const LIMIT: i64 = 100;

pub fn routes() -> Routes {
    Routes::new()
        .route("/ops/jobs", get(list))
        .route("/ops/jobs/{job}", get(detail))
        .route(
            "/ops/jobs/{job}/retry",
            post(|s: State<AppState>, c: StaffCtx, p: Path<String>| act(s, c, p, Action::Retry)),
        )
        .route(
            "/ops/jobs/{job}/cancel",
            post(|s: State<AppState>, c: StaffCtx, p: Path<String>| act(s, c, p, Action::Cancel)),
        )
        .route(
            "/ops/jobs/{job}/discard",
            post(|s: State<AppState>, c: StaffCtx, p: Path<String>| act(s, c, p, Action::Discard)),
        )
}

#[derive(Deserialize)]
struct ListQuery {
    queue: Option<String>,
    state: Option<String>,
    tenant: Option<String>,
}

#[derive(Serialize)]
struct ListView {
    queue: Option<String>,
    state: &'static str,
    tenant: Option<String>,
    states: Vec<&'static str>,
    jobs: Vec<ops_jobs::JobSummary>,
    /// How long finished jobs stay: minutes for a clean one, hours for one that failed.
    done_minutes: u64,
    retention_hours: u64,
}

async fn list(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let st = match given(&q.state) {
        None => ops_jobs::State::Pending,
        Some(s) => ops_jobs::State::parse(s).ok_or_else(|| {
            WebError::Invalid("state is one of pending, scheduled, running, retrying, dead, done".into())
        })?,
    };
    let tenant = tenant_filter(&q.tenant)?.map(|t| t.to_string());
    let filter = ops_jobs::Filter { queue: given(&q.queue).map(str::to_owned), state: Some(st), tenant };
    let jobs = ops_jobs::list(&state.db, &filter, LIMIT).await?;
    let states = ops_jobs::State::ALL.iter().map(|s| s.as_str()).collect();
    let queue = &state.config.queue;
    let view = ListView {
        queue: filter.queue,
        state: st.as_str(),
        tenant: filter.tenant,
        states,
        jobs,
        done_minutes: queue.done_retention.as_secs() / 60,
        retention_hours: queue.retention.as_secs() / 3600,
    };
    show(&state, &ctx, "ops/jobs.html", &view)
}

#[derive(Serialize)]
struct DetailView {
    job: ops_jobs::JobSummary,
    /// The payload as stored (JSON of ids only).
    payload: String,
    last_result: Option<serde_json::Value>,
    errors: Vec<ErrorView>,
    dead: bool,
}

#[derive(Serialize)]
struct ErrorView {
    attempt: i32,
    kind: String,
    message: String,
    at: chrono::DateTime<chrono::Utc>,
    retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A job id from the path: text Postgres accepts, or the request is refused.
fn job_id(raw: String) -> Result<String, WebError> {
    if crate::web::input::acceptable(&raw) {
        Ok(raw)
    } else {
        Err(WebError::BadInput)
    }
}

async fn detail(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = job_id(id)?;
    let row = ops_jobs::find(&state.db, &id).await?.ok_or(WebError::NotFound)?;
    let errors = job_history::errors(&state.db, &id)
        .await?
        .into_iter()
        .map(|e| ErrorView {
            attempt: e.attempt,
            kind: e.kind,
            message: e.message,
            at: e.created_at,
            retry_at: e.retry_at,
        })
        .collect();
    let s = &row.summary;
    let dead = s.status == "Killed" || (s.status == "Failed" && s.attempts >= s.max_attempts);
    let view = DetailView {
        payload: String::from_utf8_lossy(&row.job).into_owned(),
        last_result: row.last_result,
        errors,
        dead,
        job: row.summary,
    };
    show(&state, &ctx, "ops/job.html", &view)
}

async fn act(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, WebError> {
    let id = job_id(id)?;
    jobs::apply(&state.db, &ctx.staff, &id, action).await?;
    if action == Action::Retry {
        mujibak_queue::announce::due(&id);
    }
    let back =
        if action == Action::Discard { "/ops/jobs?state=dead".to_owned() } else { format!("/ops/jobs/{id}") };
    Ok(done(&ctx, &back))
}
