//! An email is sent at most once, whatever happens to its job: two runs at once (a worker
//! that was cut off and another that took its job over) send it once, and a run that finds
//! it claimed by a run that died after its SMTP call marks it uncertain instead of sending
//! it again.

use std::time::Duration;

use mujibak_core::{
    clients::smtp::Mailer,
    config::MailConfig,
    db::emails::{self, NewEmail},
    domain::EmailId,
};
use mujibak_devtools::sandbox::mail::MailSink;
use mujibak_jobs::{send_email::SendEmail, Job, JobContext};
use sqlx::PgPool;

use crate::helpers::{job_context, migrated};

async fn outbox(pool: &PgPool) -> (EmailId, JobContext, MailSink) {
    migrated(pool).await;
    let sink = MailSink::start("127.0.0.1:0", None).await.unwrap();
    let config = MailConfig {
        smtp_url: Some(sink.url().into()),
        from: "Mujibak <no-reply@mujibak.test>".into(),
        support_address: "support@mujibak.test".into(),
    };
    let ctx = JobContext { mailer: Some(Mailer::new(&config).unwrap()), ..job_context(pool) };
    let email = NewEmail {
        email_id: EmailId::new(),
        tenant_id: None,
        kind: "password_reset".into(),
        to_address: "owner@once.sa".into(),
        subject: "Reset".into(),
        body_text: "a link".into(),
        body_html: "<p>a link</p>".into(),
    };
    emails::insert(&mut pool.acquire().await.unwrap(), &email).await.unwrap();
    (email.email_id, ctx, sink)
}

async fn status(pool: &PgPool, id: EmailId) -> String {
    sqlx::query_scalar("select status from emails where email_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn two_runs_of_one_email_at_once_send_it_once(pool: PgPool) {
    // Arrange: a slow SMTP relay, so both runs read the row before either is done.
    let (id, ctx, sink) = outbox(&pool).await;
    sink.set_latency(Duration::from_secs(1));

    // Act
    let (a, b) = tokio::join!(SendEmail { email_id: id }.run(&ctx), SendEmail { email_id: id }.run(&ctx));

    // Assert
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!(sink.messages().len(), 1, "the email was delivered twice");
    assert_eq!(status(&pool, id).await, "sent");
}

#[sqlx::test(migrations = false)]
async fn a_run_finding_its_email_claimed_by_a_run_that_died_does_not_send_it_again(pool: PgPool) {
    // Arrange: a run claimed the email and died after its SMTP call, before recording it.
    let (id, ctx, sink) = outbox(&pool).await;
    sqlx::query("update emails set status = 'sending' where email_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();

    // Act
    SendEmail { email_id: id }.run(&ctx).await.unwrap();

    // Assert: not sent again; marked uncertain, saying why.
    assert!(sink.messages().is_empty());
    assert_eq!(status(&pool, id).await, "uncertain");
}
