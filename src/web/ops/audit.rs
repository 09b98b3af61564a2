//! The audit log viewer: newest first, 100 a page, filtered by tenant, actor (`staff`,
//! `user`, `system`, or one actor's id) and action (exact, or a family such as `job_*`).

use axum::{extract::State, response::Response, routing::get};
use mujibak_core::db::audit;
use serde::{Deserialize, Serialize};

use super::{given, show, tenant_filter, StaffCtx};
use crate::{
    state::AppState,
    web::{error::WebError, input::Query, routes::Routes},
};

const LIMIT: i64 = 100;

pub fn routes() -> Routes {
    Routes::new().route("/ops/audit", get(viewer))
}

#[derive(Deserialize, Serialize, Default)]
struct Filters {
    tenant: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    before: Option<String>,
}

#[derive(Serialize)]
struct View {
    filters: Filters,
    entries: Vec<audit::Entry>,
    /// The `before` of the next page, if there may be one.
    next: Option<i64>,
}

async fn viewer(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Query(f): Query<Filters>,
) -> Result<Response, WebError> {
    let tenant = tenant_filter(&f.tenant)?;
    let before = given(&f.before)
        .map(|b| b.parse().map_err(|_| WebError::Invalid("before is an audit id".into())))
        .transpose()?;
    let (actor_kind, actor_id) = match given(&f.actor) {
        None => (None, None),
        Some(kind @ ("user" | "staff" | "system")) => (Some(kind.to_owned()), None),
        Some(id) => (None, Some(id.to_owned())),
    };
    let search =
        audit::Search { tenant, actor_kind, actor_id, action: given(&f.action).map(str::to_owned), before };
    let entries = audit::search(&state.db, &search, LIMIT).await?;
    let next = (entries.len() as i64 == LIMIT).then(|| entries.last().map(|e| e.audit_id)).flatten();
    show(&state, &ctx, "ops/audit.html", &View { filters: f, entries, next })
}
