//! Data exports' SQL: the `exports` rows (one open per tenant, by a partial unique index),
//! their ZIP chunks, and the paged reads of everything an export holds. Secrets never
//! leave here: users lose `password_hash`, connections their token and app-secret
//! ciphertexts, verify token and webhook key, in the statements themselves. Every page is
//! a keyset read on a primary key or an index, so an export of a million messages reads
//! a page at a time. `crate::export` drives these; nothing here writes audit rows.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::{ContactId, ExportId, TenantId, UserId};

/// An export as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Export {
    pub tenant_id: TenantId,
    pub export_id: ExportId,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    pub status: String,
    pub rows_done: i64,
    pub rows_total: i64,
    pub bytes: Option<i64>,
    pub ready_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub downloads: i32,
    pub error: Option<String>,
    /// The customer it holds; `None` for the whole account.
    pub contact_id: Option<ContactId>,
}

const COLUMNS: &str = "tenant_id, export_id, requested_by, requested_at, status, rows_done, rows_total,
                       bytes, ready_at, expires_at, downloads, error, contact_id";

/// Records a queued export; `None` when one is already queued or building.
pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    export: ExportId,
    by: UserId,
    contact: Option<ContactId>,
) -> Result<Option<Export>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into exports (tenant_id, export_id, requested_by, contact_id) values ($1, $2, $3, $4)
         on conflict (tenant_id) where status in ('queued', 'building') do nothing
         returning {COLUMNS}"
    )))
    .bind(tenant)
    .bind(export)
    .bind(by)
    .bind(contact)
    .fetch_optional(conn)
    .await
}

/// How many exports `tenant` asked for in the last `hours`: of customers (`customers`),
/// or of the whole account.
pub async fn requested_within(
    conn: &mut PgConnection,
    tenant: TenantId,
    hours: i64,
    customers: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from exports where tenant_id = $1 and requested_at > now() - make_interval(hours => $2::int)
            and (contact_id is not null) = $3",
    )
    .bind(tenant)
    .bind(hours)
    .bind(customers)
    .fetch_one(conn)
    .await
}

pub async fn get(pool: &PgPool, tenant: TenantId, export: ExportId) -> Result<Option<Export>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from exports where tenant_id = $1 and export_id = $2"
    )))
    .bind(tenant)
    .bind(export)
    .fetch_optional(pool)
    .await
}

/// The tenant's latest exports, newest first.
pub async fn recent(pool: &PgPool, tenant: TenantId, limit: i64) -> Result<Vec<Export>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from exports where tenant_id = $1 order by requested_at desc limit $2"
    )))
    .bind(tenant)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Starts (or restarts, after a crash) building: drops any chunks a previous attempt
/// wrote and sets the row count. False when the export is no longer queued or building.
pub async fn start_building(
    pool: &PgPool,
    tenant: TenantId,
    export: ExportId,
    rows_total: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let started = sqlx::query(
        "update exports set status = 'building', rows_done = 0, rows_total = $3, error = null
          where tenant_id = $1 and export_id = $2 and status in ('queued', 'building')",
    )
    .bind(tenant)
    .bind(export)
    .bind(rows_total)
    .execute(&mut *tx)
    .await?;
    let started = started.rows_affected() == 1;
    if started {
        sqlx::query("delete from export_chunks where export_id = $1").bind(export).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(started)
}

pub async fn set_progress(
    pool: &PgPool,
    tenant: TenantId,
    export: ExportId,
    rows_done: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update exports set rows_done = $3 where tenant_id = $1 and export_id = $2")
        .bind(tenant)
        .bind(export)
        .bind(rows_done)
        .execute(pool)
        .await?;
    Ok(())
}

/// Appends chunk `seq` of the export's ZIP.
pub async fn put_chunk(
    pool: &PgPool,
    tenant: TenantId,
    export: ExportId,
    seq: i32,
    data: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into export_chunks (export_id, seq, data)
         select export_id, $3, $4 from exports where tenant_id = $1 and export_id = $2",
    )
    .bind(tenant)
    .bind(export)
    .bind(seq)
    .bind(data)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks the export ready until `expires_at`; `None` if it was not building.
pub async fn mark_ready(
    conn: &mut PgConnection,
    tenant: TenantId,
    export: ExportId,
    bytes: i64,
    expires_at: DateTime<Utc>,
) -> Result<Option<Export>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update exports set status = 'ready', bytes = $3, rows_done = rows_total, ready_at = now(),
                expires_at = $4
          where tenant_id = $1 and export_id = $2 and status = 'building'
         returning {COLUMNS}"
    )))
    .bind(tenant)
    .bind(export)
    .bind(bytes)
    .bind(expires_at)
    .fetch_optional(conn)
    .await
}

/// Marks the export failed with an error kind and drops its chunks.
pub async fn mark_failed(
    pool: &PgPool,
    tenant: TenantId,
    export: ExportId,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with failed as (update exports set status = 'failed', error = $3
                          where tenant_id = $1 and export_id = $2 and status in ('queued', 'building')
                         returning export_id)
         delete from export_chunks where export_id in (select export_id from failed)",
    )
    .bind(tenant)
    .bind(export)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Chunk numbers of a ready, unexpired export (empty otherwise).
pub async fn chunk_seqs(pool: &PgPool, tenant: TenantId, export: ExportId) -> Result<Vec<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "select c.seq from export_chunks c join exports e using (export_id)
          where e.tenant_id = $1 and e.export_id = $2 and e.status = 'ready' and e.expires_at > now()
          order by c.seq",
    )
    .bind(tenant)
    .bind(export)
    .fetch_all(pool)
    .await
}

/// One chunk of a ready, unexpired export.
pub async fn chunk(
    pool: &PgPool,
    tenant: TenantId,
    export: ExportId,
    seq: i32,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "select c.data from export_chunks c join exports e using (export_id)
          where e.tenant_id = $1 and e.export_id = $2 and c.seq = $3
            and e.status = 'ready' and e.expires_at > now()",
    )
    .bind(tenant)
    .bind(export)
    .bind(seq)
    .fetch_optional(pool)
    .await
}

pub async fn count_download(pool: &PgPool, tenant: TenantId, export: ExportId) -> Result<(), sqlx::Error> {
    sqlx::query("update exports set downloads = downloads + 1 where tenant_id = $1 and export_id = $2")
        .bind(tenant)
        .bind(export)
        .execute(pool)
        .await?;
    Ok(())
}

/// Expires every ready export past its date and deletes its ZIP; which ones (any tenant:
/// the hourly sweep).
pub async fn expire_due(pool: &PgPool) -> Result<Vec<(TenantId, ExportId)>, sqlx::Error> {
    sqlx::query_as(
        "with gone as (update exports set status = 'expired'
                        where status = 'ready' and expires_at <= now()
                       returning tenant_id, export_id),
              dropped as (delete from export_chunks where export_id in (select export_id from gone))
         select tenant_id, export_id from gone",
    )
    .fetch_all(pool)
    .await
}

/// Gives up the tenant's export still queued or building after `after` (its job died),
/// marking it failed so another can be asked for.
pub async fn give_up_stale(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: chrono::Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with gone as (update exports set status = 'failed', error = 'gave_up'
                        where tenant_id = $1 and status in ('queued', 'building')
                          and requested_at < now() - make_interval(secs => $2)
                       returning export_id)
         delete from export_chunks where export_id in (select export_id from gone)",
    )
    .bind(tenant)
    .bind(after.num_seconds() as f64)
    .execute(conn)
    .await?;
    Ok(())
}
