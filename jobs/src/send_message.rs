//! SendMessage: sends one stored outbound text, or template, through the Graph API,
//! effectively once. Just before sending it re-checks that the account and the connection
//! are active, the 24-hour window is open (for a text: a template is what Meta allows after
//! it) and (for a bot reply) the bot was not paused meanwhile. Every send carries our
//! message id as callback data. Only an error proving Meta never got the request is
//! retried; an ambiguous outcome (timeout or broken exchange after the request was
//! written, an answer without an id, or a crash between claiming the message and storing
//! Meta's id) makes the message `uncertain` and schedules [`ReconcileSend`], which waits
//! for Meta's status and otherwise sends it once more (through this job). An ambiguous
//! outcome of that resend is not repeated: the message stays uncertain and the inbox says
//! so. Meta's errors are acted on by class: a dead token marks the connection for
//! re-authorisation and emails the owner (never for timeouts or 5xx); rate limits back
//! off; a closed window is not retried. A bot reply accepted by Meta is counted in the
//! reply latency metric (its customer message's arrival to Meta's answer).

use chrono::Utc;
use mujibak_core::{
    clients::whatsapp::{Creds, GraphErrorClass, Recipient},
    db::{
        connections, conversations,
        messages::{self, sending},
    },
    delivery,
    domain::{reply, template::TemplateSend, TenantId},
    metrics, notices,
};
use sqlx::PgConnection;

use crate::{
    enqueue_in,
    job::{current_attempt, Job, JobContext, JobError},
    sends::ReconcileSend,
};
use mujibak_core::domain::message::{Author, MessageStatus};

pub use crate::sends::SendMessage;

impl Job for SendMessage {
    const QUEUE: &'static str = "send_message";
    const MAX_ATTEMPTS: u32 = 6;
    const CONCURRENCY: usize = 4;
    const WAITS_OUTSIDE: bool = true;
    const BACKOFF: crate::backoff::Backoff =
        crate::backoff::Backoff::new(std::time::Duration::from_secs(2), std::time::Duration::from_secs(300));

    fn tenant(&self) -> Option<TenantId> {
        Some(self.tenant_id)
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let wa = ctx.whatsapp()?;
        let (tenant, id) = (self.tenant_id, self.message_id);
        // One pooled connection at a time, and none across the Graph call (queue/src/fit.rs).
        let mut conn = ctx.db.acquire().await?;
        let Some(read) = sending::for_send(&mut conn, tenant, id).await? else { return Ok(()) };
        let msg = read.message;
        match msg.status {
            MessageStatus::Queued => {}
            // A worker died between claiming the message and storing Meta's answer: Meta may have it.
            MessageStatus::Sending => {
                drop(conn);
                return self.uncertain(ctx, &msg, "the send was interrupted").await;
            }
            _ => return Ok(()),
        }
        if !read.account_active {
            give_up(
                &mut conn,
                tenant,
                &msg,
                MessageStatus::Skipped,
                "the account is suspended or being deleted",
            )
            .await?;
            return Ok(());
        }
        let conv = read.conversation;
        let connection = connections::get(&mut conn, tenant, conv.connection_id).await?;
        let Some(connection) = connection.filter(connections::Connection::is_active) else {
            give_up(&mut conn, tenant, &msg, MessageStatus::Failed, "the WhatsApp connection is not active")
                .await?;
            return Ok(());
        };
        if msg.author == Author::Bot && conv.bot_paused {
            give_up(
                &mut conn,
                tenant,
                &msg,
                MessageStatus::Skipped,
                "the bot was paused for this conversation",
            )
            .await?;
            return Ok(());
        }
        let template = match msg.kind.as_str() {
            "template" => {
                Some(template_of(&msg).ok_or_else(|| JobError::permanent(anyhow::anyhow!("no template")))?)
            }
            _ => None,
        };
        if template.is_none() && !reply::window_open(conv.last_inbound_at, Utc::now()) {
            give_up(&mut conn, tenant, &msg, MessageStatus::Skipped, "the 24-hour window is closed").await?;
            conversations::set_notice(&mut conn, tenant, conv.conversation_id, "window_closed", true).await?;
            return Ok(());
        }
        let recipient = match (&conv.wa_id, &conv.bsuid) {
            (Some(phone), _) => Recipient::Phone(phone),
            (None, Some(bsuid)) => Recipient::Bsuid(bsuid),
            (None, None) => return Err(JobError::permanent(anyhow::anyhow!("contact has no address"))),
        };
        crate::fence().await?;
        if !sending::claim_for_send(&mut conn, tenant, id).await? {
            return Ok(());
        }
        drop(conn);
        let token =
            mujibak_core::connections::access_token(&wa.keyring, &connection).map_err(JobError::permanent)?;
        let creds = Creds { phone_number_id: &connection.phone_number_id, access_token: &token };
        let body = msg.body.clone().unwrap_or_default();
        let sent = match &template {
            Some(t) => wa.graph.send_template(&creds, recipient, t, &id.to_string()).await,
            None => wa.graph.send_text(&creds, recipient, &body, &id.to_string()).await,
        };
        let error = match sent {
            Ok(wamid) => {
                let note = msg.resent_at.map(|_| "resent");
                let mut tx = ctx.db.begin().await?;
                let recorded = delivery::sent(&mut tx, tenant, id, &wamid, note).await?;
                tx.commit().await?;
                let asked_at = recorded.filter(|_| msg.author == Author::Bot).and_then(|r| r.asked_at);
                if let Some(at) = asked_at {
                    metrics::reply_sent((Utc::now() - at).to_std().unwrap_or_default());
                }
                return Ok(());
            }
            Err(e) if e.is_ambiguous() => return self.uncertain(ctx, &msg, &e.to_string()).await,
            Err(e) => e,
        };
        let why = error.to_string();
        let mut conn = ctx.db.acquire().await?;
        match error.class() {
            GraphErrorClass::Reauthorize => {
                drop(conn);
                let mut tx = ctx.db.begin().await?;
                give_up(&mut tx, tenant, &msg, MessageStatus::Failed, &why).await?;
                if connections::set_status(
                    &mut tx,
                    tenant,
                    connection.connection_id,
                    "needs_reauth",
                    Some(&why),
                )
                .await?
                {
                    notify_owner(&mut tx, tenant, &wa.settings_url).await?;
                }
                conversations::set_notice(&mut tx, tenant, conv.conversation_id, "connection_inactive", true)
                    .await?;
                tx.commit().await?;
                Err(JobError::permanent(error))
            }
            GraphErrorClass::WindowClosed => {
                give_up(&mut conn, tenant, &msg, MessageStatus::Failed, &why).await?;
                conversations::set_notice(&mut conn, tenant, conv.conversation_id, "window_closed", true)
                    .await?;
                Err(JobError::permanent(error))
            }
            GraphErrorClass::Reject => {
                give_up(&mut conn, tenant, &msg, MessageStatus::Failed, &why).await?;
                conversations::set_notice(&mut conn, tenant, conv.conversation_id, "send_failed", true)
                    .await?;
                Err(JobError::permanent(error))
            }
            class if current_attempt().is_last() => {
                give_up(&mut conn, tenant, &msg, MessageStatus::Failed, &why).await?;
                conversations::set_notice(&mut conn, tenant, conv.conversation_id, "send_failed", true)
                    .await?;
                Err(JobError::transient(anyhow::anyhow!("{why} ({class:?}, last attempt)")))
            }
            GraphErrorClass::RateLimited { wait } => {
                sending::requeue(&mut conn, tenant, id, &why).await?;
                Err(JobError::rate_limited(wait, error))
            }
            GraphErrorClass::RecipientLimited { wait } => {
                sending::requeue(&mut conn, tenant, id, &why).await?;
                Err(JobError::retry_after(wait, error))
            }
            GraphErrorClass::Retry => {
                sending::requeue(&mut conn, tenant, id, &why).await?;
                Err(JobError::transient(error))
            }
        }
    }
}

impl SendMessage {
    /// The send's outcome is unknown: `uncertain`, and a reconcile after the window — or,
    /// for the resend, no further attempt (it stays uncertain and the inbox says so). If a
    /// status with our callback data settled it meanwhile, the inbox says that instead.
    async fn uncertain(&self, ctx: &JobContext, msg: &messages::Message, why: &str) -> Result<(), JobError> {
        let (tenant, id) = (self.tenant_id, self.message_id);
        let window = ctx.whatsapp.as_ref().map(|w| w.graph.reconcile_after()).unwrap_or_default();
        let why = format!("uncertain: {why}");
        tracing::warn!(tenant.id = %tenant, message.id = %id, error = %why, "send outcome unknown");
        let mut tx = ctx.db.begin().await?;
        if !sending::mark_uncertain(&mut tx, tenant, id, &why).await? {
            sending::set_note(&mut tx, tenant, id, "confirmed_late", true).await?;
        } else if msg.resent_at.is_none() {
            let job = ReconcileSend { tenant_id: tenant, message_id: id };
            enqueue_in(&mut tx, &job, window).await.map_err(JobError::transient)?;
        } else {
            sending::set_note(&mut tx, tenant, id, "unconfirmed", false).await?;
            conversations::set_notice(&mut tx, tenant, msg.conversation_id, "send_uncertain", true).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Ends a message that will not be sent as `status` with why — except a resend: its first
/// send may have reached the customer, so it stays `uncertain`, noted `unconfirmed`.
async fn give_up(
    conn: &mut PgConnection,
    tenant: TenantId,
    msg: &messages::Message,
    status: MessageStatus,
    why: &str,
) -> Result<(), JobError> {
    let id = msg.message_id;
    if msg.resent_at.is_some() {
        sending::finish(conn, tenant, id, MessageStatus::Uncertain, why).await?;
        sending::set_note(conn, tenant, id, "unconfirmed", false).await?;
    } else {
        sending::finish(conn, tenant, id, status, why).await?;
    }
    Ok(())
}

/// Queues the "reconnect your number" email to the tenant's owners.
async fn notify_owner(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    settings_url: &str,
) -> Result<(), JobError> {
    crate::notify::owners(tx, tenant, "reauthorisation_needed", |business| {
        notices::reauthorisation_needed(business, settings_url)
    })
    .await
}

/// What a template message sends (`details.template`).
fn template_of(msg: &messages::Message) -> Option<TemplateSend> {
    let details = msg.details.as_ref()?;
    serde_json::from_value(details.0.get("template")?.clone()).ok()
}
