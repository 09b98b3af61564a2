//! Plans (seeded by migration), the plan each tenant is on, the cheaper plan it moves to
//! when the month ends, and the plans it held (`plan_history`, written by the database's
//! triggers on every change).

use sqlx::PgConnection;

use crate::domain::TenantId;

/// A plan as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Plan {
    pub plan_id: String,
    pub name_en: String,
    pub name_ar: String,
    pub price_halalas: i64,
    pub ai_replies: i32,
    pub numbers: i32,
    pub seats: i32,
    /// The models a tenant on it may choose (see `billing::plan::models_allowed`).
    pub models: Vec<String>,
}

const COLUMNS: &str = "plan_id, name_en, name_ar, price_halalas, ai_replies, numbers, seats, models";

/// Adds an unlisted plan unless one with its id exists (load tests give their businesses
/// a plan without a practical limit this way).
pub async fn insert_if_missing(conn: &mut PgConnection, p: &Plan, position: i32) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into plans (plan_id, name_en, name_ar, price_halalas, ai_replies, numbers, seats, models, position, listed)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, false) on conflict (plan_id) do nothing",
    )
    .bind(&p.plan_id)
    .bind(&p.name_en)
    .bind(&p.name_ar)
    .bind(p.price_halalas)
    .bind(p.ai_replies)
    .bind(p.numbers)
    .bind(p.seats)
    .bind(&p.models)
    .bind(position)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts `tenant` on `plan`.
pub async fn set_for(conn: &mut PgConnection, tenant: TenantId, plan: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update tenants set plan_id = $2, updated_at = now() where tenant_id = $1")
        .bind(tenant)
        .bind(plan)
        .execute(conn)
        .await?;
    Ok(())
}

/// The plans an owner can see, cheapest first.
pub async fn listed(conn: &mut PgConnection) -> Result<Vec<Plan>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {COLUMNS} from plans where listed order by position")))
        .fetch_all(conn)
        .await
}

/// The plan `tenant` is on.
pub async fn of(conn: &mut PgConnection, tenant: TenantId) -> Result<Plan, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from plans where plan_id = (select plan_id from tenants where tenant_id = $1)"
    )))
    .bind(tenant)
    .fetch_one(conn)
    .await
}

/// A tenant's plan as its owner may change it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holding {
    pub plan_id: String,
    pub price_halalas: i64,
    /// The cheaper plan it moves to, and when.
    pub next_plan_id: Option<String>,
    pub next_plan_at: Option<chrono::DateTime<chrono::Utc>>,
    pub members: i64,
}

/// `tenant`'s plan and team, locking the tenant's row (plan changes and joins queue here).
pub async fn holding(conn: &mut PgConnection, tenant: TenantId) -> Result<Holding, sqlx::Error> {
    let (plan_id, price_halalas, next_plan_id, next_plan_at): (
        String,
        i64,
        Option<String>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "select t.plan_id, p.price_halalas, t.next_plan_id, t.next_plan_at
               from tenants t join plans p using (plan_id) where t.tenant_id = $1 for update of t",
    )
    .bind(tenant)
    .fetch_one(&mut *conn)
    .await?;
    let members = members(conn, tenant).await?;
    Ok(Holding { plan_id, price_halalas, next_plan_id, next_plan_at, members })
}

/// The cheaper plan `tenant` moves to when the month ends, and when.
pub async fn scheduled(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Option<(String, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "select t.next_plan_id, t.next_plan_at from tenants t
          where t.tenant_id = $1 and t.next_plan_id is not null",
    )
    .bind(tenant)
    .fetch_optional(conn)
    .await
}

/// A listed, paid plan by id.
pub async fn listed_paid(conn: &mut PgConnection, plan: &str) -> Result<Option<Plan>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from plans where plan_id = $1 and listed and price_halalas > 0"
    )))
    .bind(plan)
    .fetch_optional(conn)
    .await
}

/// Moves `tenant` to `plan` now (a dearer plan), forgetting a scheduled cheaper one.
pub async fn move_now(conn: &mut PgConnection, tenant: TenantId, plan: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update tenants set plan_id = $2, next_plan_id = null, next_plan_at = null, updated_at = now()
          where tenant_id = $1",
    )
    .bind(tenant)
    .bind(plan)
    .execute(conn)
    .await?;
    Ok(())
}

/// Schedules `tenant`'s move to `plan` (or none: `None`) at `at`.
pub async fn schedule(
    conn: &mut PgConnection,
    tenant: TenantId,
    plan: Option<&str>,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update tenants set next_plan_id = $2, next_plan_at = $3, updated_at = now() where tenant_id = $1",
    )
    .bind(tenant)
    .bind(plan)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies every scheduled move that is due; the tenants moved, with the plan each left.
pub async fn apply_due(pool: &sqlx::PgPool) -> Result<Vec<(TenantId, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "update tenants t set plan_id = t.next_plan_id, next_plan_id = null, next_plan_at = null,
                updated_at = now()
           from tenants old
          where old.tenant_id = t.tenant_id and t.next_plan_id is not null and t.next_plan_at <= now()
         returning t.tenant_id, old.plan_id, t.plan_id",
    )
    .fetch_all(pool)
    .await
}

/// `tenant`'s members.
async fn members(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from users where tenant_id = $1").bind(tenant).fetch_one(conn).await
}

/// `tenant`'s members and its seats (the fewer of its plan's and a scheduled plan's), after
/// locking the tenant's row so two joins cannot both take the last seat: (members, seats).
/// The members are counted by a statement of their own, which sees every join committed
/// before the lock was granted.
pub async fn seats(conn: &mut PgConnection, tenant: TenantId) -> Result<(i64, i32), sqlx::Error> {
    let seats: i32 = sqlx::query_scalar(
        "select least(p.seats, coalesce(n.seats, p.seats))
           from tenants t join plans p using (plan_id) left join plans n on n.plan_id = t.next_plan_id
          where t.tenant_id = $1 for update of t",
    )
    .bind(tenant)
    .fetch_one(&mut *conn)
    .await?;
    Ok((members(conn, tenant).await?, seats))
}
