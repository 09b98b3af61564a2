//! End to end in the sandbox: an owner signs up and chooses a plan; the sandbox's billing
//! button runs the invoice run; the invoice's payment link arrives by email; the owner
//! pays on the sandbox Moyasar's hosted page; Moyasar's webhook marks it paid and the
//! billing page shows it, with the receipt emailed.

use std::time::Duration;

use mujibak_jobs::{billing::Billing, JobContext};
use reqwest::StatusCode;
use sqlx::PgPool;

use super::{World, KEY, SECRET};
use crate::{
    helpers::{eventually, fast_options, TestApp, TestWorker},
    web::{mail_to, verify_email, Browser, Mailbox},
};

#[sqlx::test(migrations = false)]
async fn the_run_issues_the_owner_pays_on_the_hosted_page_and_the_billing_page_shows_it_paid(pool: PgPool) {
    // Arrange: the app as `mujibak dev` serves it, with the sandbox Moyasar.
    let w = World::start(pool).await;
    let api = w.moyasar.api_url();
    let vars = [("MOYASAR_SECRET_KEY", KEY), ("MOYASAR_WEBHOOK_SECRET", SECRET), ("MOYASAR_API_URL", &api)];
    let addr = TestApp::new(w.pool.clone()).vars(&vars).dev(true).spawn().await;
    w.moyasar.set_webhook(&format!("http://{addr}/webhooks/moyasar"), SECRET);
    let ctx = JobContext { base_url: format!("http://{addr}"), ..w.ctx.clone() };
    let _billing = TestWorker::start_with::<Billing>(&ctx, &fast_options());
    let mail = Mailbox::start(&w.pool).await;
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.sign_up("Huda", "huda@oud.sa", "Oud House", "en").await;
    verify_email(&owner, &mail.sink, "huda@oud.sa").await;
    owner.get("/billing").await;
    owner.post("/billing/plan", &[("plan", "starter")]).await;

    // Act: the invoice run, from the sandbox's button.
    let page = owner.get("/billing").await;
    assert!(page.body.contains("/sandbox/billing/run"), "the sandbox button is on the page");
    let ran = owner.post("/sandbox/billing/run", &[]).await;
    assert_eq!((ran.status, ran.location()), (StatusCode::SEE_OTHER, "/billing"));

    // Assert: the invoice's email carries Moyasar's payment link.
    let (subject, text) = mail_to(&mail.sink, "huda@oud.sa", "/invoices/").await;
    assert!(subject.contains("INV-2026-"), "{subject}");
    assert!(text.contains("113.85"), "{text}");
    let link = text.split_whitespace().find(|w| w.contains("/invoices/")).unwrap().to_owned();
    let listed = owner.get("/billing").await;
    assert!(listed.body.contains("Unpaid") && listed.body.contains(">Pay</a>"), "{}", listed.body);

    // Act: the owner opens the hosted page and pays.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let hosted = http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(hosted.contains("113.85 SAR") && hosted.contains("/pay\""), "{hosted}");
    let action = link.split('?').next().unwrap().to_owned() + "/pay";
    let paid = http.post(&action).send().await.unwrap();

    // Assert: back to our billing page, which shows the invoice paid once the webhook is in.
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let back = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&format!("http://{addr}/billing?paid=")), "{back}");
    let returning = owner.get(back.trim_start_matches(&format!("http://{addr}"))).await;
    assert!(returning.body.contains("your payment is being confirmed"), "{}", returning.body);
    eventually(Duration::from_secs(15), "the billing page to show the invoice paid", || async {
        let page = owner.get("/billing").await;
        (page.body.contains(r#"<td class="invoice-status">Paid</td>"#) && !page.body.contains(">Pay</a>"))
            .then_some(())
    })
    .await;
    mail_to(&mail.sink, "huda@oud.sa", "We received 113.85 SAR").await;
    let attempts = w.moyasar.attempts();
    assert_eq!(attempts.len(), 1, "the webhook was answered 2xx at once: {attempts:?}");
    assert_eq!(attempts[0].response_code, Some(200));
}
