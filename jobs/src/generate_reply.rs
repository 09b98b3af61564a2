//! GenerateReply: one answer per customer turn. Runs a few seconds after the latest
//! customer message (a burst gets one reply: an older request is dropped when a newer one
//! exists, and a reply waits while a message of the customer's delivered in the last 30 s
//! is not stored yet), checks that a reply is allowed before spending tokens (account active, bot on, not paused,
//! connection active, 24-hour window open, the turn not emptied by deletions, the plan's
//! AI replies not used up: `plan_limit`), waits while a voice note or image of the turn is
//! still being fetched (`fetch_media` asks again, so the burst is answered once, with the
//! transcript), marks the customer's message read with a
//! typing indicator (beside the model call: a slow receipt never delays the answer), retrieves the passages of the business's knowledge base that match
//! the customer's turn, asks the model with them (no transaction held open), then stores the reply and
//! enqueues its send in one transaction. A model that keeps failing falls back to the
//! business's fallback message, and the inbox shows why. Outside business hours the
//! customer gets the away message once per closed period (`domain::hours::away`), alone
//! or added to the AI's answer as the business chose; later messages in the same closed
//! period wait for the team (or get the AI's answer alone). A customer asking for a person
//! (`domain::handoff`: the built-in and the business's phrases, or the model's judgement)
//! is told a person will answer; the bot pauses for that conversation and it is marked as
//! needing a person.

use chrono::{DateTime, Utc};
use mujibak_core::{
    accounts,
    billing::plan,
    clients::{openai::ModelError, whatsapp::Creds},
    connections::access_token,
    db::{ai_usage, bot_settings, connections, conversations, knowledge as db_knowledge, messages},
    domain::{handoff, hours, knowledge, media, reply, ConversationId, MessageId, TenantId},
};
use serde::{Deserialize, Serialize};

use crate::{
    job::{current_attempt, Job, JobContext, JobError, WhatsAppContext},
    plan_limit::{self, Gate},
};

mod store;
use mujibak_core::domain::message::Direction;
use store::{with_notice, Effects};

/// How recent an unprocessed delivery from the customer must be for the reply to wait for
/// it (an older one is stuck, and the bot answers without it).
const STILL_WRITING: std::time::Duration = std::time::Duration::from_secs(30);
/// When a reply that waited for the rest of its turn looks again.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(500);

/// Answer `conversation_id`, if `requested_at` is still its latest reply request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerateReply {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub requested_at: DateTime<Utc>,
}

impl Job for GenerateReply {
    const QUEUE: &'static str = "generate_reply";
    const MAX_ATTEMPTS: u32 = 4;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
    const CONCURRENCY: usize = 4;
    const WAITS_OUTSIDE: bool = true;
    const BACKOFF: crate::backoff::Backoff =
        crate::backoff::Backoff::new(std::time::Duration::from_secs(1), std::time::Duration::from_secs(60));

    fn tenant(&self) -> Option<TenantId> {
        Some(self.tenant_id)
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let wa = ctx.whatsapp()?;
        let (tenant, id) = (self.tenant_id, self.conversation_id);
        let mut conn = ctx.db.acquire().await?;
        let Some(read) = conversations::for_reply(&mut conn, tenant, id, STILL_WRITING).await? else {
            return Ok(());
        };
        if !read.account_active {
            // Suspended or being deleted: no tokens spent, nothing to retry.
            let status = accounts::status(&mut conn, tenant).await?;
            tracing::info!(tenant.id = %tenant, status = status.as_str(), "tenant not active; no reply");
            return Ok(());
        }
        let conv = read.conversation;
        if !self.is_latest(conv.reply_requested_at) || !conv.unanswered {
            return Ok(()); // a newer request will answer, or someone already did
        }
        if read.still_writing {
            // More of the turn was delivered but is not stored yet (a backlog): answer once it
            // is, not twice.
            crate::enqueue_in(&mut conn, &self, LOOK_AGAIN).await.map_err(JobError::transient)?;
            return Ok(());
        }
        let settings = bot_settings::get(&mut conn, tenant).await?;
        let connection = connections::get(&mut conn, tenant, conv.connection_id).await?;
        let Some(connection) = connection.filter(connections::Connection::is_active) else {
            conversations::set_notice(&mut conn, tenant, id, "connection_inactive", true).await?;
            return Ok(());
        };
        if !settings.enabled || conv.bot_paused {
            return Ok(());
        }
        if !reply::window_open(conv.last_inbound_at, Utc::now()) {
            conversations::set_notice(&mut conn, tenant, id, "window_closed", true).await?;
            return Ok(());
        }
        let history = messages::recent(&mut conn, tenant, id, reply::MAX_TURNS as i64).await?;
        if !reply::turn_has_substance(&history) {
            // Every message of the turn was deleted (or carries nothing): no tokens spent.
            conversations::nothing_to_answer(&mut conn, tenant, id, self.requested_at).await?;
            return Ok(());
        }
        if media::waiting_for_media(&history, Utc::now()) {
            return Ok(()); // `fetch_media` asks again once the turn's file is understood
        }
        let latest_in =
            history.iter().rev().find(|m| m.direction == Direction::In && m.deleted_at.is_none()).cloned();
        // Everything the model call needs, on this one connection: a burst's replies queue
        // for the pool once each, not three times.
        let allowance = ai_usage::allowance(&mut conn, tenant).await?;
        let asked = knowledge::terms(&reply::latest_turn(&history));
        let passages = db_knowledge::relevant(&mut conn, tenant, &asked, knowledge::MAX_PASSAGES).await?;
        drop(conn);

        let token = access_token(&wa.keyring, &connection).map_err(JobError::permanent)?;
        crate::fence().await?;
        if let Some(wamid) = latest_in.as_ref().and_then(|m| m.wamid.clone()) {
            // Beside the model call, not before it: the customer sees "typing…" at once, and a
            // slow or failing receipt never delays the reply.
            let (graph, number, token) =
                (wa.graph.clone(), connection.phone_number_id.clone(), token.clone());
            tokio::spawn(async move {
                let creds = Creds { phone_number_id: &number, access_token: &token };
                if let Err(e) = graph.mark_read(&creds, &wamid).await {
                    tracing::warn!(tenant.id = %tenant, conversation.id = %id, error = %e, "could not mark read");
                }
            });
        }
        // Outside the hours: the away message once per closed period, alone or with the
        // AI's answer, as the business chose.
        let away = hours::away(&settings, conv.away_noticed_at, Utc::now());
        let notice = away.notice.then(|| settings.away_message.trim());
        let reply_to = latest_in.map(|m| m.message_id);
        let with_away = Effects { away_notice: notice.is_some(), ..Effects::default() };
        // A customer asking for a person gets one, before any model call.
        if handoff::requested(&reply::latest_turn(&history), &settings.handoff_phrases) {
            return self.hand_off(ctx, reply_to, &settings, notice).await;
        }
        if !away.ai {
            if let Some(notice) = notice {
                self.store_and_send(ctx, reply_to, notice, false, with_away).await?;
            }
            return Ok(());
        }
        let (text, generated) = if let gate @ (Gate::UsedUp | Gate::OnHold) =
            plan_limit::decide(ctx, tenant, &allowance).await?
        {
            // Used up, or paused for an unpaid invoice: no model call; the fallback if
            // one is set, and the inbox says why (after the send, which clears notices).
            let text = with_notice(settings.fallback_message.trim(), notice);
            if !text.is_empty() {
                self.store_and_send(ctx, reply_to, &text, false, with_away).await?;
            }
            let why = if gate == Gate::OnHold { "billing_hold" } else { "quota_reached" };
            let mut conn = ctx.db.acquire().await?;
            conversations::set_notice(&mut conn, tenant, id, why, true).await?;
            return Ok(());
        } else {
            match self.ask_model(ctx, wa, &settings, &history, &allowance, &passages).await? {
                // The model judged that the customer asks for a person.
                Answer::Model(text) if handoff::model_asked(&text) => {
                    return self.hand_off(ctx, reply_to, &settings, notice).await
                }
                Answer::Model(text) => (text, true),
                Answer::Fallback(text) => {
                    self.store_and_send(ctx, reply_to, &with_notice(&text, notice), false, with_away).await?;
                    let mut conn = ctx.db.acquire().await?;
                    conversations::set_notice(&mut conn, tenant, id, "model_failed", true).await?;
                    return Ok(());
                }
                Answer::Nothing => {
                    return Err(JobError::permanent(anyhow::anyhow!(
                        "the model failed and no fallback message is set"
                    )))
                }
            }
        };
        self.store_and_send(ctx, reply_to, &with_notice(&text, notice), generated, with_away).await
    }
}

/// What to send after asking the model.
enum Answer {
    Model(String),
    Fallback(String),
    Nothing,
}

impl GenerateReply {
    fn is_latest(&self, requested: Option<DateTime<Utc>>) -> bool {
        requested.is_some_and(|r| (r - self.requested_at).num_milliseconds().abs() < 1)
    }

    /// The model's reply; on a permanent failure (or the last attempt) the fallback
    /// message, or nothing, with the failure noted in the inbox.
    async fn ask_model(
        &self,
        ctx: &JobContext,
        wa: &WhatsAppContext,
        settings: &bot_settings::BotSettings,
        history: &[messages::Message],
        allowance: &ai_usage::Allowance,
        passages: &[db_knowledge::Passage],
    ) -> Result<Answer, JobError> {
        // Only a model the plan allows (among the operator's); else the default.
        let allowed = plan::models_allowed(&allowance.models, wa.model.models());
        let system = reply::system_prompt(&allowance.business_name, settings, passages);
        let model = Some(settings.model.as_str()).filter(|m| !m.is_empty() && allowed.iter().any(|a| a == m));
        crate::fence().await?;
        let failure = match wa.model.reply(model, &system, &reply::turns(history)).await {
            Ok(text) => return Ok(Answer::Model(text)),
            Err(e) => e,
        };
        let last = current_attempt().is_last();
        match (&failure, last) {
            (ModelError::RateLimited, false) => {
                return Err(JobError::rate_limited(std::time::Duration::from_secs(3), failure))
            }
            (ModelError::Transient(_), false) => return Err(JobError::transient(failure)),
            _ => {}
        }
        tracing::warn!(tenant.id = %self.tenant_id, conversation.id = %self.conversation_id, error = %failure, "model failed; falling back");
        let mut conn = ctx.db.acquire().await?;
        conversations::set_notice(&mut conn, self.tenant_id, self.conversation_id, "model_failed", true)
            .await?;
        let fallback = settings.fallback_message.trim();
        Ok(if fallback.is_empty() { Answer::Nothing } else { Answer::Fallback(fallback.to_owned()) })
    }

    /// A person takes over: the customer is told so (the business's words), the bot
    /// pauses for this conversation and it is marked as needing a person.
    async fn hand_off(
        &self,
        ctx: &JobContext,
        reply_to: Option<MessageId>,
        settings: &bot_settings::BotSettings,
        notice: Option<&str>,
    ) -> Result<(), JobError> {
        let said = Some(settings.handoff_message.trim())
            .filter(|m| !m.is_empty())
            .unwrap_or(handoff::DEFAULT_MESSAGE);
        let effects = Effects {
            away_notice: notice.is_some(),
            handoff: true,
            alert_minutes: u32::try_from(settings.handoff_email_minutes).unwrap_or(0),
        };
        self.store_and_send(ctx, reply_to, &with_notice(said, notice), false, effects).await?;
        tracing::info!(tenant.id = %self.tenant_id, conversation.id = %self.conversation_id, "handed off to a person");
        Ok(())
    }
}
