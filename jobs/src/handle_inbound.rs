//! HandleInbound: turns the stored events of one webhook delivery into contacts,
//! conversations, messages, edits and deletions, status changes, echoes from the WhatsApp
//! Business app, connection statuses and marketing preferences (what each does is
//! `mujibak_core::inbound`'s), and enqueues what they ask for: a reply when one is due
//! (debounced: the reply job runs a few seconds later and the latest request wins), a
//! customer's file to download, the business's welcome, an email to the owners when Meta stopped the number. One event,
//! one fate: each event is processed in its own transaction; a failing
//! one is recorded on its row and the others go on; the job fails (and its retry redoes
//! only the unprocessed events) only if some event failed. A status for a message we do
//! not know is parked, never a failure. Idempotent: processed events and known wamids are
//! skipped. Events of an account that is not active (suspended, being deleted) are
//! marked processed and dropped.

use mujibak_core::{
    accounts,
    db::inbound_events,
    delivery,
    domain::{
        whatsapp::{Event, StatusUpdate},
        TenantId,
    },
    inbound::{self, Effects},
    notices,
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    enqueue, enqueue_in,
    fetch_media::FetchMedia,
    generate_reply::GenerateReply,
    job::{Job, JobContext, JobError},
    send_message::SendMessage,
};

/// Process these stored webhook events of `tenant_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandleInbound {
    pub tenant_id: TenantId,
    pub event_ids: Vec<Uuid>,
}

impl Job for HandleInbound {
    const QUEUE: &'static str = "handle_inbound";
    const MAX_ATTEMPTS: u32 = 8;
    const CONCURRENCY: usize = 4;

    fn tenant(&self) -> Option<TenantId> {
        Some(self.tenant_id)
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let mut conn = ctx.db.acquire().await?;
        let status = accounts::status(&mut conn, self.tenant_id).await?;
        if !status.is_active() {
            // Stored just before the account was disabled: dropped, as the webhook now does.
            for &event_id in &self.event_ids {
                inbound_events::mark_processed(
                    &mut conn,
                    self.tenant_id,
                    event_id,
                    Some("dropped: account not active"),
                )
                .await?;
            }
            tracing::info!(tenant.id = %self.tenant_id, status = status.as_str(), "tenant not active; events dropped");
            return Ok(());
        }
        drop(conn);
        let mut failed = 0;
        for &event_id in &self.event_ids {
            let Err(error) = self.process(ctx, event_id).await else { continue };
            failed += 1;
            let why = error.to_string();
            tracing::warn!(tenant.id = %self.tenant_id, event.id = %event_id, error = %why, "inbound event failed; the others go on");
            let mut conn = ctx.db.acquire().await?;
            inbound_events::record_failure(&mut conn, self.tenant_id, event_id, &why).await?;
        }
        if failed > 0 {
            let total = self.event_ids.len();
            return Err(JobError::transient(anyhow::anyhow!(
                "{failed} of {total} events failed; a retry redoes only those"
            )));
        }
        Ok(())
    }
}

impl HandleInbound {
    /// One event in its own transaction.
    async fn process(&self, ctx: &JobContext, event_id: Uuid) -> Result<(), JobError> {
        let tenant = self.tenant_id;
        let mut tx = ctx.db.begin().await?;
        let Some(stored) = inbound_events::lock(&mut tx, tenant, event_id).await? else { return Ok(()) };
        if stored.processed {
            return Ok(());
        }
        let connection = stored.connection_id;
        let effects = match serde_json::from_value::<Event>(stored.payload.0) {
            Ok(Event::Message(m)) => inbound::message(&mut tx, tenant, connection, &m).await?,
            Ok(Event::Echo(m)) => inbound::echo(&mut tx, tenant, connection, &m).await?,
            Ok(Event::Status(s)) => {
                Effects { note: status(&mut tx, tenant, event_id, &s).await?, ..Effects::default() }
            }
            Ok(Event::Account(a)) => {
                tracing::info!(tenant.id = %tenant, update = %a.update, "account update");
                inbound::account(&mut tx, tenant, connection, &a).await?
            }
            Ok(Event::Preference(p)) => inbound::preference(&mut tx, tenant, connection, &p).await?,
            Ok(Event::Recorded(_) | Event::WebhookError(_) | Event::Ignored(_)) => {
                Effects { note: Some("recorded for staff only".into()), ..Effects::default() }
            }
            Err(e) => Effects { note: Some(format!("unreadable stored event: {e}")), ..Effects::default() },
        };
        self.follow_up(ctx, &mut tx, &effects).await?;
        inbound_events::mark_processed(&mut tx, tenant, event_id, effects.note.as_deref()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Enqueues what the event asked for, in its transaction.
    async fn follow_up(
        &self,
        ctx: &JobContext,
        tx: &mut PgConnection,
        effects: &Effects,
    ) -> Result<(), JobError> {
        let tenant_id = self.tenant_id;
        if let Some((conversation_id, requested_at)) = effects.reply {
            let debounce = ctx.whatsapp.as_ref().map(|w| w.debounce).unwrap_or_default();
            let job = GenerateReply { tenant_id, conversation_id, requested_at };
            enqueue_in(tx, &job, debounce).await.map_err(JobError::transient)?;
        }
        if let Some(message_id) = effects.media {
            enqueue(tx, &FetchMedia { tenant_id, message_id }).await.map_err(JobError::transient)?;
        }
        if let Some(message_id) = effects.send {
            enqueue(tx, &SendMessage { tenant_id, message_id }).await.map_err(JobError::transient)?;
        }
        if let Some(status) = effects.stopped {
            tracing::warn!(tenant.id = %tenant_id, status, "Meta stopped the number; owners emailed");
            let url = ctx.whatsapp.as_ref().map(|w| w.settings_url.clone()).unwrap_or_default();
            crate::notify::owners(tx, tenant_id, "connection_stopped", |business| {
                notices::connection_stopped(business, status, &url)
            })
            .await?;
        }
        Ok(())
    }
}

async fn status(
    tx: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
    s: &StatusUpdate,
) -> Result<Option<String>, JobError> {
    Ok(delivery::apply_status(tx, tenant_id, event_id, s).await?.note().map(str::to_owned))
}
