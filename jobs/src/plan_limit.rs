//! The plan's monthly allowance of AI replies, as `generate_reply` applies it before
//! asking the model: at 80 % and at 100 % the owners are emailed (once each per Riyadh
//! month, claimed in the same transaction as the email), and at 100 % the model is not
//! called. Replies are counted when Meta accepts them, so replies already on their way
//! can pass the limit by at most the queue's concurrency.

use mujibak_core::{db::ai_usage, domain::TenantId, notices};

use crate::job::{JobContext, JobError};

/// Whether the model may be asked for `tenant`'s next reply (emailing the warnings due).
/// One read per reply; a transaction only when a warning is due and not yet sent.
pub async fn allows(ctx: &JobContext, tenant: TenantId) -> Result<bool, JobError> {
    let a = ai_usage::allowance(&mut *ctx.db.acquire().await?, tenant).await?;
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
    Ok(a.used < a.limit)
}
