//! The end of a GenerateReply: the reply stored and its send enqueued in one transaction,
//! with what the reply does besides ([`Effects`]: the away notice noted, a hand-off
//! marked and its delayed email to the team), unless the turn changed meanwhile.

use mujibak_core::{
    db::{conversations, messages},
    notices,
};

use super::GenerateReply;
use crate::{
    enqueue,
    job::{JobContext, JobError},
    notify,
    send_message::SendMessage,
};
use mujibak_core::domain::message::Author;
use mujibak_core::domain::MessageId;

/// What a reply does besides sending its text, in the same transaction.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Effects {
    /// It carries the away message.
    pub(super) away_notice: bool,
    /// A person takes over.
    pub(super) handoff: bool,
    /// Minutes after which the team is emailed if nobody opened the conversation (0: never).
    pub(super) alert_minutes: u32,
}

/// `text` with the away message after it, if one is due (one message: two in a row to
/// the same customer would hit WhatsApp's pair rate limit).
pub(super) fn with_notice(text: &str, notice: Option<&str>) -> String {
    match notice {
        Some(n) if !text.is_empty() => format!("{text}\n\n{n}"),
        Some(n) => n.to_owned(),
        None => text.to_owned(),
    }
}

impl GenerateReply {
    /// Stores the reply and enqueues its send, unless the turn changed meanwhile.
    pub(super) async fn store_and_send(
        &self,
        ctx: &JobContext,
        reply_to: Option<MessageId>,
        text: &str,
        generated: bool,
        effects: Effects,
    ) -> Result<(), JobError> {
        let mut tx = ctx.db.begin().await?;
        let Some(conv) = conversations::lock(&mut tx, self.tenant_id, self.conversation_id).await? else {
            return Ok(());
        };
        if !self.is_latest(conv.reply_requested_at) || !conv.unanswered || conv.bot_paused {
            return Ok(()); // a newer message arrived, a human answered, or the bot was paused
        }
        // The hand-off's message is the system's: it goes out although the bot pauses.
        let author = if effects.handoff { Author::System } else { Author::Bot };
        let message_id = messages::insert_outbound(
            &mut tx,
            self.tenant_id,
            self.conversation_id,
            author,
            text,
            reply_to,
            generated,
        )
        .await?;
        conversations::answered(&mut tx, self.tenant_id, self.conversation_id).await?;
        if effects.away_notice {
            conversations::away_noticed(&mut tx, self.tenant_id, self.conversation_id).await?;
        }
        if effects.handoff {
            conversations::handed_off(&mut tx, self.tenant_id, self.conversation_id).await?;
            if effects.alert_minutes > 0 {
                let link = format!("{}/inbox/{}", ctx.base_url, self.conversation_id);
                let after = std::time::Duration::from_secs(u64::from(effects.alert_minutes) * 60);
                notify::team_unless_opened(
                    &mut tx,
                    self.tenant_id,
                    self.conversation_id,
                    after,
                    |business| notices::handoff_alert(business, effects.alert_minutes, &link),
                )
                .await?;
            }
        }
        enqueue(&mut tx, &SendMessage { tenant_id: self.tenant_id, message_id })
            .await
            .map_err(JobError::transient)?;
        tx.commit().await?;
        Ok(())
    }
}
