//! The email outbox. A row is inserted in the same transaction as whatever caused it, and
//! the `send_email` job delivers it: `queued` → `sending` (claimed before the SMTP call) →
//! `sent`, or back to `queued` when the server refused for now; a run that finds it
//! `sending` marks it `uncertain` instead of sending it twice. Once sent, its bodies are
//! cleared (they may hold single-use links); the row stays as a record of what was sent to
//! whom and when.

use sqlx::{PgConnection, PgPool};

use crate::domain::{EmailId, TenantId};

/// An email to queue.
#[derive(Debug, Clone)]
pub struct NewEmail {
    pub email_id: EmailId,
    pub tenant_id: Option<TenantId>,
    /// Template name, e.g. `password_reset`.
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// A queued email as the send job loads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Email {
    pub email_id: EmailId,
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub status: String,
    /// A hand-off alert whose conversation someone opened since (or that no longer needs
    /// a person, or is gone): not worth sending.
    pub obsolete: bool,
}

pub async fn insert(conn: &mut PgConnection, e: &NewEmail) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into emails (email_id, tenant_id, kind, to_address, subject, body_text, body_html)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.email_id)
    .bind(e.tenant_id)
    .bind(&e.kind)
    .bind(&e.to_address)
    .bind(&e.subject)
    .bind(&e.body_text)
    .bind(&e.body_html)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(pool: &PgPool, email_id: EmailId) -> Result<Option<Email>, sqlx::Error> {
    sqlx::query_as(
        "select e.email_id, e.kind, e.to_address, e.subject, e.body_text, e.body_html, e.status,
                e.unless_opened is not null and coalesce((
                    select coalesce(c.read_at >= e.created_at, false) or not c.needs_human from conversations c
                     where c.tenant_id = e.tenant_id and c.conversation_id = e.unless_opened), true) as obsolete
           from emails e where e.email_id = $1",
    )
    .bind(email_id)
    .fetch_optional(pool)
    .await
}

/// The email (just queued) goes only if nobody of `tenant_id` opens `conversation` before
/// it is due.
pub async fn unless_opened(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    email_id: EmailId,
    conversation: crate::domain::ConversationId,
) -> Result<(), sqlx::Error> {
    sqlx::query("update emails set unless_opened = $3 where tenant_id = $1 and email_id = $2")
        .bind(tenant_id)
        .bind(email_id)
        .bind(conversation)
        .execute(conn)
        .await?;
    Ok(())
}

/// Not sent because it no longer mattered: keep the record, drop the bodies.
pub async fn mark_skipped(pool: &PgPool, email_id: EmailId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update emails set status = 'skipped', body_text = null, body_html = null where email_id = $1 and status = 'queued'",
    )
    .bind(email_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims a queued email for sending (before the SMTP call); `false` when it is not
/// queued any more (another run sends it, or did).
pub async fn claim(pool: &PgPool, email_id: EmailId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update emails set status = 'sending' where email_id = $1 and status = 'queued'")
        .bind(email_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The SMTP server refused for now (it said so): back in the queue for the next attempt.
pub async fn release(pool: &PgPool, email_id: EmailId, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update emails set status = 'queued', last_error = $2 where email_id = $1 and status = 'sending'",
    )
    .bind(email_id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Found claimed by an earlier run that never said how its SMTP call ended: it may have
/// gone out, so it is not sent again.
pub async fn mark_uncertain(pool: &PgPool, email_id: EmailId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update emails set status = 'uncertain',
                last_error = 'an earlier attempt claimed it and never recorded how its SMTP call ended'
          where email_id = $1 and status = 'sending'",
    )
    .bind(email_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Delivered: keep the record, drop the bodies.
pub async fn mark_sent(pool: &PgPool, email_id: EmailId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update emails set status = 'sent', sent_at = now(), body_text = null, body_html = null, last_error = null
         where email_id = $1",
    )
    .bind(email_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gave up: keep why, drop the bodies.
pub async fn mark_failed(pool: &PgPool, email_id: EmailId, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update emails set status = 'failed', last_error = $2, body_text = null, body_html = null where email_id = $1",
    )
    .bind(email_id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// A failed attempt that will be retried.
pub async fn note_error(pool: &PgPool, email_id: EmailId, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update emails set last_error = $2 where email_id = $1")
        .bind(email_id)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}
