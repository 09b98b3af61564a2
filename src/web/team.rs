//! The team (owner-only): members, open invitations, inviting an agent by email (only once
//! the owner proved their address; at most `limits::INVITATIONS` an hour; an address that
//! already has an account is answered like any other), removing an agent; and the
//! invitee's page to accept an invitation. The invitation email names who invites whom and
//! quotes the business name as the business's own words.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{
    accounts::{self, AccountError},
    db::{tenants, tokens, users},
    domain::{name, DisplayName, EmailAddress, Locale, NewPassword, Role, UserId},
};
use serde::{Deserialize, Serialize};

use super::{
    auth::name_error,
    error::WebError,
    extract::{Owner, Page, PathId},
    forms::FormView,
    input::Form,
    limits::INVITATIONS,
    routes::Routes,
    session::{set_flash, start_session},
};
use crate::{mail, state::AppState};

pub fn routes() -> Routes {
    Routes::new()
        .route("/team", get(team))
        .route("/team/invite", post(invite))
        .route("/team/{user_id}/remove", get(confirm_remove).post(remove))
        .route("/team/invitations/revoke", post(revoke))
        .route("/invite/{token}", get(accept_form).post(accept))
}

#[derive(Serialize)]
struct Member {
    user_id: String,
    name: String,
    email: String,
    is_owner: bool,
}

#[derive(Serialize)]
struct Invitation {
    email: String,
    expires_at: String,
}

#[derive(Serialize)]
struct TeamView {
    members: Vec<Member>,
    invitations: Vec<Invitation>,
    form: FormView,
}

async fn team_view(state: &AppState, owner: &users::User, form: FormView) -> Result<TeamView, WebError> {
    let mut conn = state.db.acquire().await?;
    let members = users::list(&mut conn, owner.tenant_id)
        .await?
        .into_iter()
        .map(|u| Member {
            user_id: u.user_id.to_string(),
            name: u.name,
            email: u.email,
            is_owner: u.role == Role::Owner,
        })
        .collect();
    let invitations = tokens::pending_invitations(&mut conn, owner.tenant_id)
        .await?
        .into_iter()
        .map(|i| Invitation { email: i.email, expires_at: i.expires_at.to_rfc3339() })
        .collect();
    Ok(TeamView { members, invitations, form })
}

async fn team(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<impl IntoResponse, WebError> {
    page.render("team/index.html", &team_view(&state, &owner, FormView::default()).await?)
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
}

#[derive(Serialize)]
struct InviteMail {
    inviter_name: String,
    inviter_email: String,
    business_name: String,
    link: String,
}

async fn invite(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused }: Form<InviteForm>,
) -> Result<Response, WebError> {
    let mut form = FormView::default().value("email", &f.email);
    form.refuse(&page, &refused);
    if !owner.email_verified {
        page.alert("errors.verify_first");
        let view = team_view(&state, &owner, form).await?;
        return Ok((StatusCode::FORBIDDEN, page.render("team/index.html", &view)?).into_response());
    }
    let email = EmailAddress::parse(&f.email).map_err(|k| form.error(&page, "email", &format!("errors.{k}")));
    let (Ok(email), true) = (email, form.is_valid()) else {
        let view = team_view(&state, &owner, form).await?;
        return page.invalid("team/index.html", &view);
    };
    INVITATIONS.check(&state, &owner.tenant_id.to_string()).await?;
    let mut tx = state.db.begin().await?;
    let invited = match accounts::invite(&mut tx, &owner, &email).await {
        Ok(invited) => invited,
        Err(AccountError::SeatsFull { .. }) => {
            form.error(&page, "email", "errors.seats_full");
            return page.invalid("team/index.html", &team_view(&state, &owner, form).await?);
        }
        Err(e) => return Err(e.into()),
    };
    let tenant = tenants::get(&mut tx, owner.tenant_id).await?;
    let data = InviteMail {
        inviter_name: name::for_email(&owner.name, name::PERSON_MAX),
        inviter_email: owner.email.clone(),
        business_name: name::for_email(&tenant.business_name, name::BUSINESS_MAX),
        link: format!("{}/invite/{}", state.config.http.base_url, invited.token),
    };
    let outgoing = mail::Outgoing {
        // An address with an account is told it cannot join, and gets no link.
        kind: if invited.has_account { "invitation_existing" } else { "invitation" },
        tenant_id: Some(owner.tenant_id),
        to: email.as_str(),
        locale: owner.locale,
        data: &data,
    };
    mail::queue(&mut tx, &state.views, outgoing).await?;
    tx.commit().await?;
    set_flash(&state, &page.session, "success", "flash.invitation_sent").await?;
    Ok(Redirect::to("/team").into_response())
}

/// Who is about to be removed and what it means, before it is done; any other id is 404.
async fn confirm_remove(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    PathId(user_id): PathId<UserId>,
) -> Result<Response, WebError> {
    let member = users::get(&mut *state.db.acquire().await?, owner.tenant_id, user_id)
        .await?
        .filter(|u| u.role != Role::Owner)
        .ok_or(WebError::NotFound)?;
    let view = Member {
        user_id: member.user_id.to_string(),
        name: member.name,
        email: member.email,
        is_owner: false,
    };
    Ok(page.render("team/remove.html", &view)?.into_response())
}

/// Revokes the open invitation to an address: its link stops working.
async fn revoke(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused }: Form<InviteForm>,
) -> Result<Response, WebError> {
    if !refused.is_empty() {
        return Err(WebError::BadRequest);
    }
    let revoked =
        accounts::revoke_invitation(&mut *state.db.acquire().await?, &owner, f.email.trim()).await?;
    let flash =
        if revoked { ("success", "flash.invitation_revoked") } else { ("error", "errors.no_invitation") };
    set_flash(&state, &page.session, flash.0, flash.1).await?;
    Ok(Redirect::to("/team").into_response())
}

/// Removes an agent of the owner's own tenant; any other id is 404.
async fn remove(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    PathId(user_id): PathId<UserId>,
) -> Result<Response, WebError> {
    if !users::remove_agent(&mut *state.db.acquire().await?, owner.tenant_id, user_id).await? {
        return Err(WebError::NotFound);
    }
    set_flash(&state, &page.session, "success", "flash.member_removed").await?;
    Ok(Redirect::to("/team").into_response())
}

async fn accept_form(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some((_, business, email)) = accounts::invitation(&state.db, &token).await? else {
        return invitation_gone(&page);
    };
    let view = FormView::default()
        .extra("business_name", &business)
        .extra("email", &email)
        .value("locale", page.session.locale.as_str());
    Ok(page.render("team/accept.html", &view)?.into_response())
}

#[derive(Deserialize)]
struct AcceptForm {
    name: String,
    password: String,
    locale: String,
}

async fn accept(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
    Form { data: f, refused }: Form<AcceptForm>,
) -> Result<Response, WebError> {
    let Some((_, business, email)) = accounts::invitation(&state.db, &token).await? else {
        return invitation_gone(&page);
    };
    let mut view = FormView::default()
        .value("name", &f.name)
        .value("locale", &f.locale)
        .extra("business_name", &business)
        .extra("email", &email);
    view.refuse(&page, &refused);
    let person = DisplayName::parse(&f.name, name::PERSON_MAX)
        .map_err(|k| view.error(&page, "name", &name_error(k)))
        .ok();
    let password = NewPassword::parse(&f.password, &[&email, &f.name, &business])
        .map_err(|k| view.error(&page, "password", &format!("errors.{k}")))
        .ok();
    let (Some(person), Some(password), true) = (person, password, view.is_valid()) else {
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, page.render("team/accept.html", &view)?).into_response()
        );
    };
    let locale = Locale::parse(&f.locale).unwrap_or(page.session.locale);
    match accounts::accept_invitation(&state.db, &token, person.as_str(), password, locale).await {
        Ok(user) => start_session(&state, &page.session, &user, "/dashboard").await,
        Err(AccountError::InvalidToken | AccountError::EmailTaken) => invitation_gone(&page),
        Err(AccountError::SeatsFull { .. }) => {
            page.alert("errors.team_full");
            Ok((StatusCode::CONFLICT, page.render("team/accept.html", &view)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// 410: the invitation was used, revoked, replaced or has expired; ask for a new one.
fn invitation_gone(page: &Page) -> Result<Response, WebError> {
    Ok((StatusCode::GONE, page.render("team/invitation_invalid.html", &FormView::default())?).into_response())
}
