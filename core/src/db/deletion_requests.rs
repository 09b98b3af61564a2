//! Account status SQL: the `tenant_is_active` gate as one row (`status_row`), staff
//! suspension columns on `tenants`, and `deletion_requests` (one open request per
//! tenant, by a partial unique index). `crate::accounts::status` and `crate::deletion`
//! drive these; nothing here writes audit rows.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::{DeletionRequestId, EmailId, TenantId};

/// What the gate needs about a tenant, read in one query.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusRow {
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspended_reason: Option<String>,
    /// The purge date of the tenant's open or completed request, if any.
    pub purge_after: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// The gate's row for `tenant` (`None`: no such tenant).
pub async fn status_row(conn: &mut PgConnection, tenant: TenantId) -> Result<Option<StatusRow>, sqlx::Error> {
    sqlx::query_as(
        "select t.suspended_at, t.suspended_reason, d.purge_after, d.completed_at
           from tenants t
           left join lateral (select purge_after, completed_at from deletion_requests
                               where tenant_id = t.tenant_id and cancelled_at is null
                               order by requested_at desc limit 1) d on true
          where t.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(conn)
    .await
}

/// Sets or clears (`None`) the suspension of `tenant`; whether anything changed.
pub async fn set_suspended(
    conn: &mut PgConnection,
    tenant: TenantId,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update tenants set suspended_at = case when $2::text is null then null else now() end,
                suspended_reason = $2, updated_at = now()
          where tenant_id = $1 and (suspended_at is null) = ($2::text is not null)",
    )
    .bind(tenant)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A deletion request as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub tenant_id: TenantId,
    pub request_id: DeletionRequestId,
    pub requested_at: DateTime<Utc>,
    pub purge_after: DateTime<Utc>,
    pub confirmation_email: Option<EmailId>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "tenant_id, request_id, requested_at, purge_after, confirmation_email, cancelled_at, completed_at";

/// Who asked, as stored.
pub struct NewRequest<'a> {
    pub request_id: DeletionRequestId,
    pub by_kind: &'a str,
    pub by: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub grace_secs: i64,
}

/// Inserts an open request for `tenant`; `None` if one is already open.
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    new: &NewRequest<'_>,
) -> Result<Option<Request>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into deletion_requests (tenant_id, request_id, requested_by_kind, requested_by, reason, purge_after)
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
         on conflict (tenant_id) where cancelled_at is null and completed_at is null do nothing
         returning {COLUMNS}"
    )))
    .bind(tenant)
    .bind(new.request_id)
    .bind(new.by_kind)
    .bind(new.by)
    .bind(new.reason)
    .bind(new.grace_secs as f64)
    .fetch_optional(conn)
    .await
}

/// Records the outbox id of the request's confirmation email.
pub async fn set_confirmation(
    conn: &mut PgConnection,
    tenant: TenantId,
    request: DeletionRequestId,
    email: EmailId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update deletion_requests set confirmation_email = $3 where tenant_id = $1 and request_id = $2",
    )
    .bind(tenant)
    .bind(request)
    .bind(email)
    .execute(conn)
    .await?;
    Ok(())
}

/// The request `request` of `tenant`.
pub async fn get(
    conn: &mut PgConnection,
    tenant: TenantId,
    request: DeletionRequestId,
) -> Result<Option<Request>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from deletion_requests where tenant_id = $1 and request_id = $2"
    )))
    .bind(tenant)
    .bind(request)
    .fetch_optional(conn)
    .await
}

/// The open request of `tenant`, if any.
pub async fn open(conn: &mut PgConnection, tenant: TenantId) -> Result<Option<Request>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from deletion_requests
          where tenant_id = $1 and cancelled_at is null and completed_at is null"
    )))
    .bind(tenant)
    .fetch_optional(conn)
    .await
}

/// Cancels the open request of `tenant` by `by`; the request cancelled, if one was open.
pub async fn cancel(
    conn: &mut PgConnection,
    tenant: TenantId,
    by: &str,
) -> Result<Option<Request>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update deletion_requests set cancelled_at = now(), cancelled_by = $2
          where tenant_id = $1 and cancelled_at is null and completed_at is null
          returning {COLUMNS}"
    )))
    .bind(tenant)
    .bind(by)
    .fetch_optional(conn)
    .await
}

/// Marks `request` completed; false if it was not open any more.
pub async fn complete(
    conn: &mut PgConnection,
    tenant: TenantId,
    request: DeletionRequestId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update deletion_requests set completed_at = now()
          where tenant_id = $1 and request_id = $2 and cancelled_at is null and completed_at is null",
    )
    .bind(tenant)
    .bind(request)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open requests due for the purge: past `purge_after`, or requested before
/// `requested_before` whatever their date (the 30-day promise wins over the grace).
pub async fn due(pool: &PgPool, requested_before: DateTime<Utc>) -> Result<Vec<Request>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from deletion_requests
          where cancelled_at is null and completed_at is null
            and (purge_after <= now() or requested_at <= $1)
          order by requested_at"
    )))
    .bind(requested_before)
    .fetch_all(pool)
    .await
}

/// The status of outbox email `email` (`None` if gone).
pub async fn email_status(conn: &mut PgConnection, email: EmailId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select status from emails where email_id = $1").bind(email).fetch_optional(conn).await
}

/// Deletes the error history of `tenant`'s job rows (the purge then deletes the rows).
pub async fn delete_job_errors(conn: &mut PgConnection, tenant: TenantId) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from job_errors where task_id in
           (select id from apalis.jobs where metadata -> 'tenant' = $1::text)",
    )
    .bind(tenant)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
