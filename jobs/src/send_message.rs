//! SendMessage: sends one stored outbound text through the Graph API. Just before sending
//! it re-checks that the connection is active, the 24-hour window is open and (for a bot
//! reply) the bot was not paused meanwhile. The send is at most once: a message found
//! mid-send after a crash is marked uncertain, not sent again. Meta's errors are acted on
//! by class: a dead token marks the connection for re-authorisation and emails the owner
//! (never for timeouts or 5xx); rate limits back off; a closed window is not retried.

use chrono::Utc;
use mujibak_core::{
    clients::whatsapp::{Creds, GraphErrorClass, Recipient},
    connections::token_context,
    db::{connections, conversations, emails, messages, outbound, users},
    delivery,
    domain::{reply, EmailId, Role, TenantId},
    notices,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::job::{current_attempt, Job, JobContext, JobError};

/// Send the queued outbound message `message_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessage {
    pub tenant_id: TenantId,
    pub message_id: Uuid,
}

impl Job for SendMessage {
    const QUEUE: &'static str = "send_message";
    const MAX_ATTEMPTS: u32 = 6;
    const CONCURRENCY: usize = 16;
    const BACKOFF: crate::backoff::Backoff =
        crate::backoff::Backoff::new(std::time::Duration::from_secs(2), std::time::Duration::from_secs(300));

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let wa = ctx
            .whatsapp
            .as_ref()
            .ok_or_else(|| JobError::permanent(anyhow::anyhow!("WhatsApp is not configured")))?;
        let (tenant, id) = (self.tenant_id, self.message_id);
        let mut conn = ctx.db.acquire().await?;
        let Some(msg) = messages::get(&mut conn, tenant, id).await? else { return Ok(()) };
        match msg.status.as_str() {
            "queued" => {}
            "sending" => {
                // A worker died mid-send: Meta may have it. Never send twice.
                outbound::finish(&mut conn, tenant, id, "failed", "uncertain: the send was interrupted")
                    .await?;
                conversations::set_notice(&mut conn, tenant, msg.conversation_id, "send_uncertain", true)
                    .await?;
                return Ok(());
            }
            _ => return Ok(()),
        }
        let conv = conversations::get(&mut conn, tenant, msg.conversation_id)
            .await?
            .ok_or_else(|| JobError::permanent(anyhow::anyhow!("conversation gone")))?;
        let connection = connections::get(&mut conn, tenant, conv.connection_id).await?;
        let Some(connection) = connection.filter(|c| c.status == "active" && c.unlinked_at.is_none()) else {
            outbound::finish(&mut conn, tenant, id, "failed", "the WhatsApp connection is not active")
                .await?;
            return Ok(());
        };
        if msg.author == "bot" && conv.bot_paused {
            outbound::finish(&mut conn, tenant, id, "skipped", "the bot was paused for this conversation")
                .await?;
            return Ok(());
        }
        if !reply::window_open(conv.last_inbound_at, Utc::now()) {
            outbound::finish(&mut conn, tenant, id, "skipped", "the 24-hour window is closed").await?;
            conversations::set_notice(&mut conn, tenant, conv.conversation_id, "window_closed", true).await?;
            return Ok(());
        }
        let recipient = match (&conv.wa_id, &conv.bsuid) {
            (Some(phone), _) => Recipient::Phone(phone),
            (None, Some(bsuid)) => Recipient::Bsuid(bsuid),
            (None, None) => return Err(JobError::permanent(anyhow::anyhow!("contact has no address"))),
        };
        if !outbound::claim_for_send(&mut conn, tenant, id).await? {
            return Ok(());
        }
        let token = wa
            .keyring
            .open(&connection.access_token_enc, &token_context(connection.connection_id))
            .map_err(JobError::permanent)?;
        let creds = Creds { phone_number_id: &connection.phone_number_id, access_token: &token };
        let body = msg.body.clone().unwrap_or_default();
        let error = match wa.graph.send_text(&creds, recipient, &body, &id.to_string()).await {
            Ok(wamid) => {
                let mut tx = ctx.db.begin().await?;
                delivery::sent(&mut tx, tenant, id, &wamid, None).await?;
                tx.commit().await?;
                return Ok(());
            }
            Err(e) => e,
        };
        let why = error.to_string();
        match error.class() {
            GraphErrorClass::Reauthorize => {
                let mut tx = ctx.db.begin().await?;
                outbound::finish(&mut tx, tenant, id, "failed", &why).await?;
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
                outbound::finish(&mut conn, tenant, id, "failed", &why).await?;
                conversations::set_notice(&mut conn, tenant, conv.conversation_id, "window_closed", true)
                    .await?;
                Err(JobError::permanent(error))
            }
            GraphErrorClass::Reject => {
                outbound::finish(&mut conn, tenant, id, "failed", &why).await?;
                conversations::set_notice(&mut conn, tenant, conv.conversation_id, "send_failed", true)
                    .await?;
                Err(JobError::permanent(error))
            }
            class if current_attempt().is_last() => {
                outbound::finish(&mut conn, tenant, id, "failed", &why).await?;
                conversations::set_notice(&mut conn, tenant, conv.conversation_id, "send_failed", true)
                    .await?;
                Err(JobError::transient(anyhow::anyhow!("{why} ({class:?}, last attempt)")))
            }
            GraphErrorClass::RateLimited { wait } => {
                outbound::requeue(&mut conn, tenant, id, &why).await?;
                Err(JobError::rate_limited(wait, error))
            }
            GraphErrorClass::Retry => {
                outbound::requeue(&mut conn, tenant, id, &why).await?;
                Err(JobError::transient(error))
            }
        }
    }
}

/// Queues the "reconnect your number" email to the tenant's owners.
async fn notify_owner(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    settings_url: &str,
) -> Result<(), JobError> {
    let business = mujibak_core::db::tenants::get(tx, tenant).await?.business_name;
    let (subject, text, html) = notices::reauthorisation_needed(&business, settings_url);
    for owner in users::list(tx, tenant).await?.into_iter().filter(|u| u.role == Role::Owner) {
        let email = emails::NewEmail {
            email_id: EmailId::new(),
            tenant_id: Some(tenant),
            kind: "reauthorisation_needed".into(),
            to_address: owner.email,
            subject: subject.clone(),
            body_text: text.clone(),
            body_html: html.clone(),
        };
        crate::send_email::queue(tx, &email).await.map_err(JobError::transient)?;
    }
    Ok(())
}
