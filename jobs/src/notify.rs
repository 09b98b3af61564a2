//! Emails to a tenant's owners from jobs (a connection that needs their attention), or to
//! its whole team (a customer waiting for a person), queued through the outbox in the
//! caller's transaction.

use std::time::Duration;

use mujibak_core::{
    db::{emails, tenants, users},
    domain::{ConversationId, EmailId, Role, TenantId},
};

use crate::{job::JobError, send_email::SendEmail};

/// Queues `(subject, text, html)`, built for the business name, to every member of the
/// team, due in `after` and sent only if nobody has opened `conversation` by then.
pub async fn team_unless_opened(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    after: Duration,
    build: impl Fn(&str) -> (String, String, String),
) -> Result<(), JobError> {
    to_members(tx, tenant, "handoff_alert", |_| true, Some((conversation, after)), build).await
}

/// Queues `(subject, text, html)`, built for the tenant's business name, to every owner.
pub async fn owners(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    kind: &str,
    build: impl Fn(&str) -> (String, String, String),
) -> Result<(), JobError> {
    to_members(tx, tenant, kind, |u| u.role == Role::Owner, None, build).await
}

/// One email of `kind` to each member `who` picks: now, or after a delay unless a
/// conversation is opened first.
async fn to_members(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    kind: &str,
    who: impl Fn(&users::User) -> bool,
    unless_opened: Option<(ConversationId, Duration)>,
    build: impl Fn(&str) -> (String, String, String),
) -> Result<(), JobError> {
    let business = tenants::get(tx, tenant).await?.business_name;
    let (subject, text, html) = build(&business);
    for member in users::list(tx, tenant).await?.into_iter().filter(|u| who(u)) {
        let email = emails::NewEmail {
            email_id: EmailId::new(),
            tenant_id: Some(tenant),
            kind: kind.into(),
            to_address: member.email,
            subject: subject.clone(),
            body_text: text.clone(),
            body_html: html.clone(),
        };
        let Some((conversation, after)) = unless_opened else {
            crate::send_email::queue(tx, &email).await.map_err(JobError::transient)?;
            continue;
        };
        emails::insert(tx, &email).await?;
        emails::unless_opened(tx, tenant, email.email_id, conversation).await?;
        crate::enqueue_in(tx, &SendEmail { email_id: email.email_id }, after)
            .await
            .map_err(JobError::transient)?;
    }
    Ok(())
}
