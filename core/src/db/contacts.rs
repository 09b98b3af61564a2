//! Customers of a tenant, per connection, keyed by BSUID or phone (a customer may have
//! no phone; a later delivery carrying both links them).

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::TenantId;

/// Who wrote: the identifiers and profile a delivery carried.
pub struct ContactKey<'a> {
    pub connection_id: Uuid,
    pub wa_id: Option<&'a str>,
    pub bsuid: Option<&'a str>,
    pub name: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// Finds or creates the contact; fills in identifiers and the name it learns. Serialised
/// per customer with an advisory lock so concurrent deliveries create one contact.
pub async fn upsert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    k: &ContactKey<'_>,
) -> Result<Uuid, sqlx::Error> {
    let lock_key = format!("{tenant_id}:{}:{}", k.connection_id, k.bsuid.or(k.wa_id).unwrap_or(""));
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(&lock_key)
        .execute(&mut *conn)
        .await?;
    let found: Option<Uuid> = sqlx::query_scalar(
        "select contact_id from contacts where tenant_id = $1 and connection_id = $2
           and ((bsuid is not null and bsuid = $3) or (wa_id is not null and wa_id = $4))
         order by (bsuid = $3) desc nulls last limit 1",
    )
    .bind(tenant_id)
    .bind(k.connection_id)
    .bind(k.bsuid)
    .bind(k.wa_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = found {
        sqlx::query(
            "update contacts set bsuid = coalesce(bsuid, $3), wa_id = coalesce(wa_id, $4),
               name = coalesce(nullif($5, ''), name), username = coalesce($6, username)
             where tenant_id = $1 and contact_id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(k.bsuid)
        .bind(k.wa_id)
        .bind(k.name)
        .bind(k.username)
        .execute(&mut *conn)
        .await?;
        return Ok(id);
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into contacts (tenant_id, contact_id, connection_id, bsuid, wa_id, name, username)
         values ($1, $2, $3, $4, $5, coalesce($6, ''), $7)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(k.connection_id)
    .bind(k.bsuid)
    .bind(k.wa_id)
    .bind(k.name)
    .bind(k.username)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
