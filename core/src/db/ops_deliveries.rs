//! The ops console's deliveries page: webhook events that need a person, statuses parked
//! for messages we do not know, and sends whose outcome is unknown (`uncertain`). Rows
//! carry ids, kinds and our own error notes, never the payload (it holds customers' words
//! and numbers). Tenant-owned: the tenant is a filter, or the first key of an action.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{ConversationId, MessageId, TenantId};

/// The kinds the pipeline processes (and so can process again).
pub const PROCESSED_KINDS: &[&str] = &["message", "status", "echo", "account_update", "user_preferences"];

/// An event needing a person.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Attention {
    pub tenant_id: TenantId,
    pub event_id: Uuid,
    pub kind: String,
    /// Meta's field, for events of a field Mujibak does not process.
    pub field: Option<String>,
    pub error: Option<String>,
    pub attempts: i32,
    pub received_at: DateTime<Utc>,
    pub dead_at: Option<DateTime<Utc>>,
    /// Whether reprocessing can help (a dead event of a kind the pipeline processes).
    pub reprocessable: bool,
}

/// Events needing a person, newest first (of one tenant, or all).
pub async fn attention(
    pool: &PgPool,
    tenant: Option<TenantId>,
    limit: i64,
) -> Result<Vec<Attention>, sqlx::Error> {
    sqlx::query_as(
        "select tenant_id, event_id, kind, payload ->> 'field' as field, error, attempts, received_at, dead_at,
                (dead_at is not null and kind = any($2)) as reprocessable
           from inbound_events
          where handled_at is null
            and ((dead_at is not null and processed_at is null)
                 or kind in ('unprocessable', 'webhook_error', 'misfiled'))
            and ($1::uuid is null or tenant_id = $1)
          order by received_at desc limit $3",
    )
    .bind(tenant)
    .bind(PROCESSED_KINDS)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A status waiting for a message we do not know (yet).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Parked {
    pub tenant_id: TenantId,
    pub wamid: String,
    pub status: String,
    pub parked_at: DateTime<Utc>,
}

pub async fn parked(pool: &PgPool, tenant: Option<TenantId>, limit: i64) -> Result<Vec<Parked>, sqlx::Error> {
    sqlx::query_as(
        "select tenant_id, wamid, status, parked_at from parked_statuses
          where ($1::uuid is null or tenant_id = $1) order by parked_at desc limit $2",
    )
    .bind(tenant)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A send whose outcome is unknown (settled by Meta's status or re-sent after the
/// reconcile delay).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Uncertain {
    pub tenant_id: TenantId,
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub created_at: DateTime<Utc>,
    pub delivery_note: Option<String>,
}

pub async fn uncertain(
    pool: &PgPool,
    tenant: Option<TenantId>,
    limit: i64,
) -> Result<Vec<Uncertain>, sqlx::Error> {
    sqlx::query_as(
        "select tenant_id, message_id, conversation_id, created_at, delivery_note from messages
          where status = 'uncertain' and ($1::uuid is null or tenant_id = $1)
          order by created_at desc limit $2",
    )
    .bind(tenant)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Gives a dead event of a processed kind another run: clears its death and error (the
/// caller enqueues it). `false` if it is not such an event.
pub async fn revive(conn: &mut PgConnection, tenant: TenantId, event: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update inbound_events set dead_at = null, error = null, sweeps = 0, swept_at = null
          where tenant_id = $1 and event_id = $2 and dead_at is not null and processed_at is null
            and handled_at is null and kind = any($3)",
    )
    .bind(tenant)
    .bind(event)
    .bind(PROCESSED_KINDS)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks an event needing a person as handled by `by`; `false` if it does not need one.
pub async fn mark_handled(
    conn: &mut PgConnection,
    tenant: TenantId,
    event: Uuid,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update inbound_events set handled_at = now(), handled_by = $3
          where tenant_id = $1 and event_id = $2 and handled_at is null
            and ((dead_at is not null and processed_at is null)
                 or kind in ('unprocessable', 'webhook_error', 'misfiled'))",
    )
    .bind(tenant)
    .bind(event)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
