//! What the monthly invoice run reads: the billable businesses of a month and, for one,
//! its buyer details, the highest plan it held in a span and when its deletion was asked.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::TenantId;

/// The plans `$1` held in [`$2`, `$3`) (timestamps), from `plan_history`.
const HELD: &str = "select h.plan_id from (
        select plan_id, started_at,
               lead(started_at) over (order by started_at, seq) as ended_at
          from plan_history where tenant_id = $1) h
     where h.started_at < $3 and coalesce(h.ended_at, 'infinity') > $2";

/// Businesses to invoice for the month [`start`, `end`) (the Riyadh month's first days):
/// signed up before it ended, their owner's address proven, a paid plan held at some time
/// in it, and no deletion asked (and not cancelled) before it began.
pub async fn billable(pool: &PgPool, start: NaiveDate, end: NaiveDate) -> Result<Vec<TenantId>, sqlx::Error> {
    sqlx::query_scalar(
        "with span as (select ($1::date)::timestamp at time zone 'Asia/Riyadh' as s,
                              ($2::date)::timestamp at time zone 'Asia/Riyadh' as e)
         select t.tenant_id from tenants t, span
          where t.created_at < span.e
            and exists (select 1 from users u where u.tenant_id = t.tenant_id and u.role = 'owner'
                          and u.email_verified_at is not null)
            and exists (select 1 from (
                    select plan_id, started_at,
                           lead(started_at) over (order by started_at, seq) as ended_at
                      from plan_history where tenant_id = t.tenant_id) h
                  join plans p using (plan_id)
                 where p.price_halalas > 0 and h.started_at < span.e
                   and coalesce(h.ended_at, 'infinity') > span.s)
            and not exists (select 1 from deletion_requests d
                             where d.tenant_id = t.tenant_id and d.cancelled_at is null
                               and d.requested_at < span.s)
          order by t.tenant_id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await
}

/// A business as its invoice prints it, with the plan billed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BuyerAndPlan {
    pub business_name: String,
    pub email: String,
    pub name_en: String,
    pub name_ar: String,
    pub price_halalas: i64,
}

/// `tenant`'s name, its first owner's email (an owner whose address is proven) and the
/// dearest plan it held in [`from`, `to`); `None` without such an owner or plan.
pub async fn buyer_and_plan(
    conn: &mut PgConnection,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<BuyerAndPlan>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select t.business_name, u.email, p.name_en, p.name_ar, p.price_halalas
           from tenants t
           join lateral (select email from users where tenant_id = t.tenant_id and role = 'owner'
                            and email_verified_at is not null
                          order by created_at limit 1) u on true
           join lateral (select p.* from ({HELD}) held join plans p using (plan_id)
                          order by p.price_halalas desc limit 1) p on true
          where t.tenant_id = $1"
    )))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_optional(conn)
    .await
}

/// When `tenant` asked for its deletion, if it did and has not cancelled.
pub async fn deletion_asked(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "select requested_at from deletion_requests where tenant_id = $1 and cancelled_at is null
          order by requested_at desc limit 1",
    )
    .bind(tenant)
    .fetch_optional(conn)
    .await
}
