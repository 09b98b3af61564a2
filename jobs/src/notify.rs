//! Emails to a tenant's owners from jobs (a connection that needs their attention), or to
//! its whole team (a customer waiting for a person), queued through the outbox in the
//! caller's transaction.

use mujibak_core::{
    db::{emails, tenants, users},
    domain::{EmailId, Role, TenantId},
};

use crate::job::JobError;

/// Queues `(subject, text, html)`, built for the business name, to every member of the
/// team, due in `after` and sent only if nobody has opened `conversation` by then.
pub async fn team_unless_opened(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    conversation: uuid::Uuid,
    after: std::time::Duration,
    build: impl Fn(&str) -> (String, String, String),
) -> Result<(), JobError> {
    let business = tenants::get(tx, tenant).await?.business_name;
    let (subject, text, html) = build(&business);
    for member in users::list(tx, tenant).await? {
        let email = emails::NewEmail {
            email_id: EmailId::new(),
            tenant_id: Some(tenant),
            kind: "handoff_alert".into(),
            to_address: member.email,
            subject: subject.clone(),
            body_text: text.clone(),
            body_html: html.clone(),
        };
        emails::insert(tx, &email).await?;
        emails::unless_opened(tx, tenant, email.email_id, conversation).await?;
        crate::enqueue_in(tx, &crate::send_email::SendEmail { email_id: email.email_id }, after)
            .await
            .map_err(JobError::transient)?;
    }
    Ok(())
}

/// Queues `(subject, text, html)`, built for the tenant's business name, to every owner.
pub async fn owners(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    kind: &str,
    build: impl Fn(&str) -> (String, String, String),
) -> Result<(), JobError> {
    let business = tenants::get(tx, tenant).await?.business_name;
    let (subject, text, html) = build(&business);
    for owner in users::list(tx, tenant).await?.into_iter().filter(|u| u.role == Role::Owner) {
        let email = emails::NewEmail {
            email_id: EmailId::new(),
            tenant_id: Some(tenant),
            kind: kind.into(),
            to_address: owner.email,
            subject: subject.clone(),
            body_text: text.clone(),
            body_html: html.clone(),
        };
        crate::send_email::queue(tx, &email).await.map_err(JobError::transient)?;
    }
    Ok(())
}
