//! Probes: `/healthz` (the process answers) and `/readyz` (the database answers, is fully
//! migrated, and no queue's oldest due job has waited longer than
//! `READYZ_MAX_QUEUE_AGE_SECS`; otherwise 503 saying which queue and how long). Neither
//! touches tenant data.

use axum::{extract::State, routing::get};
use chrono::Utc;
use mujibak_core::db::{self, ops_queues};
use mujibak_jobs::schema;

use super::{error::WebError, routes::Routes};
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
    let oldest = ops_queues::oldest_due(&state.db)
        .await
        .map_err(|_| WebError::Unavailable("queue unreadable".into()))?;
    let limit = state.config.ops.readyz_max_queue_age;
    // Oldest first: the first queue over the limit is the worst.
    if let Some((queue, run_at)) = oldest.first() {
        let waited = (Utc::now() - *run_at).to_std().unwrap_or_default();
        if waited > limit {
            return Err(WebError::Unavailable(format!(
                "degraded: queue {queue} has a job due {}s ago (limit {}s)",
                waited.as_secs(),
                limit.as_secs()
            )));
        }
    }
    Ok("ready")
}
