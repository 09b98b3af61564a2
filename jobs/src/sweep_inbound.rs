//! SweepInbound (cron, every minute): a dead `handle_inbound` job must not lose an event.
//! Messages and statuses still unprocessed a few minutes after they arrived (or after the
//! last sweep) get a new HandleInbound, one per tenant and batch; after [`MAX_SWEEPS`]
//! an event is marked dead with its last error (kept for staff) instead of re-enqueued
//! forever. Also prunes parked statuses older than 30 days.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use mujibak_core::{
    db::{inbound_events, parked_statuses},
    domain::TenantId,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    enqueue,
    handle_inbound::HandleInbound,
    job::{Job, JobContext, JobError},
};

/// An event unprocessed this long (since it arrived or was last swept) is swept.
pub const STALE_AFTER: Duration = Duration::minutes(3);
/// Sweeps before an event is given up (about half an hour).
pub const MAX_SWEEPS: i32 = 10;
/// Events looked at per run.
const BATCH: i64 = 2_000;
/// Events per re-enqueued job.
const PER_JOB: usize = 100;

/// Re-enqueue stale inbound events; give up on those swept too often.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepInbound {}

impl Job for SweepInbound {
    const QUEUE: &'static str = "sweep_inbound";
    const MAX_ATTEMPTS: u32 = 3;
    const CONCURRENCY: usize = 1;
    const OCCASIONAL: bool = true;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let now = Utc::now();
        let mut tenants: HashMap<TenantId, (Vec<Uuid>, Vec<Uuid>)> = HashMap::new();
        for event in inbound_events::stale(&ctx.db, now - STALE_AFTER, BATCH).await? {
            let (again, dead) = tenants.entry(event.tenant_id).or_default();
            if event.sweeps >= MAX_SWEEPS { dead } else { again }.push(event.event_id);
        }
        let (mut swept, mut given_up) = (0, 0);
        for (tenant, (again, dead)) in tenants {
            let mut tx = ctx.db.begin().await?;
            if !dead.is_empty() {
                inbound_events::mark_dead(&mut tx, tenant, &dead).await?;
                tracing::warn!(tenant.id = %tenant, events = dead.len(), sweeps = MAX_SWEEPS, "inbound events given up; kept for staff");
            }
            for ids in again.chunks(PER_JOB) {
                inbound_events::mark_swept(&mut tx, tenant, ids).await?;
                enqueue(&mut tx, &HandleInbound { tenant_id: tenant, event_ids: ids.to_vec() })
                    .await
                    .map_err(JobError::transient)?;
            }
            tx.commit().await?;
            (swept, given_up) = (swept + again.len(), given_up + dead.len());
        }
        let pruned = parked_statuses::prune(&ctx.db, now - Duration::days(30)).await?;
        if swept + given_up > 0 || pruned > 0 {
            tracing::info!(swept, given_up, parked_pruned = pruned, "swept inbound events");
        }
        Ok(())
    }
}
