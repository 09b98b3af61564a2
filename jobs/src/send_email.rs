//! SendEmail: delivers one outbox row over SMTP, at most once: the row is claimed
//! (`sending`) before the SMTP call, so two runs of the job (another worker took it over,
//! or a run died after the call) never both send it; a run that finds the row `sending`
//! marks it `uncertain` instead (it may have gone out). A row already sent or failed is
//! left alone. A hand-off alert whose conversation someone opened before it was due is
//! skipped. A refused message is marked failed and not retried; a connection problem
//! or a 4xx reply is retried with the runtime's backoff.

use mujibak_core::{clients::smtp::MailError, db::emails, domain::EmailId};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobContext, JobError};

/// Writes `email` to the outbox and enqueues its delivery, on the caller's transaction.
pub async fn queue(
    conn: &mut sqlx::PgConnection,
    email: &emails::NewEmail,
) -> Result<(), crate::enqueue::QueueError> {
    emails::insert(conn, email).await?;
    crate::enqueue(conn, &SendEmail { email_id: email.email_id }).await?;
    Ok(())
}

/// Deliver the outbox email `email_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEmail {
    pub email_id: EmailId,
}

impl Job for SendEmail {
    const QUEUE: &'static str = "send_email";
    const MAX_ATTEMPTS: u32 = 10;
    const CONCURRENCY: usize = 2;
    const WAITS_OUTSIDE: bool = true;

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let Some(email) = emails::get(&ctx.db, self.email_id).await? else {
            return Err(JobError::permanent(anyhow::anyhow!("email {} does not exist", self.email_id)));
        };
        if email.status == "sending" {
            // An earlier run claimed it and never said how its SMTP call ended.
            if emails::mark_uncertain(&ctx.db, self.email_id).await? {
                tracing::warn!(email.id = %self.email_id, kind = %email.kind,
                    "email claimed by an earlier attempt that never finished; marked uncertain, not sent again");
            }
            return Ok(());
        }
        if email.status != "queued" {
            tracing::warn!(email.id = %self.email_id, status = %email.status, "email already handled; skipping");
            return Ok(());
        }
        if email.obsolete {
            emails::mark_skipped(&ctx.db, self.email_id).await?;
            tracing::info!(email.id = %self.email_id, kind = %email.kind, "email no longer needed; skipped");
            return Ok(());
        }
        let mailer =
            ctx.mailer.as_ref().ok_or_else(|| JobError::transient(anyhow::anyhow!("SMTP_URL is not set")))?;
        crate::fence().await?;
        if !emails::claim(&ctx.db, self.email_id).await? {
            tracing::warn!(email.id = %self.email_id, "email taken by another run; not sent twice");
            return Ok(());
        }
        let (text, html) = (email.body_text.unwrap_or_default(), email.body_html.unwrap_or_default());
        match mailer.send(&email.to_address, &email.subject, &text, &html).await {
            Ok(()) => {
                emails::mark_sent(&ctx.db, self.email_id).await?;
                tracing::info!(email.id = %self.email_id, kind = %email.kind, "email sent");
                Ok(())
            }
            Err(e @ (MailError::Permanent(_) | MailError::Address(_))) => {
                emails::mark_failed(&ctx.db, self.email_id, &e.to_string()).await?;
                Err(JobError::permanent(e))
            }
            Err(e) => {
                emails::release(&ctx.db, self.email_id, &e.to_string()).await?;
                Err(JobError::transient(e))
            }
        }
    }
}
