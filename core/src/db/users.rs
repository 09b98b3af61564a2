//! Users of a tenant. Every query but the sign-in lookup (which must find the tenant from
//! the email) takes the tenant id.

use sqlx::PgConnection;

use crate::domain::{Locale, Role, TenantId, UserId};

/// A user as the app sees it (no password hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub locale: Locale,
    /// Whether the user proved they read `email` (a link mailed to it was used).
    pub email_verified: bool,
    /// Dates are shown in the Hijri (Umm al-Qura) calendar.
    pub hijri: bool,
}

/// What sign-in needs: the user and their stored hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: String,
}

/// A user to insert.
pub struct NewUser<'a> {
    pub user_id: UserId,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub locale: Locale,
    /// Whether the address is already proven (an invitation link mailed to it was used).
    pub email_verified: bool,
}

const COLUMNS: &str =
    "tenant_id, user_id, name, email, role, locale, email_verified_at is not null as email_verified,
     calendar = 'hijri' as hijri";

/// Inserts a user. A duplicate email (any case) fails on `users_email_key`.
pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    u: &NewUser<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into users (tenant_id, user_id, name, email, password_hash, role, locale, email_verified_at)
         values ($1, $2, $3, $4, $5, $6, $7, case when $8 then now() end)",
    )
    .bind(tenant_id)
    .bind(u.user_id)
    .bind(u.name)
    .bind(u.email)
    .bind(u.password_hash)
    .bind(u.role)
    .bind(u.locale)
    .bind(u.email_verified)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sign-in lookup by email, case-insensitively, across tenants.
pub async fn credentials_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS}, password_hash from users where lower(email) = lower($1)"
    )))
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// Password-reset lookup by email (the tenant comes from the account found).
pub async fn by_email(conn: &mut PgConnection, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {COLUMNS} from users where lower(email) = lower($1)")))
        .bind(email)
        .fetch_optional(conn)
        .await
}

pub async fn get(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from users where tenant_id = $1 and user_id = $2"
    )))
    .bind(tenant_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

pub async fn password_hash(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select password_hash from users where tenant_id = $1 and user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .fetch_one(conn)
        .await
}

pub async fn list(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from users where tenant_id = $1 order by role desc, lower(name)"
    )))
    .bind(tenant_id)
    .fetch_all(conn)
    .await
}

pub async fn set_password(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update users set password_hash = $3, updated_at = now() where tenant_id = $1 and user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Profile correction: name and locale.
pub async fn update_profile(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    name: &str,
    locale: Locale,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update users set name = $3, locale = $4, updated_at = now() where tenant_id = $1 and user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(name)
    .bind(locale)
    .execute(conn)
    .await?;
    Ok(())
}

/// Shows `user_id` dates in the Hijri calendar, or the Gregorian one.
pub async fn set_calendar(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    hijri: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("update users set calendar = $3 where tenant_id = $1 and user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .bind(if hijri { "hijri" } else { "gregorian" })
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_locale(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    locale: Locale,
) -> Result<(), sqlx::Error> {
    sqlx::query("update users set locale = $3, updated_at = now() where tenant_id = $1 and user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .bind(locale)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that the user proved they read their current address.
pub async fn mark_verified(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update users set email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
         where tenant_id = $1 and user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A proven new address (an email change confirmed from it, or taken back by the old
/// one). Fails on `users_email_key` if the address was taken meanwhile.
pub async fn set_email(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update users set email = $3, email_verified_at = now(), updated_at = now()
         where tenant_id = $1 and user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(email)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes an agent (owners cannot be removed this way). `true` if a row went.
pub async fn remove_agent(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from users where tenant_id = $1 and user_id = $2 and role = 'agent'")
        .bind(tenant_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// True if the error is the unique email constraint.
pub fn is_duplicate_email(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some("users_email_key"))
}
