//! The chaos run's emails: alert emails queued through the outbox during the load (as
//! hand-off alerts are), so worker kills, the Postgres restart and the partition happen
//! while some are being sent; afterwards, every email must have gone out exactly once, or
//! be marked `uncertain` (an attempt died between its SMTP call and recording it) having
//! gone out at most once.

use std::collections::HashMap;

use mujibak_core::{db::emails::NewEmail, domain::EmailId};
use sqlx::PgPool;

use super::check::Finding;
use crate::sandbox::mail::MailSink;

/// The address of the run's email `n`.
fn address(n: usize) -> String {
    format!("alert-{n}@chaos.test")
}

/// Queues email `n` (outbox row and its `send_email` job, in one transaction).
pub async fn queue(pool: &PgPool, n: usize) -> anyhow::Result<()> {
    let email = NewEmail {
        email_id: EmailId::new(),
        tenant_id: None,
        kind: "chaos_alert".into(),
        to_address: address(n),
        subject: format!("Chaos alert {n}"),
        body_text: "A customer asked for a person.".into(),
        body_html: "<p>A customer asked for a person.</p>".into(),
    };
    let mut tx = pool.begin().await?;
    mujibak_jobs::send_email::queue(&mut tx, &email).await?;
    tx.commit().await?;
    Ok(())
}

/// Every queued email delivered once (or uncertain, and delivered at most once).
pub async fn check(pool: &PgPool, sink: &MailSink, queued: usize) -> Result<Finding, sqlx::Error> {
    let mut delivered: HashMap<String, usize> = HashMap::new();
    for mail in sink.messages() {
        for to in mail.to {
            *delivered.entry(to).or_default() += 1;
        }
    }
    let statuses: Vec<(String, String)> =
        sqlx::query_as("select to_address, status from emails where kind = 'chaos_alert'")
            .fetch_all(pool)
            .await?;
    let (mut twice, mut unsent, mut uncertain) = (0, 0, 0);
    for (to, status) in &statuses {
        let n = delivered.get(to).copied().unwrap_or(0);
        twice += usize::from(n > 1);
        match status.as_str() {
            "sent" if n == 1 => {}
            "uncertain" => uncertain += 1,
            _ => unsent += 1,
        }
    }
    Ok(Finding {
        name: "every email sent once (none twice), or marked uncertain",
        ok: twice == 0 && unsent == 0 && statuses.len() == queued,
        detail: format!(
            "{queued} queued, {} delivered; sent twice: {twice}; not sent: {unsent}; uncertain: {uncertain}",
            delivered.values().sum::<usize>()
        ),
    })
}
