//! HandleInbound: turns the stored events of one webhook delivery into contacts,
//! conversations, messages and status changes, counts usage, and asks for a reply when
//! one is due (debounced: the reply job runs a few seconds later and the latest request
//! wins). One event, one fate: each event is processed in its own transaction; a failing
//! one is recorded on its row and the others go on; the job fails (and its retry redoes
//! only the unprocessed events) only if some event failed. A status for a message we do
//! not know is parked, never a failure. Idempotent: processed events and known wamids are
//! skipped.

use mujibak_core::{
    db::{contacts, conversations, inbound_events, messages, usage},
    delivery::{self, Applied},
    domain::{
        whatsapp::{answerable, content, event_time, Event, InboundMessage, StatusUpdate},
        TenantId,
    },
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    enqueue_in,
    generate_reply::GenerateReply,
    job::{Job, JobContext, JobError},
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
        let note = match serde_json::from_value::<Event>(stored.payload.0) {
            Ok(Event::Message(m)) => {
                let debounce = ctx.whatsapp.as_ref().map(|w| w.debounce).unwrap_or_default();
                message(&mut tx, tenant, stored.connection_id, &m, debounce).await?
            }
            Ok(Event::Status(s)) => status(&mut tx, tenant, event_id, &s).await?,
            Ok(Event::WebhookError(_) | Event::Ignored(_)) => Some("recorded for staff only".into()),
            Err(e) => Some(format!("unreadable stored event: {e}")),
        };
        inbound_events::mark_processed(&mut tx, tenant, event_id, note.as_deref()).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn message(
    tx: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: Uuid,
    m: &InboundMessage,
    debounce: std::time::Duration,
) -> Result<Option<String>, JobError> {
    if m.wa_id.is_none() && m.bsuid.is_none() {
        return Ok(Some("message without a sender id".into()));
    }
    let key = contacts::ContactKey {
        connection_id,
        wa_id: m.wa_id.as_deref(),
        bsuid: m.bsuid.as_deref(),
        name: m.name.as_deref(),
        username: m.username.as_deref(),
    };
    let contact_id = contacts::upsert(tx, tenant_id, &key).await?;
    let conversation_id = conversations::upsert(tx, tenant_id, connection_id, contact_id).await?;
    let (body, details, error) = content(m);
    let at = event_time(m.timestamp, chrono::Utc::now());
    let kind = if known_kind(&m.kind) { m.kind.as_str() } else { "unsupported" };
    let new = messages::NewInbound {
        conversation_id,
        wamid: &m.wamid,
        kind,
        body: body.as_deref(),
        details: details.as_ref(),
        error: error.as_deref(),
        at,
    };
    if messages::insert_inbound(tx, tenant_id, &new).await?.is_none() {
        return Ok(None); // already stored from an earlier delivery
    }
    usage::bump(tx, tenant_id, 1, 0).await?;
    let wants_reply = answerable(kind);
    let requested_at = conversations::record_inbound(tx, tenant_id, conversation_id, at, wants_reply).await?;
    if wants_reply {
        let job = GenerateReply { tenant_id, conversation_id, requested_at };
        enqueue_in(tx, &job, debounce).await.map_err(JobError::transient)?;
    }
    Ok(None)
}

async fn status(
    tx: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
    s: &StatusUpdate,
) -> Result<Option<String>, JobError> {
    Ok(match delivery::apply_status(tx, tenant_id, event_id, s).await? {
        Applied::Moved | Applied::Unchanged => None,
        Applied::Parked => Some("parked: no message has this id yet".into()),
        Applied::EarlierSend => Some("status of an earlier send of a message that was sent again".into()),
    })
}

fn known_kind(kind: &str) -> bool {
    answerable(kind) || matches!(kind, "reaction" | "system" | "unsupported")
}
