//! NotifyBreach: mails one user about one security incident, in the user's language
//! (`users.locale`) with the incident's description in that language
//! (`mujibak_core::incidents::mail`), straight over SMTP with `ctx.mailer` (no outbox row:
//! the notification row is the record). [`fan_out`] enqueues one per user the incident's
//! fan-out newly inserted, in the caller's transaction, so a second "notify" enqueues
//! nothing for users already notified.
//!
//! Idempotent: a notification already sent is left alone, and one whose tenant was purged
//! (its users anonymised) or whose user is gone is marked `skipped`. The only possible
//! duplicate is a crash (or a lost database connection) between the SMTP server accepting
//! the message and the row being marked sent: the retry then mails that user again.
//! Errors as `send_email`: a connection problem or a 4xx is retried with backoff (and the
//! row keeps the reply class as `last_error`); a 5xx or a bad address, or the last
//! attempt, marks it `failed`. Logs and errors name ids and SMTP reply codes only.

use mujibak_core::{
    clients::smtp::MailError,
    db::incidents as db,
    domain::{IncidentId, Locale, TenantId, UserId},
    incidents,
    ops::tokens::Staff,
};
use serde::{Deserialize, Serialize};

use crate::{
    enqueue::QueueError,
    job::{current_attempt, Job, JobContext, JobError},
};

/// Mail `user_id` (of `tenant_id`) about incident `incident_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyBreach {
    pub incident_id: IncidentId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
}

/// Why a fan-out failed.
#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    #[error(transparent)]
    Incident(#[from] incidents::IncidentError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Fans incident `id` out (`incidents::notify`, audited) and enqueues a job for each new
/// notification, on the caller's transaction. Returns how many were queued.
pub async fn fan_out(
    conn: &mut sqlx::PgConnection,
    staff: &Staff,
    id: IncidentId,
) -> Result<usize, FanOutError> {
    let fresh = incidents::notify(conn, staff, id).await?;
    let jobs: Vec<NotifyBreach> = fresh
        .into_iter()
        .map(|(tenant_id, user_id)| NotifyBreach { incident_id: id, tenant_id, user_id })
        .collect();
    crate::enqueue_many(conn, &jobs).await?;
    Ok(jobs.len())
}

impl Job for NotifyBreach {
    const QUEUE: &'static str = "notify_breach";
    const MAX_ATTEMPTS: u32 = 10;
    const CONCURRENCY: usize = 2;
    const OCCASIONAL: bool = true;
    /// A breach notice should not wait long for a greylisting server: 2 s, 4 s, 8 s … 30 min.
    const BACKOFF: crate::backoff::Backoff =
        crate::backoff::Backoff::new(std::time::Duration::from_secs(2), std::time::Duration::from_secs(1800));

    fn tenant(&self) -> Option<TenantId> {
        Some(self.tenant_id)
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let (incident, user) = (self.incident_id, self.user_id);
        let Some(n) = db::delivery(&ctx.db, incident, user).await? else {
            // The user was removed from the tenant since the fan-out.
            db::record_attempt(&ctx.db, incident, user, "skipped", Some("the user no longer exists")).await?;
            tracing::info!(incident.id = %incident, user.id = %user, "breach notice skipped: no such user");
            return Ok(());
        };
        if n.status == "sent" || n.status == "skipped" {
            tracing::info!(incident.id = %incident, user.id = %user, status = %n.status, "breach notice already handled");
            return Ok(());
        }
        if n.purged {
            db::record_attempt(&ctx.db, incident, user, "skipped", Some("the tenant was deleted")).await?;
            return Ok(());
        }
        let mailer =
            ctx.mailer.as_ref().ok_or_else(|| JobError::transient(anyhow::anyhow!("SMTP_URL is not set")))?;
        let description = match n.locale {
            Locale::Ar => &n.description_ar,
            Locale::En => &n.description_en,
        };
        let (subject, text, html) = incidents::mail(n.locale, description, n.detected_at);
        crate::fence().await?;
        match mailer.send(&n.email, &subject, &text, &html).await {
            Ok(()) => {
                db::record_attempt(&ctx.db, incident, user, "sent", None).await?;
                tracing::info!(incident.id = %incident, user.id = %user, "breach notice sent");
                Ok(())
            }
            Err(e @ (MailError::Permanent(_) | MailError::Address(_))) => {
                db::record_attempt(&ctx.db, incident, user, "failed", Some(&e.to_string())).await?;
                Err(JobError::permanent(e))
            }
            Err(e) => {
                let status = if current_attempt().is_last() { "failed" } else { "queued" };
                db::record_attempt(&ctx.db, incident, user, status, Some(&e.to_string())).await?;
                Err(JobError::transient(e))
            }
        }
    }
}
