//! Deliveries: webhook events that need a person, statuses parked for unknown messages
//! and sends whose outcome is unknown, of one tenant or all (ops:read); reprocess a dead
//! event (its `handle_inbound` job is enqueued in the same transaction as the audit row)
//! or mark one handled (ops:write).

use axum::{
    extract::{Path, State},
    response::Response,
    routing::{get, post},
};
use mujibak_core::{
    db::ops_deliveries::{self, Attention, Parked, Uncertain},
    domain::TenantId,
    ops::deliveries,
};
use mujibak_jobs::handle_inbound::HandleInbound;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{done, show, tenant_filter, StaffCtx};
use crate::{
    state::AppState,
    web::{error::WebError, input::Query, routes::Routes},
};

const LIMIT: i64 = 100;

pub fn routes() -> Routes {
    Routes::new()
        .route("/ops/deliveries", get(list))
        .route(
            "/ops/deliveries/{tenant}/{event}/reprocess",
            post(|s: State<AppState>, c: StaffCtx, p: Path<(String, String)>| {
                act(s, c, p, Action::Reprocess)
            }),
        )
        .route(
            "/ops/deliveries/{tenant}/{event}/handled",
            post(|s: State<AppState>, c: StaffCtx, p: Path<(String, String)>| act(s, c, p, Action::Handled)),
        )
}

#[derive(Deserialize)]
struct Filter {
    tenant: Option<String>,
}

#[derive(Serialize)]
struct View {
    tenant: Option<TenantId>,
    attention: Vec<Attention>,
    parked: Vec<Parked>,
    uncertain: Vec<Uncertain>,
}

async fn list(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Query(f): Query<Filter>,
) -> Result<Response, WebError> {
    let tenant = tenant_filter(&f.tenant)?;
    let view = View {
        tenant,
        attention: ops_deliveries::attention(&state.db, tenant, LIMIT).await?,
        parked: ops_deliveries::parked(&state.db, tenant, LIMIT).await?,
        uncertain: ops_deliveries::uncertain(&state.db, tenant, LIMIT).await?,
    };
    show(&state, &ctx, "ops/deliveries.html", &view)
}

fn ids(tenant: &str, event: &str) -> Result<(TenantId, Uuid), WebError> {
    Ok((tenant.parse().map_err(|_| WebError::NotFound)?, event.parse().map_err(|_| WebError::NotFound)?))
}

/// What staff do with an event.
#[derive(Clone, Copy)]
enum Action {
    Reprocess,
    Handled,
}

async fn act(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Path((tenant, event)): Path<(String, String)>,
    action: Action,
) -> Result<Response, WebError> {
    let (tenant, event) = ids(&tenant, &event)?;
    let mut tx = state.db.begin().await?;
    match action {
        Action::Reprocess => {
            deliveries::reprocess(&mut tx, &ctx.staff, tenant, event).await?;
            mujibak_jobs::enqueue(&mut tx, &HandleInbound { tenant_id: tenant, event_ids: vec![event] })
                .await?;
        }
        Action::Handled => deliveries::mark_handled(&mut tx, &ctx.staff, tenant, event).await?,
    }
    tx.commit().await?;
    Ok(done(&ctx, &format!("/ops/deliveries?tenant={tenant}")))
}
