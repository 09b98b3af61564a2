//! The durable inbox of webhook events: each message or status of a delivery, keyed by
//! Meta's id so a redelivery is recognised, stored before the webhook answers 200. Also
//! what is only recorded for staff (unprocessable deliveries, webhook-level errors,
//! unhandled fields, misfiled events), each event's failed attempts, the sweeper's
//! bookkeeping (sweeps, dead events), the scrubbing of a deleted message's payloads, and
//! the pruning of events done with once they are older than the retention.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{types::Json, PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{ConnectionId, TenantId};

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboundEvent {
    pub event_id: Uuid,
    pub connection_id: ConnectionId,
    pub kind: String,
    pub payload: Json<Value>,
    pub processed: bool,
    pub received_at: DateTime<Utc>,
}

/// An event to store.
pub struct NewEvent<'a> {
    pub connection_id: ConnectionId,
    pub dedupe_key: &'a str,
    pub kind: &'a str,
    pub payload: &'a Value,
    /// Recorded for staff only: stored as already processed, with this note.
    pub recorded: Option<&'a str>,
}

/// An event the sweeper found unprocessed for too long.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stale {
    pub tenant_id: TenantId,
    pub event_id: Uuid,
    pub sweeps: i32,
}

/// Stores an event unless its dedupe key was seen or the tenant is not active (see
/// `deliveries`); returns the new id, or `None` for a duplicate or a dropped event.
pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    e: &NewEvent<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into inbound_events (tenant_id, event_id, connection_id, dedupe_key, kind, payload, processed_at, error)
         select $1, $2, $3, $4, $5, $6, case when $7::text is null then null else now() end, $7
          where tenant_is_active($1)
         on conflict (tenant_id, dedupe_key) do nothing returning event_id",
    )
    .bind(tenant_id)
    .bind(Uuid::new_v4())
    .bind(e.connection_id)
    .bind(e.dedupe_key)
    .bind(e.kind)
    .bind(Json(e.payload))
    .bind(e.recorded)
    .fetch_optional(conn)
    .await
}

/// The event, locked until the transaction ends (two jobs never process it at once).
pub async fn lock(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
) -> Result<Option<InboundEvent>, sqlx::Error> {
    sqlx::query_as(
        "select event_id, connection_id, kind, payload, processed_at is not null as processed, received_at
         from inbound_events where tenant_id = $1 and event_id = $2 for update",
    )
    .bind(tenant_id)
    .bind(event_id)
    .fetch_optional(conn)
    .await
}

/// Done, with a note (why it was skipped, parked, …) or none. The last statement of the
/// event's transaction: `processed_at` is the wall clock then (not the transaction's start),
/// so it orders the event after anything it waited for (a reply holding its conversation).
pub async fn mark_processed(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update inbound_events set processed_at = clock_timestamp(), error = $3, dead_at = null
         where tenant_id = $1 and event_id = $2",
    )
    .bind(tenant_id)
    .bind(event_id)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event of a batch that spans businesses, with its business.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Held {
    pub tenant_id: TenantId,
    #[sqlx(flatten)]
    pub event: InboundEvent,
}

/// The `(tenant_id, event_id)` pairs as two arrays, for `unnest`.
fn split(events: &[(TenantId, Uuid)]) -> (Vec<TenantId>, Vec<Uuid>) {
    events.iter().copied().unzip()
}

/// Of `events` (each with its business), the ones still to process, locked until the
/// transaction ends, in the order they arrived. An event another transaction holds is
/// skipped (that one processes it), as is one already processed or given up, and one of
/// a business no longer active (its own job drops it).
pub async fn lock_unprocessed(
    conn: &mut PgConnection,
    events: &[(TenantId, Uuid)],
) -> Result<Vec<Held>, sqlx::Error> {
    let (tenants, ids) = split(events);
    sqlx::query_as(
        "select e.tenant_id, e.event_id, e.connection_id, e.kind, e.payload, false as processed, e.received_at
           from inbound_events e
           join unnest($1::uuid[], $2::uuid[]) as k (tenant_id, event_id)
             on e.tenant_id = k.tenant_id and e.event_id = k.event_id
          where e.processed_at is null and e.dead_at is null and tenant_is_active(e.tenant_id)
          order by e.received_at, e.event_id
          for update of e skip locked",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(conn)
    .await
}

/// Of `events` (each with its business), the ones still to process (as this transaction
/// sees them).
pub async fn unprocessed(
    conn: &mut PgConnection,
    events: &[(TenantId, Uuid)],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let (tenants, ids) = split(events);
    sqlx::query_scalar(
        "select e.event_id from inbound_events e
           join unnest($1::uuid[], $2::uuid[]) as k (tenant_id, event_id)
             on e.tenant_id = k.tenant_id and e.event_id = k.event_id
          where e.processed_at is null and e.dead_at is null",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(conn)
    .await
}

/// [`mark_processed`] for many events (each with its business) in one statement: each
/// with its note.
pub async fn mark_processed_many(
    conn: &mut PgConnection,
    done: &[(TenantId, Uuid, Option<String>)],
) -> Result<(), sqlx::Error> {
    let tenants: Vec<TenantId> = done.iter().map(|(t, _, _)| *t).collect();
    let ids: Vec<Uuid> = done.iter().map(|(_, id, _)| *id).collect();
    let notes: Vec<Option<&str>> = done.iter().map(|(_, _, note)| note.as_deref()).collect();
    sqlx::query(
        "update inbound_events e set processed_at = clock_timestamp(), error = d.note, dead_at = null
           from unnest($1::uuid[], $2::uuid[], $3::text[]) as d (tenant_id, id, note)
          where e.tenant_id = d.tenant_id and e.event_id = d.id",
    )
    .bind(&tenants)
    .bind(&ids)
    .bind(&notes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes up to `limit` events received before `cutoff` that are done with: processed,
/// recorded, or given up by the sweeper. Unprocessed ones are work and stay. Returns how
/// many went.
pub async fn prune(pool: &PgPool, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from inbound_events where (tenant_id, event_id) in (
            select tenant_id, event_id from inbound_events
             where received_at < $1 and (processed_at is not null or dead_at is not null)
             limit $2)",
    )
    .bind(cutoff)
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// An attempt at the event failed with `error` (it stays unprocessed).
pub async fn record_failure(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    event_id: Uuid,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update inbound_events set attempts = attempts + 1, attempted_at = now(), error = $3
         where tenant_id = $1 and event_id = $2 and processed_at is null",
    )
    .bind(tenant_id)
    .bind(event_id)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// A message was deleted: the payloads that carried it (the message or echo itself, and
/// every edit of it) keep only Meta's ids and type. Returns how many were scrubbed.
pub async fn scrub(conn: &mut PgConnection, tenant_id: TenantId, wamid: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "update inbound_events set payload = (payload - 'name' - 'username')
           || jsonb_build_object('raw', jsonb_build_object('id', payload #> '{raw,id}', 'type', payload #> '{raw,type}',
                'deleted', true))
         where tenant_id = $1
           and (dedupe_key in ('message:' || $2, 'echo:' || $2)
                or (payload #>> '{raw,type}' = 'edit' and payload #>> '{raw,edit,original_message_id}' = $2))",
    )
    .bind(tenant_id)
    .bind(wamid)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Events to process (messages, statuses, echoes, account updates, preferences) of every
/// tenant still unprocessed (and not dead) since before `cutoff` (received, or last
/// swept), oldest first.
pub async fn stale(pool: &PgPool, cutoff: DateTime<Utc>, limit: i64) -> Result<Vec<Stale>, sqlx::Error> {
    sqlx::query_as(
        "select tenant_id, event_id, sweeps from inbound_events
         where processed_at is null and dead_at is null
           and kind in ('message', 'status', 'echo', 'account_update', 'user_preferences')
           and coalesce(swept_at, received_at) < $1
         order by coalesce(swept_at, received_at) limit $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The sweeper re-enqueued these events.
pub async fn mark_swept(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update inbound_events set sweeps = sweeps + 1, swept_at = now()
         where tenant_id = $1 and event_id = any($2) and processed_at is null",
    )
    .bind(tenant_id)
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// The sweeper gave up on these events: kept, with their last error, for staff.
pub async fn mark_dead(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update inbound_events set dead_at = now(),
           error = coalesce(error, 'never processed: its jobs did not run or kept failing')
         where tenant_id = $1 and event_id = any($2) and processed_at is null",
    )
    .bind(tenant_id)
    .bind(ids)
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
