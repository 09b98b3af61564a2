//! DeleteAccount: purges a tenant whose deletion was asked for, once its grace is over
//! (`mujibak_core::deletion::carry_out`: content, personal rows, job rows and their error
//! history; users anonymised; invoices, usage and audit rows kept). Re-reads the request,
//! so a cancelled or completed one makes it a no-op; safe to run again after a crash. It
//! waits (retrying) while the confirmation email is still queued: the purge erases the
//! address and the outbox.
//!
//! The same queue erases one customer of a business ([`DeleteAccount::Customer`],
//! `mujibak_core::erasure::carry_out`, the same purge scoped to the contact), asked for by
//! an owner from the contact panel.
//!
//! The same queue runs the daily sweep ([`DeleteAccount::Sweep`], a durable cron tick):
//! every open request past its date, or older than `deletion::MUST_PURGE_AFTER` whatever
//! its grace, is carried out there, so a lost or dead job (or a staff request nobody
//! enqueued) cannot keep a tenant's content past day 30. One queue for both because each
//! queue costs every worker a connection, and a worker dyno's pool is exactly full.

use mujibak_core::{
    deletion::{self, Outcome},
    domain::{ContactId, DeletionRequestId, TenantId},
    erasure,
};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobContext, JobError};

/// Purge one tenant for its request, or sweep for every due request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DeleteAccount {
    /// Purge `tenant_id` for its deletion request `request_id`.
    Request { tenant_id: TenantId, request_id: DeletionRequestId },
    /// Purge every tenant whose deletion is due.
    Sweep,
    /// Erase one customer (`contact_id`) of `tenant_id`.
    Customer { tenant_id: TenantId, contact_id: ContactId },
}

impl Job for DeleteAccount {
    const QUEUE: &'static str = "delete_account";
    const MAX_ATTEMPTS: u32 = 12;
    const CONCURRENCY: usize = 1;
    const OCCASIONAL: bool = true;
    /// Content is deleted in paced batches: a large tenant takes minutes, a sweep more.
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6 * 3600);
    const BACKOFF: crate::backoff::Backoff = crate::backoff::Backoff::new(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(3600),
    );

    fn tenant(&self) -> Option<TenantId> {
        match self {
            DeleteAccount::Request { tenant_id, .. } | DeleteAccount::Customer { tenant_id, .. } => {
                Some(*tenant_id)
            }
            DeleteAccount::Sweep => None,
        }
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let (tenant, request) = match self {
            DeleteAccount::Request { tenant_id, request_id } => (tenant_id, request_id),
            DeleteAccount::Sweep => return sweep(ctx).await,
            DeleteAccount::Customer { tenant_id, contact_id } => {
                let rows = erasure::carry_out(&ctx.db, tenant_id, contact_id).await?;
                tracing::info!(tenant.id = %tenant_id, rows, "customer erased");
                return Ok(());
            }
        };
        match deletion::carry_out(&ctx.db, tenant, request).await? {
            Outcome::Nothing | Outcome::Purged(_) => Ok(()),
            // Run early (a clock ahead of the database's): a retry or the sweep runs it.
            Outcome::NotYet(at) => Err(JobError::transient(anyhow::anyhow!("the deletion is due at {at}"))),
            Outcome::WaitingForConfirmation => {
                Err(JobError::transient(anyhow::anyhow!("the confirmation email is not sent yet")))
            }
        }
    }
}

/// Carries out every due request, one tenant after another.
async fn sweep(ctx: &JobContext) -> Result<(), JobError> {
    let (mut purged, mut waiting) = (0, 0);
    for req in deletion::due(&ctx.db).await? {
        match deletion::carry_out(&ctx.db, req.tenant_id, req.request_id).await? {
            Outcome::Purged(_) => purged += 1,
            Outcome::WaitingForConfirmation | Outcome::NotYet(_) => waiting += 1,
            Outcome::Nothing => {}
        }
    }
    tracing::info!(purged, waiting, "deletion sweep done");
    Ok(())
}
