//! The ops console's SQL over tenants: search by business name, email or number, and the
//! figures of one tenant's page. Reading a tenant's conversations goes through the inbox's
//! own queries (`inbox::list`, `messages::recent`), audited by the caller.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};

use crate::domain::TenantId;

/// A tenant as the console lists it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct TenantRow {
    pub tenant_id: TenantId,
    pub business_name: String,
    pub owner_email: Option<String>,
    pub display_number: Option<String>,
    pub connection_status: Option<String>,
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "select t.tenant_id, t.business_name,
        (select u.email from users u where u.tenant_id = t.tenant_id and u.role = 'owner' limit 1) as owner_email,
        c.display_number, c.status as connection_status, t.created_at
   from tenants t
   left join whatsapp_connections c on c.tenant_id = t.tenant_id and c.unlinked_at is null";

/// Tenants whose business name, a user's email or the connected number contains `q`
/// (digits of a number match whatever its formatting), newest first.
pub async fn search(pool: &PgPool, q: &str, limit: i64) -> Result<Vec<TenantRow>, sqlx::Error> {
    let pattern = format!("%{}%", q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let digits = (digits.len() >= 4).then(|| format!("%{digits}%"));
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT}
          where t.business_name ilike $1
             or exists (select 1 from users u where u.tenant_id = t.tenant_id and u.email ilike $1)
             or ($2::text is not null and regexp_replace(c.display_number, '[^0-9]', '', 'g') like $2)
          order by t.created_at desc limit $3"
    )))
    .bind(pattern)
    .bind(digits)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Option<TenantRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where t.tenant_id = $1")))
        .bind(tenant_id)
        .fetch_optional(conn)
        .await
}

/// A recent failure of one of the tenant's jobs.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Failure {
    pub task_id: String,
    pub queue: String,
    pub attempt: i32,
    pub kind: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

/// The tenant's job failures of the last week that are still in the queue, newest first.
pub async fn recent_failures(
    pool: &PgPool,
    tenant_id: TenantId,
    limit: i64,
) -> Result<Vec<Failure>, sqlx::Error> {
    sqlx::query_as(
        "select e.task_id, e.queue, e.attempt, e.kind, e.message, e.created_at
           from job_errors e join apalis.jobs j on j.id = e.task_id
          where e.created_at > now() - interval '7 days' and j.metadata -> 'tenant' = $1::uuid::text
          order by e.created_at desc limit $2",
    )
    .bind(tenant_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
