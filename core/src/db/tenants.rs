//! Tenants (businesses). A tenant is created with its owner at sign-up.

use sqlx::PgConnection;

use crate::domain::TenantId;

/// A tenant's own fields.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tenant {
    pub tenant_id: TenantId,
    pub business_name: String,
}

pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    business_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into tenants (tenant_id, business_name) values ($1, $2)")
        .bind(tenant_id)
        .bind(business_name)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Tenant, sqlx::Error> {
    sqlx::query_as("select tenant_id, business_name from tenants where tenant_id = $1")
        .bind(tenant_id)
        .fetch_one(conn)
        .await
}

pub async fn rename(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    business_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update tenants set business_name = $2, updated_at = now() where tenant_id = $1")
        .bind(tenant_id)
        .bind(business_name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Clears what a business set up: bot settings, knowledge, quick replies, and the plan
/// (back to the trial, no change waiting). For an account taken over by the owner of an
/// address it had never proven (`accounts::reset_password`).
pub async fn clear_setup(conn: &mut PgConnection, tenant: TenantId) -> Result<(), sqlx::Error> {
    for sql in [
        "delete from quick_replies where tenant_id = $1",
        "delete from knowledge_passages where tenant_id = $1",
        "delete from knowledge_entries where tenant_id = $1",
        "delete from bot_settings where tenant_id = $1",
        "update tenants set plan_id = 'trial', next_plan_id = null, next_plan_at = null, updated_at = now()
          where tenant_id = $1",
    ] {
        sqlx::query(sql).bind(tenant).execute(&mut *conn).await?;
    }
    Ok(())
}
