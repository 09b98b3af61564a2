//! Queues an email: renders `templates/email/<kind>/{subject.txt,body.txt,body.html}` in
//! the recipient's language, writes the outbox row and enqueues `SendEmail`, all on the
//! caller's transaction, so the email exists only if what caused it commits.

use mujibak_core::{
    db::emails::NewEmail,
    domain::{EmailId, Locale, TenantId},
};
use mujibak_jobs::send_email;
use serde::Serialize;
use sqlx::PgConnection;

use crate::web::{error::WebError, views::Views};

/// Data of the emails that carry one link for one person.
#[derive(Serialize)]
pub struct LinkMail {
    pub name: String,
    pub link: String,
}

/// An email to send.
pub struct Outgoing<'a, D: Serialize> {
    pub kind: &'static str,
    pub tenant_id: Option<TenantId>,
    pub to: &'a str,
    pub locale: Locale,
    /// Template data (links, names).
    pub data: &'a D,
}

/// Renders and queues `mail`; returns the outbox id.
pub async fn queue<D: Serialize>(
    conn: &mut PgConnection,
    views: &Views,
    mail: Outgoing<'_, D>,
) -> Result<EmailId, WebError> {
    let render =
        |part: &str| views.render_plain(&format!("email/{}/{part}", mail.kind), mail.data, mail.locale);
    let email = NewEmail {
        email_id: EmailId::new(),
        tenant_id: mail.tenant_id,
        kind: mail.kind.to_owned(),
        to_address: mail.to.to_owned(),
        subject: render("subject.txt")?.trim().to_owned(),
        body_text: render("body.txt")?,
        body_html: render("body.html")?,
    };
    send_email::queue(conn, &email).await?;
    Ok(email.email_id)
}
