//! Account flows: sign-up, sign-in, password reset and change (here), proving and changing
//! the email address (`email`), team invitations (`team`). Each takes parsed input and
//! returns what the caller must do next (e.g. the token to email); emailing itself belongs
//! to the caller's transaction. Whenever a password or an email address changes, every
//! other open link of the user is voided and the user's other sessions end.

mod email;
mod status;
mod team;

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

pub use email::*;
pub use status::*;
pub use team::*;

use crate::{
    auth,
    db::audit::{self, Actor},
    db::{sessions, tenants, tokens, tokens::Purpose, users, users::User},
    domain::{DisplayName, EmailAddress, Locale, NewPassword, Role, TenantId, UserId},
};

/// How long an emailed link stays valid.
pub const RESET_TTL: Duration = Duration::hours(1);
pub const EMAIL_CHANGE_TTL: Duration = Duration::hours(24);
pub const VERIFICATION_TTL: Duration = Duration::days(7);
pub const REVERT_TTL: Duration = Duration::days(7);
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
    #[error("the account has not proved its email address")]
    Unverified,
    #[error("the account is suspended")]
    Suspended,
    #[error("the account is being deleted")]
    Deleting,
    /// Every seat of the plan is taken (members count; open invitations do not).
    #[error("the plan's {seats} team seats are taken")]
    SeatsFull { seats: i32 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Everything sign-up collects.
pub struct SignUp {
    pub name: DisplayName,
    pub email: EmailAddress,
    pub business_name: DisplayName,
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

/// Creates a tenant and its owner on the caller's transaction; returns the owner and the
/// token of the link that proves their address (to email to it).
pub async fn sign_up(conn: &mut PgConnection, s: SignUp) -> Result<(User, String), AccountError> {
    let hash = auth::hash_password(&s.password).await?;
    let tenant_id = TenantId::new();
    let user_id = UserId::new();
    tenants::insert(conn, tenant_id, s.business_name.as_str()).await?;
    let new = users::NewUser {
        user_id,
        name: s.name.as_str(),
        email: s.email.as_str(),
        password_hash: &hash,
        role: Role::Owner,
        locale: s.locale,
        email_verified: false,
    };
    users::insert(conn, tenant_id, &new).await.map_err(map_duplicate)?;
    let user = users::get(conn, tenant_id, user_id).await?.ok_or(AccountError::InvalidCredentials)?;
    let token = email::verification_token(conn, &user).await?;
    audit::record(conn, Some(tenant_id), &Actor::User(user_id), "account_created", json!({})).await?;
    Ok((user, token))
}

/// Checks an email and password. Unknown email and wrong password take the same time and
/// give the same error.
pub async fn authenticate(pool: &PgPool, email: &str, password: &str) -> Result<User, AccountError> {
    let found = users::credentials_by_email(&mut *pool.acquire().await?, email.trim()).await?;
    let stored = found.as_ref().map(|c| c.password_hash.clone());
    if auth::verify_password(password.to_owned(), stored).await {
        let user = found.map(|c| c.user).ok_or(AccountError::InvalidCredentials)?;
        // Told only to someone who knows the password. An owner may still sign in to a
        // deleting account: to the page that cancels it (the web's gate allows no other).
        match status(&mut *pool.acquire().await?, user.tenant_id).await? {
            TenantStatus::Active => {}
            TenantStatus::Suspended { .. } => return Err(AccountError::Suspended),
            TenantStatus::Deleting { purged: false, .. } if user.role == Role::Owner => {}
            TenantStatus::Deleting { .. } => return Err(AccountError::Deleting),
        }
        let actor = Actor::User(user.user_id);
        audit::record(&mut *pool.acquire().await?, Some(user.tenant_id), &actor, "signed_in", json!({}))
            .await?;
        Ok(user)
    } else {
        Err(AccountError::InvalidCredentials)
    }
}

/// The account behind an email, if any (for a reset request).
pub async fn account_for(conn: &mut PgConnection, email: &str) -> Result<Option<User>, AccountError> {
    Ok(users::by_email(conn, email.trim()).await?)
}

/// A reset token for `user`, to email to their address.
pub async fn start_password_reset(conn: &mut PgConnection, user: &User) -> Result<String, AccountError> {
    let (token, digest) = auth::new_token();
    let expires = Utc::now() + RESET_TTL;
    tokens::insert(conn, &digest, Purpose::PasswordReset, user.tenant_id, Some(user.user_id), None, expires)
        .await?;
    Ok(token)
}

/// Whether a reset link can still be used (to show its form).
pub async fn reset_token_valid(pool: &PgPool, token: &str) -> Result<bool, AccountError> {
    let digest = auth::token_digest(token);
    Ok(tokens::peek(&mut *pool.acquire().await?, &digest, Purpose::PasswordReset).await?.is_some())
}

/// What a password reset did.
#[derive(Debug, Clone)]
pub struct Reset {
    pub user: User,
    /// The account's address had never been proven: whoever signed up with it may not have
    /// owned it, so what they set up was cleared back to a fresh trial.
    pub cleared: bool,
}

/// Uses a reset link once: sets the password, records the address as proven (the link
/// reached it), voids every other open link and ends every session of the user. When an
/// owner's address had never been proven, the business's setup is cleared back to a fresh
/// trial (`db::tenants::clear_setup`, audited `unverified_setup_cleared`): someone else may
/// have signed up with it and written bot instructions, an FAQ or saved replies.
pub async fn reset_password(
    pool: &PgPool,
    token: &str,
    password: NewPassword,
) -> Result<Reset, AccountError> {
    let hash = auth::hash_password(&password).await?;
    let mut tx = pool.begin().await?;
    let row = tokens::consume(&mut tx, &auth::token_digest(token), Purpose::PasswordReset)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let user_id = row.user_id.ok_or(AccountError::InvalidToken)?;
    let before = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    let cleared = !before.email_verified && before.role == Role::Owner;
    if cleared {
        tenants::clear_setup(&mut tx, row.tenant_id).await?;
        let actor = Actor::User(user_id);
        audit::record(&mut tx, Some(row.tenant_id), &actor, "unverified_setup_cleared", json!({})).await?;
    }
    users::set_password(&mut tx, row.tenant_id, user_id, &hash).await?;
    users::mark_verified(&mut tx, row.tenant_id, user_id).await?;
    tokens::void_for_user(&mut tx, row.tenant_id, user_id, false).await?;
    sessions::delete_for_user(&mut tx, row.tenant_id, user_id, None).await?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    audit::record(&mut tx, Some(row.tenant_id), &Actor::User(user_id), "password_reset", json!({})).await?;
    tx.commit().await?;
    Ok(Reset { user, cleared })
}

/// Whether `candidate` is the user's current password.
pub async fn password_matches(pool: &PgPool, user: &User, candidate: &str) -> Result<bool, AccountError> {
    let stored = users::password_hash(&mut *pool.acquire().await?, user.tenant_id, user.user_id).await?;
    Ok(auth::verify_password(candidate.to_owned(), Some(stored)).await)
}

/// Changes a password given the current one; voids the user's open links and ends their
/// other sessions.
pub async fn change_password(
    pool: &PgPool,
    user: &User,
    current: &str,
    new: NewPassword,
    keep_session: &[u8],
) -> Result<(), AccountError> {
    if !password_matches(pool, user, current).await? {
        return Err(AccountError::WrongCurrentPassword);
    }
    let hash = auth::hash_password(&new).await?;
    let mut tx = pool.begin().await?;
    users::set_password(&mut tx, user.tenant_id, user.user_id, &hash).await?;
    tokens::void_for_user(&mut tx, user.tenant_id, user.user_id, false).await?;
    sessions::delete_for_user(&mut tx, user.tenant_id, user.user_id, Some(keep_session)).await?;
    let actor = Actor::User(user.user_id);
    audit::record(&mut tx, Some(user.tenant_id), &actor, "password_changed", json!({})).await?;
    tx.commit().await?;
    Ok(())
}
