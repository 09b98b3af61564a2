//! AI replies per tenant and Riyadh calendar month, against the tenant's plan: counted
//! when Meta accepts a reply the model wrote (in the send's record:
//! `db::messages::sent::count_and_take_parked`), read before the model is asked (`allowance`), and the owner's
//! 80 % and 100 % warnings claimed once per month (`claim_warning`).

use sqlx::PgConnection;

use crate::domain::TenantId;

pub(crate) const MONTH: &str = "date_trunc('month', now() at time zone 'Asia/Riyadh')::date";

/// This month's AI replies, the plan's allowance, and the warnings already sent.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Allowance {
    pub used: i32,
    pub limit: i32,
    pub warned_80: bool,
    pub warned_100: bool,
    /// The bot is paused for an unpaid invoice (`billing_hold_since`).
    pub on_hold: bool,
    /// The business's name and its plan's models: what a reply's prompt needs besides,
    /// read in the same statement.
    pub business_name: String,
    pub models: Vec<String>,
}

pub async fn allowance(conn: &mut PgConnection, tenant: TenantId) -> Result<Allowance, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select coalesce(u.replies, 0) as used, p.ai_replies as limit,
                u.warned_80_at is not null as warned_80, u.warned_100_at is not null as warned_100,
                t.billing_hold_since is not null as on_hold, t.business_name, p.models
           from tenants t join plans p using (plan_id)
           left join ai_usage_monthly u on u.tenant_id = t.tenant_id and u.month = {MONTH}
          where t.tenant_id = $1"
    )))
    .bind(tenant)
    .fetch_one(conn)
    .await
}

/// Claims this month's warning at `percent` (80 or 100): true once per month.
pub async fn claim_warning(
    conn: &mut PgConnection,
    tenant: TenantId,
    percent: u8,
) -> Result<bool, sqlx::Error> {
    let column = if percent >= 100 { "warned_100_at" } else { "warned_80_at" };
    let claimed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into ai_usage_monthly (tenant_id, month, {column}) values ($1, {MONTH}, now())
         on conflict (tenant_id, month) do update set {column} = now()
          where ai_usage_monthly.{column} is null"
    )))
    .bind(tenant)
    .execute(conn)
    .await?;
    Ok(claimed.rows_affected() == 1)
}
