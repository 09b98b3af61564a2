//! The address of an account: proving it (a link mailed to it after sign-up), changing it
//! (the current password, then a link mailed to the new address, confirmed by a POST), and
//! taking the account back from the old address (a link mailed there once it changed).

use chrono::Utc;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{map_duplicate, AccountError, EMAIL_CHANGE_TTL, REVERT_TTL, VERIFICATION_TTL};
use crate::{
    auth,
    db::audit::{self, Actor},
    db::{sessions, tokens, tokens::Purpose, users, users::User},
    domain::{EmailAddress, NewPassword},
};

/// A fresh link proving `user`'s current address.
pub async fn verification_token(conn: &mut PgConnection, user: &User) -> Result<String, AccountError> {
    let (token, digest) = auth::new_token();
    let expires = Utc::now() + VERIFICATION_TTL;
    tokens::insert(
        conn,
        &digest,
        Purpose::EmailVerification,
        user.tenant_id,
        Some(user.user_id),
        Some(&user.email),
        expires,
    )
    .await?;
    Ok(token)
}

/// The link's token row if it can still be used, for any purpose (to show its page).
pub async fn link_valid(
    pool: &PgPool,
    token: &str,
    purpose: Purpose,
) -> Result<Option<tokens::TokenRow>, AccountError> {
    Ok(tokens::peek(&mut *pool.acquire().await?, &auth::token_digest(token), purpose).await?)
}

/// Uses a verification link: the address it was mailed to must still be the account's.
pub async fn verify_email(pool: &PgPool, token: &str) -> Result<User, AccountError> {
    let mut tx = pool.begin().await?;
    let row = tokens::consume(&mut tx, &auth::token_digest(token), Purpose::EmailVerification)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let user_id = row.user_id.ok_or(AccountError::InvalidToken)?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    if !row.email.is_some_and(|e| e.eq_ignore_ascii_case(&user.email)) {
        return Err(AccountError::InvalidToken);
    }
    users::mark_verified(&mut tx, row.tenant_id, user_id).await?;
    tx.commit().await?;
    Ok(User { email_verified: true, ..user })
}

/// What an email change started: a link for the new address, or nothing to link because
/// another account uses it (the caller answers the same and tells that address).
pub enum EmailChange {
    Confirm(String),
    InUse,
}

/// Starts an email change (the caller checked the current password).
pub async fn start_email_change(
    conn: &mut PgConnection,
    user: &User,
    new: &EmailAddress,
) -> Result<EmailChange, AccountError> {
    if users::by_email(conn, new.as_str()).await?.is_some() {
        return Ok(EmailChange::InUse);
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
    Ok(EmailChange::Confirm(token))
}

/// An email change done: the account, the address it left, and the link that takes it back.
pub struct EmailChanged {
    pub user: User,
    pub old_email: String,
    pub revert_token: String,
}

/// Confirms an email change link (once, by a POST): the new address is set and proven,
/// every other open link voided, every session of the user but `keep` ended, and a link
/// back issued for the old address.
pub async fn confirm_email_change(
    pool: &PgPool,
    token: &str,
    keep: &[u8],
) -> Result<EmailChanged, AccountError> {
    let mut tx = pool.begin().await?;
    let row = tokens::consume(&mut tx, &auth::token_digest(token), Purpose::EmailChange)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let (Some(user_id), Some(email)) = (row.user_id, row.email) else {
        return Err(AccountError::InvalidToken);
    };
    let before = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    users::set_email(&mut tx, row.tenant_id, user_id, &email).await.map_err(map_duplicate)?;
    tokens::void_for_user(&mut tx, row.tenant_id, user_id, false).await?;
    sessions::delete_for_user(&mut tx, row.tenant_id, user_id, Some(keep)).await?;
    let (revert_token, digest) = auth::new_token();
    let expires = Utc::now() + REVERT_TTL;
    tokens::insert(
        &mut tx,
        &digest,
        Purpose::EmailRevert,
        row.tenant_id,
        Some(user_id),
        Some(&before.email),
        expires,
    )
    .await?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    audit::record(&mut tx, Some(row.tenant_id), &Actor::User(user_id), "email_changed", json!({})).await?;
    tx.commit().await?;
    Ok(EmailChanged { user, old_email: before.email, revert_token })
}

/// Takes the account back to the address a revert link was mailed to, with a new
/// password: every link (other ways back included) is voided and every session ended.
pub async fn revert_email(pool: &PgPool, token: &str, password: NewPassword) -> Result<User, AccountError> {
    let hash = auth::hash_password(&password).await?;
    let mut tx = pool.begin().await?;
    let row = tokens::consume(&mut tx, &auth::token_digest(token), Purpose::EmailRevert)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let (Some(user_id), Some(email)) = (row.user_id, row.email) else {
        return Err(AccountError::InvalidToken);
    };
    users::set_email(&mut tx, row.tenant_id, user_id, &email).await.map_err(map_duplicate)?;
    users::set_password(&mut tx, row.tenant_id, user_id, &hash).await?;
    tokens::void_for_user(&mut tx, row.tenant_id, user_id, true).await?;
    sessions::delete_for_user(&mut tx, row.tenant_id, user_id, None).await?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    audit::record(&mut tx, Some(row.tenant_id), &Actor::User(user_id), "email_reverted", json!({})).await?;
    tx.commit().await?;
    Ok(user)
}

/// `r***@example.sa`: enough for the owner of the old address to recognise the new one.
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}
