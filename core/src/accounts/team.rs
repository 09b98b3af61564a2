//! Team invitations: only an owner who proved their address can invite; an invitation to
//! an address that already has an account is recorded like any other (so the inviter
//! cannot tell the two apart) and can never be accepted. The plan's seats bound the team:
//! no invitation while every seat has a member, and no joining once they fill up (the
//! tenant's row is locked, so two people cannot take the last seat). An address has at
//! most one open invitation: inviting it again replaces the old link (a resend), the
//! owner can revoke it, and joining through one closes any other.

use chrono::Utc;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{map_duplicate, AccountError, INVITATION_TTL};
use crate::{
    auth,
    db::audit::{self, Actor},
    db::{plans, tenants, tokens, tokens::Purpose, users, users::User},
    domain::{EmailAddress, Locale, NewPassword, Role, TenantId, UserId},
};

/// An invitation made: its token, and whether the address already has an account (then
/// the caller mails that address a note instead of the link).
pub struct Invited {
    pub token: String,
    pub has_account: bool,
}

/// Invites an agent to the inviter's tenant.
pub async fn invite(
    conn: &mut PgConnection,
    inviter: &User,
    email: &EmailAddress,
) -> Result<Invited, AccountError> {
    if !inviter.email_verified || inviter.role != Role::Owner {
        return Err(AccountError::Unverified);
    }
    let (members, seats) = plans::seats(conn, inviter.tenant_id).await?;
    if members >= i64::from(seats) {
        return Err(AccountError::SeatsFull { seats });
    }
    let has_account = users::by_email(conn, email.as_str()).await?.is_some();
    // Inviting an address again replaces its open invitation (a resend): one link works.
    tokens::void_invitations(conn, inviter.tenant_id, email.as_str()).await?;
    let (token, digest) = auth::new_token();
    let expires = Utc::now() + INVITATION_TTL;
    tokens::insert(
        conn,
        &digest,
        Purpose::Invitation,
        inviter.tenant_id,
        None,
        Some(email.as_str()),
        expires,
    )
    .await?;
    let actor = Actor::User(inviter.user_id);
    audit::record(conn, Some(inviter.tenant_id), &actor, "member_invited", json!({})).await?;
    Ok(Invited { token, has_account })
}

/// Revokes `owner`'s tenant's open invitations to `email` (audited); whether there were any.
pub async fn revoke_invitation(
    conn: &mut PgConnection,
    owner: &User,
    email: &str,
) -> Result<bool, AccountError> {
    let voided = tokens::void_invitations(conn, owner.tenant_id, email).await?;
    if voided > 0 {
        let actor = Actor::User(owner.user_id);
        audit::record(conn, Some(owner.tenant_id), &actor, "invitation_revoked", json!({})).await?;
    }
    Ok(voided > 0)
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

/// Accepts an invitation (once): creates the agent with the invited email, which the link
/// reaching them proved.
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
    // The plan may have filled up (or shrunk) since the invitation: the link stays usable.
    let (members, seats) = plans::seats(&mut tx, row.tenant_id).await?;
    if members >= i64::from(seats) {
        return Err(AccountError::SeatsFull { seats });
    }
    let user_id = UserId::new();
    let new = users::NewUser {
        user_id,
        name,
        email: &email,
        password_hash: &hash,
        role: Role::Agent,
        locale,
        email_verified: true,
    };
    users::insert(&mut tx, row.tenant_id, &new).await.map_err(map_duplicate)?;
    // Another open invitation to the same address is done with too.
    tokens::void_invitations(&mut tx, row.tenant_id, &email).await?;
    let user = users::get(&mut tx, row.tenant_id, user_id).await?.ok_or(AccountError::InvalidToken)?;
    let detail = json!({ "role": user.role });
    audit::record(&mut tx, Some(row.tenant_id), &Actor::User(user_id), "member_joined", detail).await?;
    tx.commit().await?;
    Ok(user)
}
