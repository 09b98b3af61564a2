//! The ops console: Mujibak's own staff watch the queues, act on jobs, look up tenants and
//! read the audit log; Prometheus scrapes `/metrics` (`ops::metrics`) through the same gate. Every page is also the JSON API: the same URL called with a staff
//! token as `Authorization: Bearer` (or with `Accept: application/json` from a console
//! session) answers JSON. `auth` decides who may call what; handlers extract, call core,
//! and answer through [`show`] / [`done`]. English only: the console is for Mujibak's staff.

mod audit;
pub mod auth;
mod deliveries;
mod incidents;
mod jobs;
mod metrics;
mod queues;
mod signin;
mod tenant_actions;
mod tenants;

use axum::{
    middleware,
    response::{Html, IntoResponse, Json, Redirect, Response},
    routing::get,
};
use mujibak_core::domain::{Locale, TenantId};
use serde::Serialize;

pub use auth::StaffCtx;

use super::{error::WebError, routes::Routes};
use crate::state::AppState;

/// Every ops route: sign-in open, the rest behind [`auth::middleware`].
pub fn routes(state: &AppState) -> Routes {
    let guarded = Routes::new()
        .route("/ops", get(|| async { Redirect::to("/ops/queues") }))
        .merge(queues::routes())
        .merge(jobs::routes())
        .merge(deliveries::routes())
        .merge(tenants::routes())
        .merge(tenant_actions::routes())
        .merge(incidents::routes())
        .merge(audit::routes())
        .merge(metrics::routes())
        .map(|r| r.route_layer(middleware::from_fn_with_state(state.clone(), auth::middleware)));
    signin::routes().route("/static/ops.js", get(queues::script)).merge(guarded)
}

#[derive(Serialize)]
struct Layout<'a, T: Serialize> {
    page: &'a T,
    staff: &'a str,
    scopes: Vec<&'static str>,
    csrf: &'a str,
}

/// Answers `data`: JSON for API calls, else `template` inside the console layout.
pub fn show<T: Serialize>(
    state: &AppState,
    ctx: &StaffCtx,
    template: &str,
    data: &T,
) -> Result<Response, WebError> {
    if ctx.json {
        return Ok(Json(data).into_response());
    }
    let layout = Layout {
        page: data,
        staff: &ctx.staff.name,
        scopes: ctx.staff.scopes.iter().map(|s| s.as_str()).collect(),
        csrf: ctx.csrf.as_deref().unwrap_or(""),
    };
    Ok(Html(state.views.render_plain(template, &layout, Locale::En)?).into_response())
}

/// A query field's value, if it says anything (trimmed; empty is absent).
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A `tenant` filter of a list: absent, or a tenant id (anything else is refused).
pub fn tenant_filter(v: &Option<String>) -> Result<Option<TenantId>, WebError> {
    given(v)
        .map(|t| t.parse().map_err(|_| WebError::Invalid("tenant is a tenant id (a UUID)".into())))
        .transpose()
}

/// Answers a completed action: `{"ok": true}` for API calls, else back to `to`.
pub fn done(ctx: &StaffCtx, to: &str) -> Response {
    if ctx.json {
        Json(serde_json::json!({ "ok": true })).into_response()
    } else {
        Redirect::to(to).into_response()
    }
}
