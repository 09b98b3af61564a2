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
}

/// Adds a plan unless one with its id exists (load tests give their businesses a plan
/// without a practical limit this way).
pub async fn insert_if_missing(conn: &mut PgConnection, p: &Plan, position: i32) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into plans (plan_id, name_en, name_ar, price_halalas, ai_replies, numbers, seats, position)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (plan_id) do nothing",
    )
    .bind(&p.plan_id)
    .bind(&p.name_en)
    .bind(&p.name_ar)
    .bind(p.price_halalas)
    .bind(p.ai_replies)
    .bind(p.numbers)
    .bind(p.seats)
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
