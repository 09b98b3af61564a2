//! Breach incidents (`incidents`, `incident_tenants`) and their per-user notifications
//! (`incident_notifications`, primary key incident + user: the fan-out's uniqueness).
//! Notification rows hold ids, states and SMTP reply classes, never an address: the
//! `notify_breach` job reads the user's current address and language when it sends.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::domain::{IncidentId, Locale, TenantId, UserId};

/// An incident to record.
pub struct NewIncident<'a> {
    pub incident_id: IncidentId,
    pub title: &'a str,
    pub description_ar: &'a str,
    pub description_en: &'a str,
    pub detected_at: DateTime<Utc>,
    pub recorded_by: &'a str,
    pub recorded_by_name: &'a str,
    /// Empty when it affects every tenant.
    pub tenants: &'a [TenantId],
}

/// An incident as stored.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Incident {
    pub incident_id: IncidentId,
    pub title: String,
    pub description_ar: String,
    pub description_en: String,
    pub detected_at: DateTime<Utc>,
    pub recorded_by: String,
    pub recorded_by_name: String,
    pub created_at: DateTime<Utc>,
    pub affects_all: bool,
    pub notified_at: Option<DateTime<Utc>>,
}

/// How far the notification of one incident has got.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct Progress {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
}

/// A line of the incident list.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Summary {
    pub incident_id: IncidentId,
    pub title: String,
    pub detected_at: DateTime<Utc>,
    pub affects_all: bool,
    pub tenant_count: i64,
    pub notified_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub progress: Progress,
}

/// A notification that failed, or failed an attempt and waits for its retry: ids only.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Failure {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// What the `notify_breach` job needs to send one notification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub status: String,
    pub email: String,
    pub locale: Locale,
    /// The tenant was purged (its users anonymised) since the fan-out.
    pub purged: bool,
    pub description_ar: String,
    pub description_en: String,
    pub detected_at: DateTime<Utc>,
}

/// What a signed-in user of an affected tenant is shown.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Notice {
    pub incident_id: IncidentId,
    pub detected_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
    pub description_ar: String,
    pub description_en: String,
}

/// Stores `new` and, for a list, its tenants.
pub async fn insert(conn: &mut PgConnection, new: &NewIncident<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into incidents (incident_id, title, description_ar, description_en, detected_at,
                                recorded_by, recorded_by_name, affects_all)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.incident_id)
    .bind(new.title)
    .bind(new.description_ar)
    .bind(new.description_en)
    .bind(new.detected_at)
    .bind(new.recorded_by)
    .bind(new.recorded_by_name)
    .bind(new.tenants.is_empty())
    .execute(&mut *conn)
    .await?;
    sqlx::query("insert into incident_tenants (incident_id, tenant_id) select $1, unnest($2::uuid[])")
        .bind(new.incident_id)
        .bind(new.tenants.iter().map(|t| t.0).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
}

/// Which of `ids` name a tenant.
pub async fn existing_tenants(
    conn: &mut PgConnection,
    ids: &[TenantId],
) -> Result<Vec<TenantId>, sqlx::Error> {
    sqlx::query_scalar("select tenant_id from tenants where tenant_id = any($1)")
        .bind(ids.iter().map(|t| t.0).collect::<Vec<_>>())
        .fetch_all(conn)
        .await
}

const PROGRESS: &str = "count(*) filter (where n.status = 'queued') as queued,
        count(*) filter (where n.status = 'sent') as sent,
        count(*) filter (where n.status = 'failed') as failed,
        count(*) filter (where n.status = 'skipped') as skipped";

/// The newest `limit` incidents with their progress, newest first.
pub async fn list(pool: &PgPool, limit: i64) -> Result<Vec<Summary>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select i.incident_id, i.title, i.detected_at, i.affects_all, i.notified_at,
                (select count(*) from incident_tenants t where t.incident_id = i.incident_id) as tenant_count,
                {PROGRESS}
           from incidents i left join incident_notifications n on n.incident_id = i.incident_id
          group by i.incident_id
          order by i.created_at desc limit $1"
    )))
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(conn: &mut PgConnection, id: IncidentId) -> Result<Option<Incident>, sqlx::Error> {
    sqlx::query_as("select * from incidents where incident_id = $1").bind(id).fetch_optional(conn).await
}

/// The tenants a list incident names (empty for one affecting all).
pub async fn tenants(conn: &mut PgConnection, id: IncidentId) -> Result<Vec<TenantId>, sqlx::Error> {
    sqlx::query_scalar("select tenant_id from incident_tenants where incident_id = $1 order by tenant_id")
        .bind(id)
        .fetch_all(conn)
        .await
}

pub async fn progress(conn: &mut PgConnection, id: IncidentId) -> Result<Progress, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {PROGRESS} from incident_notifications n where n.incident_id = $1"
    )))
    .bind(id)
    .fetch_one(conn)
    .await
}

/// Notifications that failed, or whose last attempt failed (a retry is due), worst first.
pub async fn failures(
    conn: &mut PgConnection,
    id: IncidentId,
    limit: i64,
) -> Result<Vec<Failure>, sqlx::Error> {
    sqlx::query_as(
        "select user_id, tenant_id, status, attempts, last_error from incident_notifications
          where incident_id = $1 and (status = 'failed' or (status = 'queued' and last_error is not null))
          order by status = 'failed' desc, attempts desc, user_id limit $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Inserts a `queued` notification for every user of an affected tenant that has none yet
/// (a purged tenant's anonymised users are left out) and returns only the rows inserted:
/// a second call for the same incident returns nothing for the users it already holds.
/// Concurrent calls meet on the primary key: each row is inserted by exactly one.
pub async fn fan_out(
    conn: &mut PgConnection,
    id: IncidentId,
) -> Result<Vec<(TenantId, UserId)>, sqlx::Error> {
    let rows = sqlx::query_as(
        "insert into incident_notifications (incident_id, user_id, tenant_id)
         select i.incident_id, u.user_id, u.tenant_id
           from incidents i join users u
             on i.affects_all
             or exists (select 1 from incident_tenants t where t.incident_id = i.incident_id and t.tenant_id = u.tenant_id)
          where i.incident_id = $1
            and not exists (select 1 from deletion_requests d
                             where d.tenant_id = u.tenant_id and d.completed_at is not null)
          order by u.tenant_id, u.user_id
         on conflict (incident_id, user_id) do nothing
         returning tenant_id, user_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("update incidents set notified_at = coalesce(notified_at, now()) where incident_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(rows)
}

/// The notification of `user` about `id` with what sending it needs (the user's current
/// address and language), if it exists.
pub async fn delivery(pool: &PgPool, id: IncidentId, user: UserId) -> Result<Option<Delivery>, sqlx::Error> {
    sqlx::query_as(
        "select n.status, u.email, u.locale, i.description_ar, i.description_en, i.detected_at,
                exists (select 1 from deletion_requests d
                         where d.tenant_id = n.tenant_id and d.completed_at is not null) as purged
           from incident_notifications n
           join incidents i on i.incident_id = n.incident_id
           join users u on u.tenant_id = n.tenant_id and u.user_id = n.user_id
          where n.incident_id = $1 and n.user_id = $2",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(pool)
    .await
}

/// Records the outcome of one attempt: `sent`, or the error (`failed` when no retry will
/// follow), or `skipped`. Only a row not yet sent changes.
pub async fn record_attempt(
    pool: &PgPool,
    id: IncidentId,
    user: UserId,
    status: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update incident_notifications
            set status = $3, attempts = attempts + 1, last_error = coalesce(left($4, 500), last_error),
                sent_at = case when $3 = 'sent' then now() end
          where incident_id = $1 and user_id = $2 and status <> 'sent'",
    )
    .bind(id)
    .bind(user)
    .bind(status)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Incidents notified within the last `days` whose notifications named `tenant`, newest first.
pub async fn banners(
    conn: &mut PgConnection,
    tenant: TenantId,
    days: i32,
) -> Result<Vec<IncidentId>, sqlx::Error> {
    sqlx::query_scalar(
        "select i.incident_id from incidents i
          where i.notified_at > now() - make_interval(days => $2)
            and exists (select 1 from incident_notifications n
                         where n.tenant_id = $1 and n.incident_id = i.incident_id)
          order by i.notified_at desc",
    )
    .bind(tenant)
    .bind(days)
    .fetch_all(conn)
    .await
}

/// Incident `id` as a user of `tenant` may read it: only if its notification named the tenant.
pub async fn notice(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: IncidentId,
) -> Result<Option<Notice>, sqlx::Error> {
    sqlx::query_as(
        "select i.incident_id, i.detected_at, i.notified_at, i.description_ar, i.description_en
           from incidents i
          where i.incident_id = $2
            and exists (select 1 from incident_notifications n
                         where n.tenant_id = $1 and n.incident_id = i.incident_id)",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
}
