//! Security incidents (incidents:write, every page): the list with each one's regulator
//! deadline, the form to record one (`incidents::record`, audited), one incident's page
//! (the 72-hour deadline counting down, the affected tenants, notification progress and
//! failures by user id and SMTP reply class, never an address) and "notify affected
//! users" (`notify_breach::fan_out`: the notification rows, their jobs and the audit row
//! in one transaction; running it again queues only users never notified).

use axum::{
    extract::State,
    response::{IntoResponse, Json, Redirect, Response},
    routing::{get, post},
};
use chrono::Utc;
use mujibak_core::{
    db::incidents as db,
    domain::IncidentId,
    incidents::{self, Deadline, Draft, Summary},
};
use mujibak_jobs::notify_breach;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{show, StaffCtx};
use crate::{
    state::AppState,
    web::{error::WebError, extract::PathId, input::Form, routes::Routes},
};

const LIMIT: i64 = 100;

pub fn routes() -> Routes {
    Routes::new()
        .route("/ops/incidents", get(list).post(create))
        .route("/ops/incidents/new", get(new_form))
        .route("/ops/incidents/{incident}", get(detail))
        .route("/ops/incidents/{incident}/notify", post(notify))
}

#[derive(Serialize)]
struct Line {
    #[serde(flatten)]
    summary: Summary,
    deadline: Deadline,
}

#[derive(Serialize)]
struct ListView {
    incidents: Vec<Line>,
}

async fn list(State(state): State<AppState>, ctx: StaffCtx) -> Result<Response, WebError> {
    let now = Utc::now();
    let incidents = db::list(&state.db, LIMIT)
        .await?
        .into_iter()
        .map(|summary| Line { deadline: incidents::deadline(summary.detected_at, now), summary })
        .collect();
    show(&state, &ctx, "ops/incidents.html", &ListView { incidents })
}

#[derive(Serialize)]
struct NewView {
    /// Now in Riyadh, as the form's default `detected_at`.
    now: String,
}

async fn new_form(State(state): State<AppState>, ctx: StaffCtx) -> Result<Response, WebError> {
    let now = Utc::now().with_timezone(&chrono_tz::Asia::Riyadh).format("%Y-%m-%dT%H:%M").to_string();
    show(&state, &ctx, "ops/incident_new.html", &NewView { now })
}

#[derive(Deserialize)]
struct IncidentForm {
    title: Option<String>,
    description_ar: Option<String>,
    description_en: Option<String>,
    detected_at: Option<String>,
    affects: Option<String>,
    tenants: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    ctx: StaffCtx,
    form: Form<IncidentForm>,
) -> Result<Response, WebError> {
    if !form.refused.is_empty() {
        return Err(WebError::BadInput);
    }
    let f = form.data;
    let draft = Draft {
        title: f.title.unwrap_or_default(),
        description_ar: f.description_ar.unwrap_or_default(),
        description_en: f.description_en.unwrap_or_default(),
        detected_at: f.detected_at.unwrap_or_default(),
        affects: f.affects.unwrap_or_default(),
        tenants: f.tenants.unwrap_or_default(),
    };
    let mut tx = state.db.begin().await?;
    let id = incidents::record(&mut tx, &ctx.staff, &draft).await?;
    tx.commit().await?;
    Ok(if ctx.json {
        Json(json!({ "ok": true, "incident_id": id })).into_response()
    } else {
        Redirect::to(&format!("/ops/incidents/{id}")).into_response()
    })
}

async fn detail(
    State(state): State<AppState>,
    ctx: StaffCtx,
    PathId(id): PathId<IncidentId>,
) -> Result<Response, WebError> {
    let overview = incidents::overview(&mut *state.db.acquire().await?, id).await?;
    show(&state, &ctx, "ops/incident.html", &overview)
}

async fn notify(
    State(state): State<AppState>,
    ctx: StaffCtx,
    PathId(id): PathId<IncidentId>,
) -> Result<Response, WebError> {
    let mut tx = state.db.begin().await?;
    let queued = notify_breach::fan_out(&mut tx, &ctx.staff, id).await?;
    tx.commit().await?;
    Ok(if ctx.json {
        Json(json!({ "ok": true, "queued": queued })).into_response()
    } else {
        Redirect::to(&format!("/ops/incidents/{id}")).into_response()
    })
}
