//! Collecting invoices through Moyasar, against the sandbox's Moyasar over real HTTP: the
//! app's webhook and callback, the `billing` worker, and Moyasar's answers as the truth.
//! A wrong secret changes nothing; a replayed event changes state once; a mismatched
//! amount is flagged, not paid; reconciliation finds a payment whose webhook was lost; a
//! retried payment-link job finds the Moyasar invoice it already created.

use std::{net::SocketAddr, time::Duration};

use mujibak_core::{
    billing::{run, Seller},
    clients::moyasar::MoyasarClient,
    config::MoyasarConfig,
    domain::TenantId,
};
use mujibak_devtools::sandbox::moyasar::{MoyasarFake, MoyasarFault};
use mujibak_jobs::{billing::Billing, Job, JobContext, PaymentsContext};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{eventually, fast_options, job_context, sized_pool, TestApp, TestWorker};

mod callbacks;
mod dunning;
mod sandbox;

pub const KEY: &str = "sk_test_mujibak_payments_key";
pub const SECRET: &str = "moyasar-webhook-secret-for-tests";

/// The app with Moyasar configured, the sandbox's Moyasar sending it webhooks, and (once
/// started) a `billing` worker.
pub struct World {
    pub pool: PgPool,
    pub addr: SocketAddr,
    pub moyasar: MoyasarFake,
    pub ctx: JobContext,
    _worker: Option<TestWorker>,
}

impl World {
    pub async fn start(pool: PgPool) -> Self {
        let pool = sized_pool(&pool, 10).await;
        let moyasar = MoyasarFake::start("127.0.0.1:0", KEY).await.unwrap();
        moyasar.set_retry_delays(vec![Duration::from_millis(200); 5]);
        let api = moyasar.api_url();
        let vars =
            [("MOYASAR_SECRET_KEY", KEY), ("MOYASAR_WEBHOOK_SECRET", SECRET), ("MOYASAR_API_URL", &api)];
        let addr = TestApp::new(pool.clone()).vars(&vars).spawn().await;
        moyasar.set_webhook(&format!("http://{addr}/webhooks/moyasar"), SECRET);
        let config = MoyasarConfig {
            api_url: api.clone(),
            secret_key: KEY.into(),
            webhook_secret: SECRET.into(),
            live: false,
            timeout: Duration::from_secs(2),
        };
        let ctx = JobContext {
            seller: Some(seller()),
            base_url: format!("http://{addr}"),
            payments: PaymentsContext {
                moyasar: Some(MoyasarClient::new(&config)),
                ..PaymentsContext::default()
            },
            ..job_context(&pool)
        };
        Self { pool, addr, moyasar, ctx, _worker: None }
    }

    pub fn start_worker(&mut self) {
        self._worker = Some(TestWorker::start_with::<Billing>(&self.ctx, &fast_options()));
    }

    /// A business on the starter plan with an owner, and its invoice for November 2026
    /// (issued now, its payment link not yet made): (tenant, invoice id).
    pub async fn invoiced(&self, name: &str) -> (TenantId, Uuid) {
        self.invoiced_ago(name, 0).await
    }

    /// As [`Self::invoiced`], issued `days` days ago.
    pub async fn invoiced_ago(&self, name: &str, days: i64) -> (TenantId, Uuid) {
        let created = (chrono::Utc::now() - chrono::Duration::days(60)).to_rfc3339();
        let t = crate::billing::invoice_run::business(&self.pool, name, "starter", &created).await;
        let period = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let mut tx = self.pool.begin().await.unwrap();
        let invoice =
            run::issue_for(&mut tx, t, period, &seller(), chrono::Utc::now() - chrono::Duration::days(days))
                .await
                .unwrap()
                .unwrap();
        tx.commit().await.unwrap();
        (t, invoice.invoice_id)
    }

    /// Makes `invoice`'s payment link; Moyasar's id of it.
    pub async fn open(&self, tenant: TenantId, invoice: Uuid) -> String {
        Billing::Open { tenant_id: tenant, invoice_id: invoice }.run(&self.ctx).await.unwrap();
        self.moyasar_id(invoice).await.expect("a payment link")
    }

    pub async fn moyasar_id(&self, invoice: Uuid) -> Option<String> {
        sqlx::query_scalar("select moyasar_id from invoice_states where invoice_id = $1")
            .bind(invoice)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn status(&self, invoice: Uuid) -> (String, Option<String>) {
        sqlx::query_as("select status, flagged from invoice_states where invoice_id = $1")
            .bind(invoice)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn until_status(&self, invoice: Uuid, want: &str) {
        eventually(Duration::from_secs(15), &format!("the invoice to be {want}"), || async {
            (self.status(invoice).await.0 == want).then_some(())
        })
        .await;
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&self.pool).await.unwrap()
    }

    /// Waits until every billing job has finished.
    pub async fn until_idle(&self) {
        eventually(Duration::from_secs(15), "every billing job to finish", || async {
            let left = self
                .count("select count(*) from apalis.jobs where job_type = 'billing' and status not in ('Done', 'Killed', 'Failed')")
                .await;
            (left == 0).then_some(())
        })
        .await;
    }

    pub async fn post(&self, path: &str, body: &Value) -> StatusCode {
        reqwest::Client::new()
            .post(format!("http://{}{path}", self.addr))
            .json(body)
            .send()
            .await
            .unwrap()
            .status()
    }
}

pub fn seller() -> Seller {
    Seller {
        name: "مُجيب للتقنية".into(), vat_number: "300000000000003".into(), address: "Riyadh".into()
    }
}

/// A webhook event as Moyasar sends it.
pub fn event(id: &str, secret: &str, live: bool, payment: &Value) -> Value {
    json!({ "id": id, "type": "payment_paid", "created_at": "2026-12-01T09:00:00.000Z", "secret_token": secret,
        "account_name": "Mujibak", "live": live, "data": payment })
}

#[sqlx::test(migrations = false)]
async fn wrong_secret_is_401_a_replayed_event_changes_state_once_and_the_wrong_mode_is_refused(pool: PgPool) {
    // Arrange: an invoice with its link, paid at Moyasar with its webhook lost.
    let mut w = World::start(pool).await;
    let (tenant, invoice) = w.invoiced("Alnoor").await;
    let mid = w.open(tenant, invoice).await;
    w.moyasar.lose_webhooks(1);
    let payment = w.moyasar.pay(&mid).unwrap();
    w.start_worker();

    // Act + Assert: a wrong or missing secret is 401 and stores nothing.
    let id = Uuid::new_v4().to_string();
    assert_eq!(
        w.post("/webhooks/moyasar", &event(&id, "wrong-secret-wrong-secret", false, &payment)).await,
        401
    );
    assert_eq!(w.post("/webhooks/moyasar", &event(&id, "", false, &payment)).await, 401);
    let live = event(&id, SECRET, true, &payment);
    assert_eq!(w.post("/webhooks/moyasar", &live).await, 400, "a live event on a test key");
    assert_eq!(w.post("/webhooks/moyasar", &json!({ "not": "an event" })).await, 400);
    assert_eq!(w.count("select count(*) from moyasar_events").await, 0);
    assert_eq!(w.status(invoice).await.0, "open");

    // Act: the right event, then the same event twice more.
    assert_eq!(w.post("/webhooks/moyasar", &event(&id, SECRET, false, &payment)).await, 200);
    w.until_status(invoice, "paid").await;
    assert_eq!(w.post("/webhooks/moyasar", &event(&id, SECRET, false, &payment)).await, 200);
    assert_eq!(w.post("/webhooks/moyasar", &event(&id, SECRET, false, &payment)).await, 200);
    w.until_idle().await;

    // Assert: one event, one job, paid once (one audit row, one receipt email).
    assert_eq!(w.count("select count(*) from moyasar_events").await, 1);
    assert_eq!(w.count("select count(*) from apalis.jobs where job_type = 'billing' and convert_from(job, 'UTF8') like '%Event%'").await, 1);
    assert_eq!(w.count("select count(*) from audit_log where action = 'invoice_paid'").await, 1);
    assert_eq!(w.count("select count(*) from emails where kind = 'payment_received'").await, 1);
    let paid_by: Option<String> =
        sqlx::query_scalar("select payment_id from invoice_states where invoice_id = $1")
            .bind(invoice)
            .fetch_one(&w.pool)
            .await
            .unwrap();
    assert_eq!(paid_by.as_deref(), payment["id"].as_str());
}

#[sqlx::test(migrations = false)]
async fn a_paid_amount_that_differs_is_flagged_for_staff_and_the_invoice_stays_open(pool: PgPool) {
    // Arrange
    let mut w = World::start(pool).await;
    let (tenant, invoice) = w.invoiced("Bayt").await;
    let mid = w.open(tenant, invoice).await;
    w.moyasar.tamper_amount(&mid, 100);
    w.start_worker();

    // Act: paid at Moyasar (1.00 SAR instead of the invoice's 113.85), webhook delivered.
    w.moyasar.pay(&mid).unwrap();

    // Assert
    eventually(Duration::from_secs(15), "the mismatch to be flagged", || async {
        w.status(invoice).await.1.filter(|f| f.contains("100 SAR")).map(|_| ())
    })
    .await;
    w.until_idle().await;
    assert_eq!(w.status(invoice).await.0, "open");
    assert_eq!(w.count("select count(*) from audit_log where action = 'invoice_payment_mismatch'").await, 1);
    assert_eq!(w.count("select count(*) from emails where kind = 'payment_received'").await, 0);

    // Assert: staff see the flag on the tenant's page in the ops console.
    let api = crate::ops::Api::new(w.addr, Some(&crate::ops::token(&w.pool, "finance", "ops:read").await));
    let page = api.get(&format!("/ops/tenants/{tenant}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let listed = &page.json()["billing"]["invoices"][0];
    assert_eq!(
        (listed["status"].as_str(), listed["moyasar_id"].as_str()),
        (Some("open"), Some(mid.as_str()))
    );
    assert!(listed["flagged"].as_str().is_some_and(|f| f.contains("100 SAR")), "{listed}");
}

#[sqlx::test(migrations = false)]
async fn reconciliation_marks_paid_an_invoice_whose_webhook_and_callback_never_arrived(pool: PgPool) {
    // Arrange: paid at Moyasar; neither the callback nor any webhook attempt arrives.
    let mut w = World::start(pool).await;
    let (tenant, invoice) = w.invoiced("Dar").await;
    let (_, other) = w.invoiced("Noon").await;
    let mid = w.open(tenant, invoice).await;
    w.moyasar.lose_webhooks(1);
    w.moyasar.pay(&mid).unwrap();
    w.start_worker();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.status(invoice).await.0, "open", "nothing told the app");
    assert!(w.moyasar.attempts().is_empty());

    // Act: the hourly reconciliation.
    Billing::Reconcile.run(&w.ctx).await.unwrap();

    // Assert: paid; the other business's invoice, which had no link yet, got one and stays open.
    w.until_status(invoice, "paid").await;
    w.until_idle().await;
    assert!(w.moyasar_id(other).await.is_some(), "a lost payment-link job is made up for");
    assert_eq!(w.status(other).await.0, "open");
    assert_eq!(w.moyasar.invoices().len(), 2);
}

#[sqlx::test(migrations = false)]
async fn a_callback_only_triggers_a_refetch_and_a_retried_link_job_finds_what_it_created(pool: PgPool) {
    // Arrange: Moyasar creates the invoice but the answer is lost.
    let mut w = World::start(pool).await;
    let (tenant, invoice) = w.invoiced("Qasr").await;
    w.moyasar.fail_next(MoyasarFault::CreateThenFail, 1);
    let first = Billing::Open { tenant_id: tenant, invoice_id: invoice }.run(&w.ctx).await;
    assert!(first.is_err(), "the lost answer fails the attempt");
    assert_eq!(w.moyasar.invoices().len(), 1, "Moyasar has it");

    // Act: the retry.
    Billing::Open { tenant_id: tenant, invoice_id: invoice }.run(&w.ctx).await.unwrap();
    Billing::Open { tenant_id: tenant, invoice_id: invoice }.run(&w.ctx).await.unwrap();

    // Assert: the one Moyasar invoice is recorded; the owner got one email with its link.
    let mid = w.moyasar_id(invoice).await.unwrap();
    assert_eq!(w.moyasar.invoices().len(), 1);
    assert_eq!(w.moyasar.invoices()[0]["id"], mid.as_str());
    assert_eq!(w.moyasar.invoices()[0]["amount"], 11385);
    let links: Vec<String> = sqlx::query_scalar("select body_text from emails where kind = 'invoice_issued'")
        .fetch_all(&w.pool)
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    assert!(links[0].contains(&format!("/invoices/{mid}")));

    // Act: a forged callback claims it paid (a callback carries no secret).
    w.start_worker();
    let forged = json!({ "id": mid, "status": "paid", "amount": 11385, "currency": "SAR" });
    assert_eq!(w.post("/webhooks/moyasar/invoice", &forged).await, 200);
    let unknown = json!({ "id": Uuid::new_v4().to_string(), "status": "paid" });
    assert_eq!(w.post("/webhooks/moyasar/invoice", &unknown).await, 404);
    w.until_idle().await;

    // Assert: the refetch found it unpaid.
    assert_eq!(w.status(invoice).await.0, "open");
    assert!(w.count("select count(*) from apalis.jobs where job_type = 'billing' and convert_from(job, 'UTF8') like '%Refetch%'").await == 1);
}
