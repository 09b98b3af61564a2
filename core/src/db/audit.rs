//! The audit log (`audit_log`): one row per sensitive action, written in the action's own
//! transaction where it has one. Append-only in the database itself (UPDATE, DELETE and
//! TRUNCATE raise), with no foreign keys, so rows outlive the tenant and user they name.
//! Rows hold ids and details, never message text, secrets or email addresses.

use serde_json::Value;
use sqlx::{types::Json, PgConnection, PgPool};

use crate::domain::{TenantId, UserId};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A member of the business (owner or agent).
    User(UserId),
    /// Mujibak staff, by the id of the access token or command used.
    Staff(String),
    /// The system itself (a job, a command run by the operator, the sandbox's set-up).
    System,
}

impl Actor {
    fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Actor::User(id) => ("user", Some(id.to_string())),
            Actor::Staff(id) => ("staff", Some(id.clone())),
            Actor::System => ("system", None),
        }
    }
}

/// One audit row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub tenant_id: Option<TenantId>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub detail: Json<Value>,
}

/// Records `action` by `actor` on `tenant` (none for actions on no tenant) with `detail`.
pub async fn record(
    conn: &mut PgConnection,
    tenant: Option<TenantId>,
    actor: &Actor,
    action: &str,
    detail: Value,
) -> Result<(), sqlx::Error> {
    let (kind, id) = actor.parts();
    sqlx::query(
        "insert into audit_log (tenant_id, actor_kind, actor_id, action, detail) values ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(kind)
    .bind(id)
    .bind(action)
    .bind(Json(detail))
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest `limit` rows about `tenant`, newest first.
pub async fn for_tenant(pool: &PgPool, tenant: TenantId, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "select tenant_id, actor_kind, actor_id, action, detail from audit_log
          where tenant_id = $1 order by at desc, audit_id desc limit $2",
    )
    .bind(tenant)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What the ops console's audit viewer filters by (all optional).
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub tenant: Option<TenantId>,
    /// `user`, `staff` or `system`.
    pub actor_kind: Option<String>,
    pub actor_id: Option<String>,
    /// An exact action (`job_cancelled`) or, ending in `*`, a family (`job_*`).
    pub action: Option<String>,
    /// Only rows older than this audit id (the next page).
    pub before: Option<i64>,
}

/// A row as the viewer shows it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Entry {
    pub audit_id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub tenant_id: Option<TenantId>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub detail: Json<Value>,
}

/// The newest `limit` rows matching `s`, newest first.
pub async fn search(pool: &PgPool, s: &Search, limit: i64) -> Result<Vec<Entry>, sqlx::Error> {
    let action = s.action.as_ref().map(|a| {
        let escaped = a.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        if a.ends_with('.') {
            format!("{escaped}%")
        } else {
            escaped
        }
    });
    sqlx::query_as(
        "select audit_id, at, tenant_id, actor_kind, actor_id, action, detail from audit_log
          where ($1::uuid is null or tenant_id = $1)
            and ($2::text is null or actor_kind = $2)
            and ($3::text is null or actor_id = $3)
            and ($4::text is null or action like $4)
            and ($5::bigint is null or audit_id < $5)
          order by audit_id desc limit $6",
    )
    .bind(s.tenant)
    .bind(&s.actor_kind)
    .bind(&s.actor_id)
    .bind(action)
    .bind(s.before)
    .bind(limit)
    .fetch_all(pool)
    .await
}
