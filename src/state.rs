//! Shared state of the web process, built once at start.

use std::sync::Arc;

use mujibak_core::Config;
use sqlx::PgPool;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The Postgres pool (sessions, data, the queue).
    pub db: PgPool,
    /// The process configuration.
    pub config: Arc<Config>,
}
