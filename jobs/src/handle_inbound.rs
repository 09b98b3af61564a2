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
//!
//! Set-based under load: once its own events are processed, a job takes over up to [`TAKE`]
//! other pending deliveries, its own business's first, then up to [`TAKE_PER_OTHER`] of
//! every other business's in turn (`mujibak_queue::take`; one business's flood so takes only
//! a few places of another business's batch): their events processed, their replies enqueued (one per
//! conversation), the events marked and the jobs done, all in one transaction. If any of
//! it fails, the transaction rolls back and those jobs run on their own, one event per
//! transaction as above; so does a job whose event another transaction holds, or whose
//! business is no longer active (skipped, not waited for). One batch per job: a backlog
//! of many businesses waits about one batch, not one claim per business. The customer
//! messages stored are counted in each business's usage as the transaction's last write
//! (one statement for the batch), so a send of that business never waits on the batch's
//! work for its own count.

use mujibak_core::{
    accounts,
    db::{inbound_events, usage},
    delivery,
    domain::{
        whatsapp::{Event, StatusUpdate},
        TenantId,
    },
    inbound::{self, Effects},
    notices,
};
use serde::{Deserialize, Serialize};
use sqlx::{types::Json, PgConnection};
use std::{collections::HashMap, time::Duration};
use uuid::Uuid;

use crate::{
    enqueue, enqueue_in, enqueue_many_in,
    fetch_media::FetchMedia,
    generate_reply::GenerateReply,
    job::{Job, JobContext, JobError, Queued},
    send_message::SendMessage,
};

/// Pending jobs a job takes over after its own.
pub const TAKE: usize = 50;
/// Of those, at most this many of each other business's (its own business's first).
pub const TAKE_PER_OTHER: usize = 2;

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
        self.take_over(ctx).await;
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
        let effects = apply(&mut tx, tenant, &stored).await?;
        if let Some(reply) = follow_up(ctx, &mut tx, tenant, &effects).await? {
            enqueue_in(&mut tx, &reply, debounce(ctx)).await.map_err(JobError::transient)?;
        }
        inbound_events::mark_processed(&mut tx, tenant, event_id, effects.note.as_deref()).await?;
        usage::count_inbound(&mut tx, &[(tenant, effects.counted)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes over up to [`TAKE`] other pending deliveries, of every business in turn. A
    /// batch that fails is rolled back: its jobs run on their own.
    async fn take_over(&self, ctx: &JobContext) {
        if let Err(e) = take_batch(ctx, self.tenant_id).await {
            tracing::warn!(tenant.id = %self.tenant_id, error = %e, "could not take over pending deliveries; they run on their own");
        }
    }
}

/// Up to [`TAKE`] pending jobs, `own` business's first, then up to [`TAKE_PER_OTHER`] of
/// every other business's in turn, their events processed in this one transaction; how
/// many jobs were taken.
async fn take_batch(ctx: &JobContext, own: TenantId) -> Result<usize, JobError> {
    let mut tx = ctx.db.begin().await?;
    let group = own.to_string();
    let taken =
        mujibak_queue::take::take_pending::<Queued<HandleInbound>>(&mut tx, &group, TAKE_PER_OTHER, TAKE)
            .await
            .map_err(JobError::transient)?;
    if taken.is_empty() {
        return Ok(0);
    }
    let ids: Vec<(TenantId, Uuid)> =
        taken.iter().flat_map(|t| t.job.0.event_ids.iter().map(|&id| (t.job.0.tenant_id, id))).collect();
    let events = inbound_events::lock_unprocessed(&mut tx, &ids).await?;
    let (mut done, mut replies) = (Vec::with_capacity(events.len()), HashMap::new());
    let mut counted: HashMap<TenantId, i32> = HashMap::new();
    for held in &events {
        let tenant = held.tenant_id;
        let effects = apply(&mut tx, tenant, &held.event).await?;
        *counted.entry(tenant).or_default() += effects.counted;
        if let Some(reply) = follow_up(ctx, &mut tx, tenant, &effects).await? {
            // A burst gets one reply: the conversation's latest request.
            replies.insert(reply.conversation_id, reply);
        }
        done.push((tenant, held.event.event_id, effects.note));
    }
    let replies: Vec<GenerateReply> = replies.into_values().collect();
    enqueue_many_in(&mut tx, &replies, debounce(ctx)).await.map_err(JobError::transient)?;
    inbound_events::mark_processed_many(&mut tx, &done).await?;
    // An event another transaction held (or of a business no longer active) was skipped:
    // its job is not done, and runs on its own for it (it skips what this batch processed).
    let skipped = inbound_events::unprocessed(&mut tx, &ids).await?;
    let (done_jobs, left): (Vec<_>, Vec<_>) =
        taken.into_iter().partition(|t| !t.job.0.event_ids.iter().any(|id| skipped.contains(id)));
    mujibak_queue::take::finish_taken(&mut tx, &done_jobs).await.map_err(JobError::transient)?;
    // Last: each business's usage row is held from here to the commit, not for the batch.
    let counted: Vec<(TenantId, i32)> = counted.into_iter().collect();
    usage::count_inbound(&mut tx, &counted).await?;
    tx.commit().await?;
    if !left.is_empty() {
        tracing::info!(jobs = left.len(), "events held elsewhere; their jobs run on their own");
    }
    Ok(done_jobs.len())
}

/// Enqueues what the event asked for, in its transaction, but its reply, which is
/// returned for the caller to enqueue (debounced).
async fn follow_up(
    ctx: &JobContext,
    tx: &mut PgConnection,
    tenant_id: TenantId,
    effects: &Effects,
) -> Result<Option<GenerateReply>, JobError> {
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
    Ok(effects.reply.map(|(conversation_id, requested_at)| GenerateReply {
        tenant_id,
        conversation_id,
        requested_at,
    }))
}

/// The reply debounce: the reply job runs this long after the request.
fn debounce(ctx: &JobContext) -> Duration {
    ctx.whatsapp.as_ref().map(|w| w.debounce).unwrap_or_default()
}

/// What stored event `stored` does, on the caller's transaction.
async fn apply(
    tx: &mut PgConnection,
    tenant: TenantId,
    stored: &inbound_events::InboundEvent,
) -> Result<Effects, JobError> {
    let connection = stored.connection_id;
    let Json(payload) = &stored.payload;
    Ok(match Event::deserialize(payload) {
        Ok(Event::Message(m)) => inbound::message(tx, tenant, connection, &m).await?,
        Ok(Event::Echo(m)) => inbound::echo(tx, tenant, connection, &m).await?,
        Ok(Event::Status(s)) => {
            Effects { note: status(tx, tenant, stored.event_id, &s).await?, ..Effects::default() }
        }
        Ok(Event::Account(a)) => {
            tracing::info!(tenant.id = %tenant, update = %a.update, "account update");
            inbound::account(tx, tenant, connection, &a).await?
        }
        Ok(Event::Preference(p)) => inbound::preference(tx, tenant, connection, &p).await?,
        Ok(Event::Recorded(_) | Event::WebhookError(_) | Event::Ignored(_)) => {
            Effects { note: Some("recorded for staff only".into()), ..Effects::default() }
        }
        Err(e) => Effects { note: Some(format!("unreadable stored event: {e}")), ..Effects::default() },
    })
}

async fn status(
    tx: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
    s: &StatusUpdate,
) -> Result<Option<String>, JobError> {
    Ok(delivery::apply_status(tx, tenant_id, event_id, s).await?.note().map(str::to_owned))
}
