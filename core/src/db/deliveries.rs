//! Storing a signed webhook delivery in one statement (one round trip, no explicit
//! transaction): its events, each unless its dedupe key was seen, and, when any event the
//! job is to process is new, the job that processes them (an `apalis.jobs` row as the
//! queue engine's `db::push` writes it). Redelivered events keep their first row; their fresh ids in the
//! job name no row, and the job skips them. Nothing is stored for a tenant that is not
//! active (suspended, or its deletion asked for): `tenant_is_active` is checked in the
//! statement itself, so a web process's cached connection cannot let a delivery in.

use serde_json::Value;
use sqlx::{types::Json, PgConnection};
use uuid::Uuid;

use crate::domain::{ConnectionId, TenantId};

/// The job a delivery's new events are processed by, as the queue engine prepared it (its
/// id, its encoded payload and its `max_attempts`), written by the same statement.
pub struct DeliveryJob<'a> {
    pub id: &'a str,
    pub payload: &'a [u8],
    pub max_attempts: i32,
}

/// One event of a delivery.
pub struct EventRow<'a> {
    /// Its id if it is new.
    pub event_id: Uuid,
    pub dedupe_key: String,
    pub kind: &'a str,
    pub payload: Value,
    /// Recorded for staff only: stored as already processed, with this note.
    pub recorded: Option<&'a str>,
    /// Stored as processed (the caller processes it in the same transaction).
    pub processed: bool,
}

/// Stores `rows` of `tenant`'s connection `connection_id` and, if one of `job_events` is
/// new, `job` (to run now, on queue `queue`). The ids of the rows stored (the new ones).
pub async fn store(
    conn: &mut PgConnection,
    tenant: TenantId,
    connection_id: ConnectionId,
    rows: &[EventRow<'_>],
    queue: &str,
    job: &DeliveryJob<'_>,
    job_events: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.dedupe_key.as_str()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind).collect();
    let payloads: Vec<Json<&Value>> = rows.iter().map(|r| Json(&r.payload)).collect();
    let notes: Vec<Option<&str>> = rows.iter().map(|r| r.recorded).collect();
    let processed: Vec<bool> = rows.iter().map(|r| r.processed).collect();
    sqlx::query_scalar(
        "with stored as (
            insert into inbound_events (tenant_id, event_id, connection_id, dedupe_key, kind, payload, processed_at, error)
            select $1, e.id, $2, e.key, e.kind, e.payload,
                   case when e.note is null and not e.done then null else now() end, e.note
              from unnest($3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $13::bool[])
                   as e (id, key, kind, payload, note, done)
             where tenant_is_active($1)
            on conflict (tenant_id, dedupe_key) do nothing
            returning event_id),
         pushed as (
            insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata)
            select $8, $9, $10, 'Pending', 0, $11, now(), 0, hstore('tenant', $1::text)
             where exists (select 1 from stored where event_id = any($12::uuid[])))
         select event_id from stored",
    )
    .bind(tenant)
    .bind(connection_id)
    .bind(&ids)
    .bind(&keys)
    .bind(&kinds)
    .bind(&payloads)
    .bind(&notes)
    .bind(job.id)
    .bind(queue)
    .bind(job.payload)
    .bind(job.max_attempts)
    .bind(job_events)
    .bind(&processed)
    .fetch_all(conn)
    .await
}
