//! What the monthly invoice run reads: the billable businesses and, for one, its buyer
//! details and plan at this moment.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};

use crate::domain::TenantId;

/// Businesses on a paid plan, signed up before `period_end`, not deleted.
pub async fn billable(pool: &PgPool, period_end: NaiveDate) -> Result<Vec<TenantId>, sqlx::Error> {
    sqlx::query_scalar(
        "select t.tenant_id from tenants t join plans p using (plan_id)
          where p.price_halalas > 0
            and t.created_at < ($1::date)::timestamp at time zone 'Asia/Riyadh'
            and not exists (select 1 from deletion_requests d
                             where d.tenant_id = t.tenant_id and d.completed_at is not null)
          order by t.tenant_id",
    )
    .bind(period_end)
    .fetch_all(pool)
    .await
}

/// A business as its invoice prints it, with its plan.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BuyerAndPlan {
    pub business_name: String,
    pub email: String,
    pub name_en: String,
    pub name_ar: String,
    pub price_halalas: i64,
}

/// `tenant`'s name, first owner's email and plan; `None` without an owner.
pub async fn buyer_and_plan(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Option<BuyerAndPlan>, sqlx::Error> {
    sqlx::query_as(
        "select t.business_name, u.email, p.name_en, p.name_ar, p.price_halalas
           from tenants t join plans p using (plan_id)
           join lateral (select email from users where tenant_id = t.tenant_id and role = 'owner'
                          order by created_at limit 1) u on true
          where t.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(conn)
    .await
}
