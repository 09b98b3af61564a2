//! Account flows: sign-up, sign-in, password reset and change, profile and email change,
//! team invitations. Each takes parsed input and returns what the caller must do next
//! (e.g. the token to email); emailing itself belongs to the caller's transaction.

use chrono::{Duration, Utc};
use sqlx::{PgConnection, PgPool};

use crate::{
    auth,
    db::{sessions, tenants, tokens, tokens::Purpose, users, users::User},
    domain::{EmailAddress, Locale, NewPassword, Role, TenantId, UserId},
};

/// How long an emailed link stays valid.
pub const RESET_TTL: Duration = Duration::hours(1);
pub const EMAIL_CHANGE_TTL: Duration = Duration::hours(24);
pub const INVITATION_TTL: Duration = Duration::days(7);

/// Why an account operation was refused. Variants map to form errors (catalog keys).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("the link is invalid, used or expired")]
    InvalidToken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Everything sign-up collects.
pub struct SignUp {
    pub name: String,
    pub email: EmailAddress,
    pub business_name: String,
    pub password: NewPassword,
    pub locale: Locale,
}

fn map_duplicate(e: sqlx::Error) -> AccountError {
    if users::is_duplicate_email(&e) {
        AccountError::EmailTaken
    } else {
        AccountError::Database(e)
    }
}

/// Creates a tenant and its owner in one transaction.
pub async fn sign_up(pool: &PgPool, s: SignUp) -> Result<User, AccountError> {
    let hash = auth::hash_password(&s.password).await?;
    let tenant_id = TenantId::new();
    let user_id = UserId::new();
    let mut tx = pool.begin().await?;
    tenants::insert(&mut tx, tenant_id, &s.business_name).await?;
    let new = users::NewUser {
        user_id,
        name: &s.name,
        email: s.email.as_str(),
        password_hash: &hash,
        role: Role::Owner,
        locale: s.locale,
    };
    users::insert(&mut tx, tenant_id, &new).await.map_err(map_duplicate)?;
    let user = users::get(&mut tx, tenant_id, user_id).await?.ok_or(AccountError::InvalidCredentials)?;
    tx.commit().await?;
    Ok(user)
}

/// Checks an email and password. Unknown email and wrong password take the same time and
/// give the same error.
pub async fn authenticate(pool: &PgPool, email: &str, password: &str) -> Result<User, AccountError> {
    let found = users::credentials_by_email(&mut *pool.acquire().await?, email.trim()).await?;
    let stored = found.as_ref().map(|c| c.password_hash.clone());
    if auth::verify_password(password.to_owned(), stored).await {
        found.map(|c| c.user).ok_or(AccountError::InvalidCredentials)
    } else {
        Err(AccountError::InvalidCredentials)
    }
}

/// For a known email, a reset token to email to it; `None` for an unknown one (the caller
/// answers the same either way).
pub async fn start_password_reset(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<(User, String)>, AccountError> {
    let Some(user) = users::by_email(conn, email.trim()).await? else { return Ok(None) };
    let (token, digest) = auth::new_token();
    let expires = Utc::now() + RESET_TTL;
    tokens::insert(conn, &digest, Purpose::PasswordReset, user.tenant_id, Some(user.user_id), None, expires)
        .await?;
    Ok(Some((user, token)))
}

/// Whether a reset link can still be used (to show its form).
pub async fn reset_token_valid(pool: &PgPool, token: &str) -> Result<bool, AccountError> {
    let digest = auth::token_digest(token);
    Ok(tokens::peek(&mut *pool.acquire().await?, &digest, Purpose::PasswordReset).await?.is_some())
}

/// Uses a reset link once: sets the password and ends every session of the user.
pub async fn reset_password(pool: &PgPool, token: &str, password: NewPassword) -> Result<User, AccountError> {
    let hash = auth::hash_password(&password).await?;
    let mut tx = pool.begin().await?;
    let row = tokens::consume(&mut tx, &auth::token_digest(token), Purpose::PasswordReset)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let user_id = row.user_id.ok_or(AccountError::InvalidToken)?;
    users::set_password(&mut tx, row.tenant_id, user_id, &hash).await?;
    sessions::delete_for_user(&mut tx, row.tenant_id, user_id, None).await?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    tx.commit().await?;
    Ok(user)
}

/// Changes a password given the current one; ends the user's other sessions.
pub async fn change_password(
    pool: &PgPool,
    user: &User,
    current: &str,
    new: NewPassword,
    keep_session: &[u8],
) -> Result<(), AccountError> {
    let stored = users::password_hash(&mut *pool.acquire().await?, user.tenant_id, user.user_id).await?;
    if !auth::verify_password(current.to_owned(), Some(stored)).await {
        return Err(AccountError::WrongCurrentPassword);
    }
    let hash = auth::hash_password(&new).await?;
    let mut tx = pool.begin().await?;
    users::set_password(&mut tx, user.tenant_id, user.user_id, &hash).await?;
    sessions::delete_for_user(&mut tx, user.tenant_id, user.user_id, Some(keep_session)).await?;
    tx.commit().await?;
    Ok(())
}

/// Starts an email change: the new address must confirm with the returned token.
pub async fn start_email_change(
    conn: &mut PgConnection,
    user: &User,
    new: &EmailAddress,
) -> Result<String, AccountError> {
    if users::by_email(conn, new.as_str()).await?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    let (token, digest) = auth::new_token();
    let expires = Utc::now() + EMAIL_CHANGE_TTL;
    tokens::insert(
        conn,
        &digest,
        Purpose::EmailChange,
        user.tenant_id,
        Some(user.user_id),
        Some(new.as_str()),
        expires,
    )
    .await?;
    Ok(token)
}

/// Confirms an email change link (once).
pub async fn confirm_email_change(pool: &PgPool, token: &str) -> Result<User, AccountError> {
    let mut tx = pool.begin().await?;
    let row = tokens::consume(&mut tx, &auth::token_digest(token), Purpose::EmailChange)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let (Some(user_id), Some(email)) = (row.user_id, row.email) else {
        return Err(AccountError::InvalidToken);
    };
    users::set_email(&mut tx, row.tenant_id, user_id, &email).await.map_err(map_duplicate)?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    tx.commit().await?;
    Ok(user)
}

/// Invites an agent to `tenant_id`; returns the token to email to them.
pub async fn invite(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    email: &EmailAddress,
) -> Result<String, AccountError> {
    if users::by_email(conn, email.as_str()).await?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    let (token, digest) = auth::new_token();
    let expires = Utc::now() + INVITATION_TTL;
    tokens::insert(conn, &digest, Purpose::Invitation, tenant_id, None, Some(email.as_str()), expires)
        .await?;
    Ok(token)
}

/// The invitation behind a link, if still open: (tenant, business name, invited email).
pub async fn invitation(
    pool: &PgPool,
    token: &str,
) -> Result<Option<(TenantId, String, String)>, AccountError> {
    let mut conn = pool.acquire().await?;
    let Some(row) = tokens::peek(&mut conn, &auth::token_digest(token), Purpose::Invitation).await? else {
        return Ok(None);
    };
    let tenant = tenants::get(&mut conn, row.tenant_id).await?;
    Ok(Some((row.tenant_id, tenant.business_name, row.email.unwrap_or_default())))
}

/// Accepts an invitation (once): creates the agent with the invited email.
pub async fn accept_invitation(
    pool: &PgPool,
    token: &str,
    name: &str,
    password: NewPassword,
    locale: Locale,
) -> Result<User, AccountError> {
    let hash = auth::hash_password(&password).await?;
    let mut tx = pool.begin().await?;
    let row = tokens::consume(&mut tx, &auth::token_digest(token), Purpose::Invitation)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let email = row.email.ok_or(AccountError::InvalidToken)?;
    let user_id = UserId::new();
    let new =
        users::NewUser { user_id, name, email: &email, password_hash: &hash, role: Role::Agent, locale };
    users::insert(&mut tx, row.tenant_id, &new).await.map_err(map_duplicate)?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    tx.commit().await?;
    Ok(user)
}
