//! ExportData: builds a tenant's data export (`mujibak_core::export::build`: a ZIP of
//! everything held for it, secrets excepted, written a page at a time into stored chunks),
//! marks it ready for 7 days and emails the owner who asked, in one transaction. A retry
//! starts the build over; an export already ready, failed or given up makes it a no-op.
//! When the last attempt fails the export is marked failed, so the owner can ask again.
//!
//! The same queue runs the hourly expiry ([`ExportData::Expire`], a durable cron tick):
//! every ready export past its 7 days loses its ZIP (one queue for both: each queue costs
//! every worker a connection).

use mujibak_core::{
    db::{emails, tenants, users},
    domain::{EmailId, ExportId, TenantId},
    export::{self, ExportError, Limits},
    notices,
};
use serde::{Deserialize, Serialize};

use crate::job::{current_attempt, Job, JobContext, JobError};

/// Build one export, or expire the old ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ExportData {
    /// Build export `export_id` of `tenant_id`.
    Build { tenant_id: TenantId, export_id: ExportId },
    /// Delete the ZIPs of exports past their 7 days.
    Expire,
}

impl Job for ExportData {
    const QUEUE: &'static str = "export_data";
    const MAX_ATTEMPTS: u32 = 5;
    const CONCURRENCY: usize = 1;
    const OCCASIONAL: bool = true;
    /// A tenant with millions of messages takes minutes.
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

    fn tenant(&self) -> Option<TenantId> {
        match self {
            ExportData::Build { tenant_id, .. } => Some(*tenant_id),
            ExportData::Expire => None,
        }
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let (tenant, id) = match self {
            ExportData::Build { tenant_id, export_id } => (tenant_id, export_id),
            ExportData::Expire => {
                let expired = export::expire(&ctx.db).await.map_err(fault)?;
                tracing::info!(expired, "expired data exports");
                return Ok(());
            }
        };
        let outcome = build(ctx, tenant, id).await;
        if let Err(e) = &outcome {
            let attempt = current_attempt();
            if matches!(e, JobError::Permanent(_)) || attempt.number >= attempt.max {
                export::fail(&ctx.db, tenant, id, "build_failed").await.map_err(fault)?;
            }
        }
        outcome
    }
}

/// A database error is worth a retry; a failure to write the archive is not.
fn fault(e: ExportError) -> JobError {
    match e {
        ExportError::Database(_) | ExportError::AlreadyRunning => JobError::transient(e),
        ExportError::Archive(_) | ExportError::Io(_) | ExportError::TooMany => JobError::permanent(e),
    }
}

async fn build(ctx: &JobContext, tenant: TenantId, id: ExportId) -> Result<(), JobError> {
    let Some(bytes) = export::build(&ctx.db, tenant, id, Limits::default()).await.map_err(fault)? else {
        return Ok(());
    };
    let mut tx = ctx.db.begin().await?;
    let Some(ready) = export::finish(&mut tx, tenant, id, bytes).await.map_err(fault)? else {
        return Ok(());
    };
    if let Some(owner) = users::get(&mut tx, tenant, ready.requested_by).await? {
        let business = tenants::get(&mut tx, tenant).await?.business_name;
        let link = format!("{}/account/export", ctx.base_url);
        let until = ready.expires_at.unwrap_or_default().format("%Y-%m-%d").to_string();
        let (subject, body_text, body_html) = notices::export_ready(&business, &link, &until);
        let email = emails::NewEmail {
            email_id: EmailId::new(),
            tenant_id: Some(tenant),
            kind: "export_ready".into(),
            to_address: owner.email,
            subject,
            body_text,
            body_html,
        };
        crate::send_email::queue(&mut tx, &email).await.map_err(JobError::transient)?;
    }
    tx.commit().await?;
    tracing::info!(export.id = %id, bytes, "data export ready");
    Ok(())
}
