//! IssueInvoice: the monthly invoice run (`mujibak_core::billing::run`). The cron tick at
//! 00:10 Riyadh on the 1st enqueues [`IssueInvoice::Run`] for the month that ended (a
//! worker that was down over the 1st enqueues the missed tick at start-up); the run
//! enqueues one [`IssueInvoice::Tenant`] per billable business, and each issues that
//! business's invoice and emails its owners in the same transaction. Issuing returns the
//! period's existing invoice instead of a second one, so a replayed tick, a retried job or
//! two runs at once issue each invoice once and email it once.

use chrono::{NaiveDate, Utc};
use mujibak_core::{
    billing::{money, run},
    domain::TenantId,
    notices,
};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobContext, JobError};

/// Invoice every billable business for `period`, or one of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IssueInvoice {
    /// The run for the month starting `period`.
    Run { period: NaiveDate },
    /// `tenant_id`'s invoice for the month starting `period`.
    Tenant { tenant_id: TenantId, period: NaiveDate },
}

impl Job for IssueInvoice {
    const QUEUE: &'static str = "issue_invoice";
    const MAX_ATTEMPTS: u32 = 12;
    const CONCURRENCY: usize = 1;

    fn tenant(&self) -> Option<TenantId> {
        match self {
            IssueInvoice::Tenant { tenant_id, .. } => Some(*tenant_id),
            IssueInvoice::Run { .. } => None,
        }
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let (tenant, period) = match self {
            IssueInvoice::Run { period } => {
                let tenants = run::billable(&ctx.db, period).await.map_err(JobError::transient)?;
                let jobs: Vec<_> =
                    tenants.iter().map(|&t| IssueInvoice::Tenant { tenant_id: t, period }).collect();
                let mut tx = ctx.db.begin().await?;
                crate::enqueue_many(&mut tx, &jobs).await.map_err(JobError::transient)?;
                tx.commit().await?;
                tracing::info!(%period, businesses = jobs.len(), "invoice run enqueued");
                return Ok(());
            }
            IssueInvoice::Tenant { tenant_id, period } => (tenant_id, period),
        };
        let seller = ctx.seller.as_ref().ok_or_else(|| {
            JobError::transient(anyhow::anyhow!(
                "SELLER_NAME, SELLER_VAT_NUMBER and SELLER_ADDRESS are not set"
            ))
        })?;
        let mut tx = ctx.db.begin().await?;
        let issued =
            run::issue_for(&mut tx, tenant, period, seller, Utc::now()).await.map_err(JobError::transient)?;
        if let Some(invoice) = &issued {
            let link = format!("{}/billing", ctx.base_url);
            let total = money::sar(invoice.total);
            crate::notify::owners(&mut tx, tenant, "invoice_issued", |business| {
                notices::invoice_issued(business, &invoice.number, &total, &link)
            })
            .await?;
        }
        tx.commit().await?;
        if let Some(invoice) = issued {
            tracing::info!(tenant.id = %tenant, invoice.number = %invoice.number, "invoice issued");
        }
        Ok(())
    }
}
