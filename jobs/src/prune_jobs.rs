//! PruneJobs: deletes finished job rows older than the retention (and their error history
//! and stale cron ticks). Runs on the `JOB_PRUNE_SCHEDULE` cron. Pending, running, failed
//! and dead jobs are never pruned: they are work or evidence.

use chrono::Utc;
use mujibak_core::db::{cron_ticks, jobs};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobContext, JobError};

/// Prune finished job rows older than `JobContext::job_retention`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PruneJobs {}

impl Job for PruneJobs {
    const QUEUE: &'static str = "prune_jobs";
    const MAX_ATTEMPTS: u32 = 3;
    const CONCURRENCY: usize = 1;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let retention = chrono::Duration::from_std(ctx.job_retention).map_err(JobError::permanent)?;
        let cutoff = Utc::now() - retention;
        let jobs = jobs::prune_finished(&ctx.db, cutoff, 5_000).await?;
        let ticks = cron_ticks::prune(&ctx.db, cutoff).await?;
        tracing::info!(jobs, ticks, "pruned finished jobs");
        Ok(())
    }
}
