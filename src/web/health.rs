//! Probes: `/healthz` (the process answers) and `/readyz` (the database answers and is
//! fully migrated). Neither touches tenant data.

use axum::{extract::State, routing::get};
use mujibak_core::db;
use mujibak_jobs::schema;

use super::{routes::Routes, WebError};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Result<&'static str, WebError> {
    db::ping(&state.db).await.map_err(|_| WebError::Unavailable("database unreachable".into()))?;
    let pending = schema::pending(&state.db)
        .await
        .map_err(|_| WebError::Unavailable("migration history unreadable".into()))?;
    if !pending.is_empty() {
        return Err(WebError::Unavailable(format!("{} pending migration(s)", pending.len())));
    }
    Ok("ready")
}
