//! PruneJobs: deletes finished job rows older than the retention, dead ones (and their
//! error history) older than the longer dead-job retention, stale cron ticks, the rows
//! of long-gone workers, and raw webhook events older than `INBOUND_RETENTION_DAYS` that
//! are done with (processed, recorded or given up; they repeat message text and phone
//! numbers). Runs on the `JOB_PRUNE_SCHEDULE` cron. Pending, running and retrying jobs,
//! and unprocessed events, are never pruned: they are work.

use chrono::Utc;
use mujibak_core::db::inbound_events;
use mujibak_queue::db::{cron_ticks, prune};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobContext, JobError};

/// Prune finished job rows older than `JobContext::job_retention`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PruneJobs {}

impl Job for PruneJobs {
    const QUEUE: &'static str = "prune_jobs";
    const MAX_ATTEMPTS: u32 = 3;
    const CONCURRENCY: usize = 1;
    const OCCASIONAL: bool = true;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let retention = chrono::Duration::from_std(ctx.job_retention).map_err(JobError::permanent)?;
        let dead_retention =
            chrono::Duration::from_std(ctx.dead_job_retention).map_err(JobError::permanent)?;
        let cutoff = Utc::now() - retention;
        let (done, dead) = prune::prune_finished(&ctx.db, cutoff, Utc::now() - dead_retention, 5_000).await?;
        let ticks = cron_ticks::prune(&ctx.db, cutoff).await?;
        let inbound_cutoff =
            Utc::now() - chrono::Duration::from_std(ctx.inbound_retention).map_err(JobError::permanent)?;
        let mut events = 0;
        loop {
            let batch = inbound_events::prune(&ctx.db, inbound_cutoff, 5_000).await?;
            events += batch;
            if batch < 5_000 {
                break;
            }
        }
        tracing::info!(
            done,
            dead,
            ticks,
            inbound_events = events,
            "pruned finished jobs and old webhook events"
        );
        Ok(())
    }
}
