//! The plan's monthly allowance of AI replies, as `generate_reply` applies it before
//! asking the model: at 80 % and at 100 % the owners are emailed (once each per Riyadh
//! month, claimed in the same transaction as the email), and at 100 % the model is not
//! called. Replies are counted when Meta accepts them, so replies already on their way
//! can pass the limit by at most the queue's concurrency.

use mujibak_core::{db::ai_usage, domain::TenantId, notices};

use crate::job::{JobContext, JobError};

/// Whether the model may be asked for `tenant`'s next reply (emailing the warnings due).
pub async fn allows(ctx: &JobContext, tenant: TenantId) -> Result<bool, JobError> {
    let mut tx = ctx.db.begin().await?;
    let a = ai_usage::allowance(&mut tx, tenant).await?;
    let link = format!("{}/dashboard", ctx.base_url);
    for percent in [80u8, 100] {
        let reached = i64::from(a.used) * 100 >= i64::from(a.limit) * i64::from(percent);
        if reached && ai_usage::claim_warning(&mut tx, tenant, percent).await? {
            let kind = if percent >= 100 { "quota_100" } else { "quota_80" };
            crate::notify::owners(&mut tx, tenant, kind, |business| {
                notices::quota_warning(business, percent, a.used, a.limit, &link)
            })
            .await?;
            tracing::info!(tenant.id = %tenant, percent, "plan allowance warning queued");
        }
    }
    tx.commit().await?;
    Ok(a.used < a.limit)
}
