//! Emails to a tenant's owners from jobs (a connection that needs their attention), queued
//! through the outbox in the caller's transaction.

use mujibak_core::{
    db::{emails, tenants, users},
    domain::{EmailId, Role, TenantId},
};

use crate::job::JobError;

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
