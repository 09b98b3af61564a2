//! FetchMedia: downloads a customer's file (a voice note, an image, …) from Meta into
//! Postgres, transcribes a voice note or describes an image (when configured, and only
//! if the business turned on media understanding: otherwise the file never goes to the
//! model provider, and the reply reads it as a file sent, not understood), then asks
//! for the reply its turn has been waiting for (`generate_reply` does not answer a turn
//! whose file is still pending, so a burst of voice and text is answered once, with the
//! transcript). A download failure is retried with backoff (Meta's 5xx, a timeout, an
//! expired URL: each attempt asks Meta for a fresh URL); a file too large, of a type not
//! kept or not what it claims, or one Meta refuses (an unknown media id, a token it no
//! longer takes) is never retried. After the last attempt the failure is
//! recorded, the thread shows it and the reply goes ahead without the file; a transcription
//! that keeps failing leaves the file kept and the voice note shown untranscribed. A
//! file whose message the customer deleted meanwhile is not fetched.

use mujibak_core::{
    clients::{
        openai::ModelError,
        whatsapp::{Creds, GraphErrorClass, MediaError},
    },
    connections::access_token,
    db::{connections, conversations, media as db_media},
    domain::{media::Failure, ConversationId, MessageId, TenantId},
};
use serde::{Deserialize, Serialize};

use crate::{
    enqueue_in,
    generate_reply::GenerateReply,
    job::{current_attempt, Job, JobContext, JobError},
};

/// Fetch (and understand) the file of the customer's message `message_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchMedia {
    pub tenant_id: TenantId,
    pub message_id: MessageId,
}

impl Job for FetchMedia {
    const QUEUE: &'static str = "fetch_media";
    const MAX_ATTEMPTS: u32 = 5;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
    const CONCURRENCY: usize = 2;
    const WAITS_OUTSIDE: bool = true;
    const BACKOFF: crate::backoff::Backoff =
        crate::backoff::Backoff::new(std::time::Duration::from_secs(1), std::time::Duration::from_secs(30));

    fn tenant(&self) -> Option<TenantId> {
        Some(self.tenant_id)
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        let wa = ctx.whatsapp()?;
        let (tenant, id) = (self.tenant_id, self.message_id);
        let mut conn = ctx.db.acquire().await?;
        let Some(file) = db_media::to_fetch(&mut conn, tenant, id).await? else { return Ok(()) };
        if file.status != "pending" || file.deleted {
            return Ok(());
        }
        let (last, conversation) = (current_attempt().is_last(), file.conversation_id);
        let understand = file.understand;
        let (bytes, mime) = match (file.bytes, file.mime_type) {
            (Some(bytes), Some(mime)) => {
                drop(conn);
                (bytes, mime) // kept by an earlier attempt
            }
            _ => {
                let Some(connection) = connections::get(&mut conn, tenant, file.connection_id).await? else {
                    return self.finish(ctx, conversation, None, Some(Failure::Download)).await;
                };
                db_media::attempted(&mut conn, tenant, id).await?;
                drop(conn);
                let token = access_token(&wa.keyring, &connection).map_err(JobError::permanent)?;
                let creds = Creds { phone_number_id: &connection.phone_number_id, access_token: &token };
                crate::fence().await?;
                match wa.graph.download_media(&creds, &file.kind, &file.media_id).await {
                    Ok(got) => {
                        let mut conn = ctx.db.acquire().await?;
                        db_media::store_file(&mut conn, tenant, id, &got.mime_type, &got.bytes).await?;
                        (got.bytes, got.mime_type)
                    }
                    Err(MediaError::Refused(why)) => {
                        tracing::info!(tenant.id = %tenant, message.id = %id, why = why.as_str(), "media not kept");
                        return self.finish(ctx, conversation, None, Some(why)).await;
                    }
                    // Meta refused (an unknown or expired media id, a token it no longer
                    // takes): no retry changes that.
                    Err(MediaError::Graph(e)) if !last && !refused(&e) => {
                        return Err(match e.class() {
                            GraphErrorClass::RateLimited { wait } => JobError::rate_limited(wait, e),
                            GraphErrorClass::RecipientLimited { wait } => JobError::retry_after(wait, e),
                            _ => JobError::transient(e),
                        })
                    }
                    Err(MediaError::Graph(e)) => {
                        tracing::warn!(tenant.id = %tenant, message.id = %id, error = %e, "media download failed; shown in the thread");
                        return self.finish(ctx, conversation, None, Some(Failure::Download)).await;
                    }
                }
            }
        };
        crate::fence().await?;
        let understood = match file.kind.as_str() {
            // The business has not chosen to send its customers' files to the model.
            _ if !understand => Ok(None),
            "audio" => wa.model.transcribe(bytes, &mime).await,
            "image" => wa.model.describe(&bytes, &mime, file.caption.as_deref()).await,
            _ => Ok(None),
        };
        match understood {
            Ok(text) => self.finish(ctx, conversation, text.as_deref().filter(|t| !t.is_empty()), None).await,
            Err(ModelError::RateLimited) if !last => {
                Err(JobError::rate_limited(std::time::Duration::from_secs(3), ModelError::RateLimited))
            }
            Err(e @ ModelError::Transient(_)) if !last => Err(JobError::transient(e)),
            Err(e) => {
                tracing::warn!(tenant.id = %tenant, message.id = %id, error = %e, "media not understood; shown as it is");
                self.finish(ctx, conversation, None, Some(Failure::Understanding)).await
            }
        }
    }
}

/// A Graph error no retry changes.
fn refused(e: &mujibak_core::clients::whatsapp::GraphError) -> bool {
    matches!(e.class(), GraphErrorClass::Reject | GraphErrorClass::Reauthorize)
}

impl FetchMedia {
    /// Ends the file's wait and, in the same transaction, asks for the reply its turn
    /// waited for (if one is still awaited).
    async fn finish(
        &self,
        ctx: &JobContext,
        conversation: ConversationId,
        understood: Option<&str>,
        failure: Option<Failure>,
    ) -> Result<(), JobError> {
        let (tenant, id) = (self.tenant_id, self.message_id);
        let mut tx = ctx.db.begin().await?;
        if !db_media::finish(&mut tx, tenant, id, understood, failure.map(Failure::as_str)).await? {
            return Ok(()); // finished by another run
        }
        if let Some(requested_at) = conversations::request_reply_again(&mut tx, tenant, conversation).await? {
            let debounce = ctx.whatsapp.as_ref().map(|w| w.debounce).unwrap_or_default();
            let job = GenerateReply { tenant_id: tenant, conversation_id: conversation, requested_at };
            enqueue_in(&mut tx, &job, debounce).await.map_err(JobError::transient)?;
        }
        tx.commit().await?;
        Ok(())
    }
}
