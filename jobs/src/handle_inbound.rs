//! HandleInbound: turns the stored events of one webhook delivery into contacts,
//! conversations, messages and status changes, counts usage, and asks for a reply when
//! one is due (debounced: the reply job runs a few seconds later and the latest request
//! wins). Idempotent: processed events and known wamids are skipped.

use chrono::{DateTime, TimeZone, Utc};
use mujibak_core::{
    db::{contacts, conversations, inbound_events, messages, usage},
    domain::{
        whatsapp::{answerable, content, Event, InboundMessage, StatusUpdate},
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
    const CONCURRENCY: usize = 16;

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let debounce = ctx.whatsapp.as_ref().map(|w| w.debounce).unwrap_or_default();
        for event_id in self.event_ids {
            let mut tx = ctx.db.begin().await?;
            let Some(stored) = inbound_events::get(&mut tx, self.tenant_id, event_id).await? else {
                continue;
            };
            if stored.processed {
                continue;
            }
            let error = match serde_json::from_value::<Event>(stored.payload.0.clone()) {
                Ok(Event::Message(m)) => {
                    message(&mut tx, self.tenant_id, stored.connection_id, &m, debounce).await?
                }
                Ok(Event::Status(s)) => status(&mut tx, self.tenant_id, &s, stored.received_at).await?,
                Err(e) => Some(format!("unreadable stored event: {e}")),
            };
            inbound_events::mark_processed(&mut tx, self.tenant_id, event_id, error.as_deref()).await?;
            tx.commit().await?;
        }
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
    let at: DateTime<Utc> =
        Utc.timestamp_opt(m.timestamp, 0).single().filter(|_| m.timestamp > 0).unwrap_or_else(Utc::now);
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

/// How long a status may wait for its message: Meta can report `sent` before our send job
/// has stored the id Meta returned.
const STATUS_WAIT: chrono::Duration = chrono::Duration::minutes(10);

async fn status(
    tx: &mut PgConnection,
    tenant_id: TenantId,
    s: &StatusUpdate,
    received_at: DateTime<Utc>,
) -> Result<Option<String>, JobError> {
    let error = s.errors.first().map(|(code, title)| format!("{code}: {title}"));
    let changed = messages::apply_status(tx, tenant_id, &s.wamid, &s.status, error.as_deref()).await?;
    if changed.is_none() && !messages::wamid_known(tx, tenant_id, &s.wamid).await? {
        if Utc::now() - received_at < STATUS_WAIT {
            return Err(JobError::transient(anyhow::anyhow!(
                "status for a message not stored yet; retrying"
            )));
        }
        return Ok(Some("status for an unknown message".into()));
    }
    if let Some(conversation_id) = changed {
        if s.status == "failed" && s.errors.iter().any(|(code, _)| *code == 131047) {
            conversations::set_notice(tx, tenant_id, conversation_id, "window_closed", true).await?;
        }
    }
    Ok(None)
}

fn known_kind(kind: &str) -> bool {
    answerable(kind) || matches!(kind, "reaction" | "system" | "unsupported")
}
