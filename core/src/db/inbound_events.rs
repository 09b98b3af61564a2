//! The durable inbox of webhook events: each message or status of a delivery, keyed by
//! Meta's id so a redelivery is recognised, stored before the webhook answers 200.

use serde_json::Value;
use sqlx::{types::Json, PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboundEvent {
    pub event_id: Uuid,
    pub connection_id: Uuid,
    pub kind: String,
    pub payload: Json<Value>,
    pub processed: bool,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// Stores an event unless its dedupe key was seen; returns the new id, or `None` for a
/// duplicate.
pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    connection_id: Uuid,
    dedupe_key: &str,
    kind: &str,
    payload: &Value,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into inbound_events (tenant_id, event_id, connection_id, dedupe_key, kind, payload)
         values ($1, $2, $3, $4, $5, $6) on conflict (tenant_id, dedupe_key) do nothing returning event_id",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(connection_id)
    .bind(dedupe_key)
    .bind(kind)
    .bind(Json(payload))
    .fetch_optional(conn)
    .await
}

pub async fn get(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
) -> Result<Option<InboundEvent>, sqlx::Error> {
    sqlx::query_as(
        "select event_id, connection_id, kind, payload, processed_at is not null as processed, received_at
         from inbound_events where tenant_id = $1 and event_id = $2",
    )
    .bind(tenant_id)
    .bind(event_id)
    .fetch_optional(conn)
    .await
}

pub async fn mark_processed(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update inbound_events set processed_at = now(), error = $3 where tenant_id = $1 and event_id = $2",
    )
    .bind(tenant_id)
    .bind(event_id)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deliveries that could not be read (for staff), newest first.
pub async fn unprocessable(pool: &PgPool, limit: i64) -> Result<Vec<(TenantId, Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "select tenant_id, event_id, coalesce(error, '') from inbound_events where kind = 'unprocessable'
         order by received_at desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
