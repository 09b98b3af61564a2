//! PruneSessions: deletes ended sessions (idle or past their absolute age) and expired
//! rate-limit windows, and expired ops console sessions. Runs hourly; signed-out visitors' sessions would otherwise pile up.

use std::time::Duration;

use mujibak_core::db::{rate_limits, sessions, staff};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobContext, JobError};

/// Delete ended sessions and stale rate-limit windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PruneSessions {}

impl Job for PruneSessions {
    const QUEUE: &'static str = "prune_sessions";
    const MAX_ATTEMPTS: u32 = 3;
    const CONCURRENCY: usize = 1;

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let idle = ctx.session_idle.as_secs() as i64;
        let ended = sessions::prune(&ctx.db, idle).await?;
        let windows = rate_limits::prune(&ctx.db, Duration::from_secs(24 * 3600)).await?;
        staff::delete_session(&ctx.db, &[]).await?;
        tracing::info!(sessions = ended, rate_limit_windows = windows, "pruned sessions");
        Ok(())
    }
}
