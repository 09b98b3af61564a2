//! The billing job's Moyasar steps (see `billing`): open a payment link, process a webhook
//! event, refetch an invoice, and dunning. Every outside call
//! is made holding no database connection; every state change and its email commit
//! together, so a retried step changes and emails nothing twice.

use anyhow::anyhow;
use chrono::Utc;
use mujibak_core::{
    billing::{
        emails, money,
        pay::{self, Settled},
        Invoice,
    },
    clients::moyasar::{MoyasarError, MoyasarInvoice},
    db::{invoices, payments},
    domain::TenantId,
};
use uuid::Uuid;

use crate::job::{JobContext, JobError};

fn moyasar_error(e: MoyasarError) -> JobError {
    if e.is_retryable() {
        JobError::transient(e)
    } else {
        JobError::permanent(e)
    }
}

/// `tenant`'s invoice with its payment state.
async fn load(
    ctx: &JobContext,
    tenant: TenantId,
    invoice: Uuid,
) -> Result<(Invoice, payments::PaymentState), JobError> {
    let mut conn = ctx.db.acquire().await?;
    let inv = invoices::get(&mut conn, tenant, invoice).await?;
    let state = payments::state(&mut conn, tenant, invoice).await?;
    inv.zip(state)
        .ok_or_else(|| JobError::permanent(anyhow!("invoice {invoice} of tenant {tenant} does not exist")))
}

/// Creates (or finds, after a lost answer) the Moyasar invoice and emails its link.
pub(crate) async fn open(ctx: &JobContext, tenant: TenantId, invoice_id: Uuid) -> Result<(), JobError> {
    let Some(moyasar) = &ctx.payments.moyasar else {
        return Ok(());
    };
    let (invoice, state) = load(ctx, tenant, invoice_id).await?;
    if state.status != "open" || state.moyasar_id.is_some() {
        return Ok(());
    }
    // A previous attempt may have created it and lost the answer: find it by our id first.
    let key = invoice_id.to_string();
    crate::fence().await?;
    let hosted = match moyasar.find_invoice(pay::METADATA_KEY, &key).await.map_err(moyasar_error)? {
        Some(found) => found,
        None => moyasar.create_invoice(&pay::hosted(&invoice, &ctx.base_url)).await.map_err(moyasar_error)?,
    };
    if !(hosted.url.starts_with("https://") || hosted.url.starts_with("http://")) {
        return Err(JobError::permanent(anyhow!("Moyasar invoice {} has no payment URL", hosted.id)));
    }
    let mut tx = ctx.db.begin().await?;
    if payments::record_link(&mut tx, tenant, invoice_id, &hosted.id, &hosted.url).await? {
        let total = money::sar(invoice.total);
        crate::notify::owners(&mut tx, tenant, "invoice_issued", |business| {
            emails::pay_link(business, &invoice.number, &total, &hosted.url)
        })
        .await?;
    }
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant, invoice.number = %invoice.number, "payment link created");
    Ok(())
}

/// A webhook event: re-fetch the payment it names, then the invoice that payment paid.
pub(crate) async fn event(ctx: &JobContext, event_id: &str) -> Result<(), JobError> {
    let Some(ev) = payments::event(&mut *ctx.db.acquire().await?, event_id).await? else {
        return Err(JobError::permanent(anyhow!("no Moyasar event {event_id}")));
    };
    if ev.processed_at.is_some() {
        return Ok(());
    }
    let moyasar = ctx
        .payments
        .moyasar
        .as_ref()
        .ok_or_else(|| JobError::permanent(anyhow!("Moyasar is not configured")))?;
    if ev.kind.starts_with("payment_") {
        match moyasar.payment(&ev.object_id).await {
            Ok(payment) => {
                let ours = match &payment.invoice_id {
                    Some(mid) => payments::by_moyasar_id(&mut *ctx.db.acquire().await?, mid).await?,
                    None => None,
                };
                if let (Some((tenant, invoice_id)), Some(mid)) = (ours, payment.invoice_id.as_deref()) {
                    let fetched = moyasar.invoice(mid).await.map_err(moyasar_error)?;
                    let (invoice, _) = load(ctx, tenant, invoice_id).await?;
                    settle(ctx, tenant, &invoice, &fetched).await?;
                } else {
                    tracing::info!(event.kind = %ev.kind, "Moyasar event for a payment of no invoice of ours");
                }
            }
            // Moyasar does not know it: nothing to act on (a forged or foreign id).
            Err(MoyasarError::Api { http: 404, .. }) => {
                tracing::warn!(event.kind = %ev.kind, "Moyasar event names a payment Moyasar does not have")
            }
            Err(e) => return Err(moyasar_error(e)),
        }
    }
    payments::event_processed(&mut *ctx.db.acquire().await?, event_id).await?;
    Ok(())
}

/// Asks Moyasar about one open invoice and records the answer.
pub(crate) async fn refetch(ctx: &JobContext, tenant: TenantId, invoice_id: Uuid) -> Result<(), JobError> {
    let Some(moyasar) = &ctx.payments.moyasar else {
        return Ok(());
    };
    payments::refetch_started(&ctx.db, tenant, invoice_id).await?;
    let (invoice, state) = load(ctx, tenant, invoice_id).await?;
    let (Some(mid), "open") = (state.moyasar_id, state.status.as_str()) else {
        return Ok(());
    };
    let fetched = moyasar.invoice(&mid).await.map_err(moyasar_error)?;
    settle(ctx, tenant, &invoice, &fetched).await
}

/// Records Moyasar's answer; emails the receipt when it was paid now.
async fn settle(
    ctx: &JobContext,
    tenant: TenantId,
    invoice: &Invoice,
    fetched: &MoyasarInvoice,
) -> Result<(), JobError> {
    let verdict = pay::verdict(invoice.total, fetched);
    let mut tx = ctx.db.begin().await?;
    let settled =
        pay::settle(&mut tx, tenant, invoice.invoice_id, &verdict, ctx.payments.suspend_after, Utc::now())
            .await?;
    if let Settled::Paid { .. } = settled {
        let total = money::sar(invoice.total);
        crate::notify::owners(&mut tx, tenant, "payment_received", |business| {
            emails::payment_received(business, &invoice.number, &total)
        })
        .await?;
    }
    tx.commit().await?;
    match settled {
        Settled::Paid { released } => {
            tracing::info!(tenant.id = %tenant, invoice.number = %invoice.number, bot_resumed = released, "invoice paid")
        }
        Settled::Flagged => tracing::warn!(
            tenant.id = %tenant, invoice.number = %invoice.number,
            "Moyasar reports a payment that does not match the invoice; flagged for staff, left open"
        ),
        Settled::Unchanged => {}
    }
    Ok(())
}

/// Reminds each invoice unpaid `remind_after` after issue (once), and pauses the bot of
/// each business with an invoice unpaid `suspend_after` after issue (until it is paid).
pub(crate) async fn dunning(ctx: &JobContext) -> Result<(), JobError> {
    let now = Utc::now();
    let link = format!("{}/billing", ctx.base_url);
    let days = u32::try_from(ctx.payments.remind_after.num_days()).unwrap_or(0);
    for (tenant, invoice_id) in payments::reminders_due(&ctx.db, now - ctx.payments.remind_after).await? {
        let (invoice, _) = load(ctx, tenant, invoice_id).await?;
        let mut tx = ctx.db.begin().await?;
        if payments::claim_reminder(&mut tx, tenant, invoice_id).await? {
            let total = money::sar(invoice.total);
            crate::notify::owners(&mut tx, tenant, "invoice_reminder", |business| {
                emails::reminder(business, &invoice.number, &total, days, &link)
            })
            .await?;
        }
        tx.commit().await?;
    }
    let overdue = now - ctx.payments.suspend_after;
    for tenant in payments::holds_due(&ctx.db, overdue).await? {
        let mut tx = ctx.db.begin().await?;
        if payments::hold(&mut tx, tenant, overdue).await? {
            crate::notify::owners(&mut tx, tenant, "bot_paused_unpaid", |business| {
                emails::bot_paused(business, &link)
            })
            .await?;
            tracing::warn!(tenant.id = %tenant, "bot paused: an invoice is unpaid past the limit");
        }
        tx.commit().await?;
    }
    Ok(())
}
