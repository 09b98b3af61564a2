//! ReconcileSend: runs once the reconcile window (`SEND_RECONCILE_SECS`) after a send's
//! outcome became unknown. If Meta's status (matched by our callback data) settled the
//! message meanwhile, there is nothing to do. If it is still `uncertain`, it is queued for
//! one more send with the same callback data, through `send_message` (which re-checks the
//! pause, the window and the connection). At most one resend per message: the resend's
//! own ambiguous outcome is not reconciled again. Idempotent.

use mujibak_core::{db::messages::sending, domain::TenantId};

use crate::{
    enqueue,
    job::{Job, JobContext, JobError},
    sends::SendMessage,
};
use mujibak_core::domain::message::MessageStatus;

pub use crate::sends::ReconcileSend;

impl Job for ReconcileSend {
    const QUEUE: &'static str = "reconcile_send";
    const MAX_ATTEMPTS: u32 = 6;
    const CONCURRENCY: usize = 1;

    fn tenant(&self) -> Option<TenantId> {
        Some(self.tenant_id)
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let (tenant, id) = (self.tenant_id, self.message_id);
        let mut tx = ctx.db.begin().await?;
        let Some(msg) = sending::lock_outbound(&mut tx, tenant, id).await? else { return Ok(()) };
        if msg.status != MessageStatus::Uncertain || msg.resent_at.is_some() {
            return Ok(()); // settled by Meta's status, or already sent once more
        }
        if sending::queue_resend(&mut tx, tenant, id).await? {
            enqueue(&mut tx, &SendMessage { tenant_id: tenant, message_id: id })
                .await
                .map_err(JobError::transient)?;
            tracing::info!(tenant.id = %tenant, message.id = %id, "no status from Meta within the window; sending once more");
        }
        tx.commit().await?;
        Ok(())
    }
}
