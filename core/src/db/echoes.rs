//! Echoes: what the business sent from the WhatsApp Business app, stored in its thread
//! as a human reply already sent (once per wamid).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{types::Json, PgConnection};
use uuid::Uuid;

use crate::domain::TenantId;

/// What the business sent from the WhatsApp Business app (an echo).
pub struct NewEcho<'a> {
    pub conversation_id: Uuid,
    pub wamid: &'a str,
    pub kind: &'a str,
    pub body: Option<&'a str>,
    pub details: Option<&'a Value>,
    pub at: DateTime<Utc>,
}

/// Stores an echo as a human reply already sent, unless its wamid is known; the new id or
/// `None`.
pub async fn insert_echo(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    m: &NewEcho<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into messages (tenant_id, message_id, conversation_id, direction, author, wamid, kind, body, details,
           status, created_at, sent_at, status_at, sent_from)
         values ($1, $2, $3, 'out', 'human', $4, $5, $6, $7, 'sent', $8, $8, now(), 'business_app')
         on conflict (tenant_id, wamid) where wamid is not null do nothing returning message_id",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(m.conversation_id)
    .bind(m.wamid)
    .bind(m.kind)
    .bind(m.body)
    .bind(m.details.map(Json))
    .bind(m.at)
    .fetch_optional(conn)
    .await
}
