//! Erasing one WhatsApp customer, the right the business (the controller of its
//! customers' data) must be able to honour: an owner asks from the customer's contact
//! panel with a reason ([`request`], audited in the transaction that queues the job), and
//! [`carry_out`] removes everything held about the customer through the same purge path
//! as an account deletion (`crate::purge`, scoped to the contact): their files with
//! transcripts and descriptions, raw webhook events naming them and the statuses of the
//! messages sent to them, parked statuses, messages, the conversation with its notes, the
//! contact with its labels, the hand-off alerts waiting in the outbox, and the stored
//! archives of earlier exports. Usage counts and invoices keep only numbers. Idempotent:
//! an interrupted erasure is finished by running it again. A customer who writes again
//! afterwards starts as a new contact.
//! Must not: render templates or know apalis.

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    db::{
        audit::{self, Actor},
        purge::{self, Scope},
    },
    domain::{ContactId, ConversationId, TenantId, UserId},
    purge::purge_rows,
};

/// The longest reason an owner may give.
pub const MAX_REASON: usize = 500;

/// Why an erasure was refused.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("no such conversation")]
    NotFound,
    #[error("a reason of 1 to 500 characters is needed")]
    Reason,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Records `user`'s request to erase the customer of `conversation`, with `reason`
/// (audited). The caller enqueues [`carry_out`]'s job on the same transaction.
pub async fn request(
    conn: &mut PgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    user: UserId,
    reason: &str,
) -> Result<ContactId, ErasureError> {
    let contact = purge::contact_of(conn, tenant, conversation).await?.ok_or(ErasureError::NotFound)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ErasureError::Reason);
    }
    let detail = json!({ "contact_id": contact, "conversation_id": conversation, "reason": reason });
    audit::record(conn, Some(tenant), &Actor::User(user), "customer_erasure_requested", detail).await?;
    Ok(contact)
}

/// Erases the customer `contact` of `tenant`; the content rows removed. The audit row
/// `customer_erased` is written by the run that removes the contact itself.
pub async fn carry_out(pool: &PgPool, tenant: TenantId, contact: ContactId) -> Result<u64, sqlx::Error> {
    let present = purge::contact_exists(pool, tenant, contact).await?;
    let leftovers = purge::contact_leftovers(pool, tenant, contact).await?;
    let rows = purge_rows(pool, tenant, Scope::Contact(contact)).await?;
    if present {
        let detail = json!({ "contact_id": contact, "content_rows": rows, "other_rows": leftovers });
        let mut conn = pool.acquire().await?;
        audit::record(&mut conn, Some(tenant), &Actor::System, "customer_erased", detail).await?;
    }
    Ok(rows)
}
