//! Whether the model may be asked, as `generate_reply` decides before asking it: not
//! while the bot is paused for an unpaid invoice (`billing_hold_since`, set and lifted by
//! the billing job), and not past the plan's monthly allowance of AI replies: at 80 % and at 100 % the owners are emailed (once each per Riyadh
//! month, claimed in the same transaction as the email), and at 100 % the model is not
//! called. Replies are counted when Meta accepts them, so replies already on their way
//! can pass the limit by at most the queue's concurrency.

use mujibak_core::{
    db::ai_usage::{self, Allowance},
    domain::TenantId,
    notices,
};

use crate::job::{JobContext, JobError};

/// What the plan says about asking the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Allowed,
    /// This month's AI replies are used up.
    UsedUp,
    /// Paused until an overdue invoice is paid.
    OnHold,
}

/// Whether the model may be asked for `tenant`'s next reply (emailing the warnings due).
pub async fn gate(ctx: &JobContext, tenant: TenantId) -> Result<Gate, JobError> {
    let a = ai_usage::allowance(&mut *ctx.db.acquire().await?, tenant).await?;
    decide(ctx, tenant, &a).await
}

/// [`gate`] by an allowance `a` the caller read (`generate_reply` reads it with its other
/// reads, on one connection): a transaction only when a warning is due and not yet sent.
pub async fn decide(ctx: &JobContext, tenant: TenantId, a: &Allowance) -> Result<Gate, JobError> {
    let reached = |percent: u8| i64::from(a.used) * 100 >= i64::from(a.limit) * i64::from(percent);
    let due: Vec<u8> = [(80u8, a.warned_80), (100, a.warned_100)]
        .into_iter()
        .filter(|&(percent, warned)| !warned && reached(percent))
        .map(|(percent, _)| percent)
        .collect();
    if !due.is_empty() {
        let mut tx = ctx.db.begin().await?;
        let link = format!("{}/dashboard", ctx.base_url);
        for percent in due {
            // Claimed with the email in one transaction: once per month even if two
            // replies race here.
            if ai_usage::claim_warning(&mut tx, tenant, percent).await? {
                let kind = if percent >= 100 { "quota_100" } else { "quota_80" };
                crate::notify::owners(&mut tx, tenant, kind, |business| {
                    notices::quota_warning(business, percent, a.used, a.limit, &link)
                })
                .await?;
                tracing::info!(tenant.id = %tenant, percent, "plan allowance warning queued");
            }
        }
        tx.commit().await?;
    }
    Ok(if a.on_hold {
        Gate::OnHold
    } else if a.used < a.limit {
        Gate::Allowed
    } else {
        Gate::UsedUp
    })
}
