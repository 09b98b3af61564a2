//! Billing: the monthly invoice run (`mujibak_core::billing::run`) and collecting each
//! invoice through Moyasar (`collect`), on one queue. The cron tick at 00:10 Riyadh on the
//! 1st enqueues [`Billing::Run`] for the month that ended (a worker that was down over
//! the 1st enqueues the missed tick at start-up); the run enqueues one [`Billing::Issue`]
//! per billable business, and each issues that business's invoice in one transaction with
//! either its email (no Moyasar configured) or [`Billing::Open`], which creates the
//! Moyasar hosted invoice and emails its payment link. Issuing returns the period's
//! existing invoice instead of a second one, so a replayed tick, a retried job or two runs
//! at once issue each invoice once and email it once.
//!
//! The run first applies the cheaper plans owners chose during the month that ended
//! (`db::plans::apply_due`). An owner deleting the account has [`Billing::Issue`] queued
//! for the month before (if its run has not come yet) and for the month it asked in
//! (billed for the days used: `run::issue_for`).
//!
//! Payment: a Moyasar webhook event is stored and [`Billing::Event`] enqueued by the web
//! process; a callback (which carries no secret) enqueues [`Billing::Refetch`]; the hourly
//! [`Billing::Reconcile`] refetches every open invoice, so a lost webhook cannot leave a
//! paid invoice open; the daily [`Billing::Dunning`] reminds and pauses. Each re-reads
//! the invoice from Moyasar before anything is marked paid.

use chrono::{NaiveDate, Utc};
use mujibak_core::{
    billing::{money, run},
    db::{payments, plans},
    domain::TenantId,
    notices,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    collect,
    job::{Job, JobContext, JobError},
};

/// A piece of billing work.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Billing {
    /// The run for the month starting `period`.
    Run { period: NaiveDate },
    /// `tenant_id`'s invoice for the month starting `period`.
    Issue { tenant_id: TenantId, period: NaiveDate },
    /// The Moyasar hosted invoice (payment link) of an issued invoice, emailed to the owners.
    Open { tenant_id: TenantId, invoice_id: Uuid },
    /// A stored Moyasar webhook event.
    Event { event_id: String },
    /// Ask Moyasar about one open invoice.
    Refetch { tenant_id: TenantId, invoice_id: Uuid },
    /// Refetch every open invoice (hourly).
    Reconcile,
    /// Remind unpaid invoices and pause overdue businesses' bots (daily).
    Dunning,
}

impl Job for Billing {
    const QUEUE: &'static str = "billing";
    const MAX_ATTEMPTS: u32 = 12;
    const CONCURRENCY: usize = 1;
    const OCCASIONAL: bool = true;

    fn tenant(&self) -> Option<TenantId> {
        match self {
            Billing::Issue { tenant_id, .. }
            | Billing::Open { tenant_id, .. }
            | Billing::Refetch { tenant_id, .. } => Some(*tenant_id),
            Billing::Run { .. } | Billing::Event { .. } | Billing::Reconcile | Billing::Dunning => None,
        }
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        match self {
            Billing::Run { period } => enqueue_run(ctx, period).await,
            Billing::Issue { tenant_id, period } => issue(ctx, tenant_id, period).await,
            Billing::Open { tenant_id, invoice_id } => collect::open(ctx, tenant_id, invoice_id).await,
            Billing::Event { event_id } => collect::event(ctx, &event_id).await,
            Billing::Refetch { tenant_id, invoice_id } => collect::refetch(ctx, tenant_id, invoice_id).await,
            Billing::Reconcile => reconcile(ctx).await,
            Billing::Dunning => collect::dunning(ctx).await,
        }
    }
}

async fn enqueue_run(ctx: &JobContext, period: NaiveDate) -> Result<(), JobError> {
    // The month has ended: cheaper plans chosen during it start now (as of the 1st).
    for (tenant, from, to) in plans::apply_due(&ctx.db).await? {
        tracing::info!(tenant.id = %tenant, %from, %to, "scheduled plan change applied");
    }
    let tenants = run::billable(&ctx.db, period).await.map_err(JobError::transient)?;
    let jobs: Vec<_> = tenants.iter().map(|&t| Billing::Issue { tenant_id: t, period }).collect();
    let mut tx = ctx.db.begin().await?;
    crate::enqueue_many(&mut tx, &jobs).await.map_err(JobError::transient)?;
    tx.commit().await?;
    tracing::info!(%period, businesses = jobs.len(), "invoice run enqueued");
    Ok(())
}

async fn issue(ctx: &JobContext, tenant: TenantId, period: NaiveDate) -> Result<(), JobError> {
    let seller = ctx.seller.as_ref().ok_or_else(|| {
        JobError::transient(anyhow::anyhow!("SELLER_NAME, SELLER_VAT_NUMBER and SELLER_ADDRESS are not set"))
    })?;
    let mut tx = ctx.db.begin().await?;
    let issued =
        run::issue_for(&mut tx, tenant, period, seller, Utc::now()).await.map_err(JobError::transient)?;
    if let Some(invoice) = &issued {
        if ctx.payments.moyasar.is_some() {
            // The payment link's job emails the invoice with the link.
            let open = Billing::Open { tenant_id: tenant, invoice_id: invoice.invoice_id };
            crate::enqueue(&mut tx, &open).await.map_err(JobError::transient)?;
        } else {
            let link = format!("{}/billing", ctx.base_url);
            let total = money::sar(invoice.total);
            crate::notify::owners(&mut tx, tenant, "invoice_issued", |business| {
                notices::invoice_issued(business, &invoice.number, &total, &link)
            })
            .await?;
        }
    }
    tx.commit().await?;
    if let Some(invoice) = issued {
        tracing::info!(tenant.id = %tenant, invoice.number = %invoice.number, "invoice issued");
    }
    Ok(())
}

/// Refetches every open invoice with a Moyasar invoice, and opens the link of those without.
async fn reconcile(ctx: &JobContext) -> Result<(), JobError> {
    if ctx.payments.moyasar.is_none() {
        return Ok(());
    }
    let jobs: Vec<Billing> = payments::open_invoices(&ctx.db)
        .await?
        .into_iter()
        .map(|(tenant_id, invoice_id, mid)| match mid {
            Some(_) => Billing::Refetch { tenant_id, invoice_id },
            None => Billing::Open { tenant_id, invoice_id },
        })
        .collect();
    let mut tx = ctx.db.begin().await?;
    crate::enqueue_many(&mut tx, &jobs).await.map_err(JobError::transient)?;
    tx.commit().await?;
    tracing::info!(invoices = jobs.len(), "open invoices queued for reconciliation");
    Ok(())
}
