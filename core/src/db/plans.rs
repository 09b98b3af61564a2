//! Plans (seeded by migration) and the plan each tenant is on.

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

/// Moves `tenant` to `plan` if it is a listed, paid plan other than its own; the plan it
/// left, or `None` when nothing changed.
pub async fn change(
    conn: &mut PgConnection,
    tenant: TenantId,
    plan: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "update tenants t set plan_id = $2, updated_at = now()
           from tenants old, plans p
          where t.tenant_id = $1 and old.tenant_id = t.tenant_id and p.plan_id = $2
            and p.listed and p.price_halalas > 0 and old.plan_id <> $2
         returning old.plan_id",
    )
    .bind(tenant)
    .bind(plan)
    .fetch_optional(conn)
    .await
}

/// `tenant`'s members and its plan's seats, locking the tenant's row so two joins cannot
/// both take the last seat: (members, seats).
pub async fn seats(conn: &mut PgConnection, tenant: TenantId) -> Result<(i64, i32), sqlx::Error> {
    sqlx::query_as(
        "select (select count(*) from users u where u.tenant_id = t.tenant_id), p.seats
           from tenants t join plans p using (plan_id) where t.tenant_id = $1 for update of t",
    )
    .bind(tenant)
    .fetch_one(conn)
    .await
}
