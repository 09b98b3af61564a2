//! PruneSessions: deletes ended sessions (idle or past their absolute age) and expired
//! rate-limit windows, and expired ops console sessions. Runs hourly; signed-out visitors' sessions would otherwise pile up.
//! A rate-limit window names a client's IP address, and the sub-processor page promises
//! it is deleted within 24 hours: windows (an hour at most) older than [`WINDOWS_KEPT`]
//! go, so an hourly run never leaves one past 24 hours.

use std::time::Duration;

use mujibak_core::db::{rate_limits, sessions, staff};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobContext, JobError};

/// How long a rate-limit window (and the IP address in its bucket) is kept after it
/// began: 23 hours, so that the hourly run deletes it before it is 24 hours old.
pub const WINDOWS_KEPT: Duration = Duration::from_secs(23 * 3600);

/// Delete ended sessions and stale rate-limit windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PruneSessions {}

impl Job for PruneSessions {
    const QUEUE: &'static str = "prune_sessions";
    const MAX_ATTEMPTS: u32 = 3;
    const CONCURRENCY: usize = 1;
    const OCCASIONAL: bool = true;

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let idle = ctx.session_idle.as_secs() as i64;
        let ended = sessions::prune(&ctx.db, idle).await?;
        let windows = rate_limits::prune(&ctx.db, WINDOWS_KEPT).await?;
        staff::delete_session(&ctx.db, &[]).await?;
        tracing::info!(sessions = ended, rate_limit_windows = windows, "pruned sessions");
        Ok(())
    }
}
