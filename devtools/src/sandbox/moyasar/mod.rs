//! A local Moyasar for hosted invoices: the API Mujibak calls (`POST /v1/invoices`,
//! `GET /v1/invoices?metadata[key]=…`, `GET /v1/invoices/{id}`, `GET /v1/payments/{id}`,
//! Basic auth with the secret key, Moyasar's error bodies), the hosted invoice page a
//! customer pays on (`/invoices/{id}` with "pay" and "fail" buttons standing in for the
//! card form), and what Moyasar does after a payment: the invoice's `callback_url` POST
//! (no secret) and the webhook event with the `secret_token`, retried on the documented
//! schedule (after 1 min, 10 min, 30 min, 1 h, 2 h; shorter in tests). Fault switches:
//! failing API calls, a create whose answer is lost, lost webhooks, a tampered amount.
//! Owns only Moyasar's side of the wire formats; everything lives in memory.

mod routes;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    routing::{get, post},
    Router,
};
use base64::Engine;
use serde_json::{json, Value};

/// A failure to inject into the next API calls (see [`MoyasarFake::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoyasarFault {
    /// HTTP 500 with Moyasar's `api_error` body; nothing happens.
    ServerError,
    /// A create that succeeds at Moyasar but whose answer is a 502: the client cannot know.
    CreateThenFail,
}

/// One webhook delivery attempt, as Moyasar's attempts API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub event_id: String,
    pub event_type: String,
    pub retry_number: usize,
    /// `None`: no answer (refused, timed out).
    pub response_code: Option<u16>,
}

struct Inner {
    secret_key: String,
    /// The webhook's URL and Secret Token, as set in Moyasar's dashboard.
    webhook: Option<(String, String)>,
    invoices: HashMap<String, Value>,
    /// Invoice ids in creation order (listings).
    order: Vec<String>,
    payments: HashMap<String, Value>,
    attempts: Vec<Attempt>,
    retry_delays: Vec<Duration>,
    faults: VecDeque<MoyasarFault>,
    /// Payments whose callback and webhook are still to lose entirely.
    lose_events: usize,
}

/// A running fake Moyasar. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct MoyasarFake {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

/// Moyasar's documented webhook retries: 5 more attempts after these delays.
pub const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(7200),
];

impl MoyasarFake {
    /// Listens on `addr` (port 0 picks a free one), accepting `secret_key`, and serves
    /// until the process ends.
    pub async fn start(addr: &str, secret_key: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        let inner = Inner {
            secret_key: secret_key.to_owned(),
            webhook: None,
            invoices: HashMap::new(),
            order: Vec::new(),
            payments: HashMap::new(),
            attempts: Vec::new(),
            retry_delays: RETRY_DELAYS.to_vec(),
            faults: VecDeque::new(),
            lose_events: 0,
        };
        let fake = Self { addr: listener.local_addr()?, inner: Arc::new(Mutex::new(inner)), http };
        let app = fake.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "sandbox moyasar: server stopped");
            }
        });
        Ok(fake)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API base, for `MOYASAR_API_URL`.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// Where webhook events go, with the Secret Token they carry.
    pub fn set_webhook(&self, url: &str, secret_token: &str) {
        self.lock().webhook = Some((url.to_owned(), secret_token.to_owned()));
    }

    /// Replaces the retry schedule (tests: milliseconds instead of hours).
    pub fn set_retry_delays(&self, delays: Vec<Duration>) {
        self.lock().retry_delays = delays;
    }

    /// Makes the next `times` API calls fail with `fault`.
    pub fn fail_next(&self, fault: MoyasarFault, times: usize) {
        self.lock().faults.extend(std::iter::repeat_n(fault, times));
    }

    /// Loses what the next `n` payments tell the app: the invoice callback and every
    /// attempt of the webhook event.
    pub fn lose_webhooks(&self, n: usize) {
        self.lock().lose_events += n;
    }

    /// Changes a hosted invoice's amount (a stand-in for any payment that is not what
    /// was invoiced).
    pub fn tamper_amount(&self, invoice_id: &str, amount: i64) {
        if let Some(inv) = self.lock().invoices.get_mut(invoice_id) {
            inv["amount"] = json!(amount);
        }
    }

    /// Every hosted invoice, oldest first.
    pub fn invoices(&self) -> Vec<Value> {
        let inner = self.lock();
        inner.order.iter().filter_map(|id| inner.invoices.get(id).cloned()).collect()
    }

    /// Every webhook attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    /// Pays hosted invoice `id` as the "pay" button does (test card accepted); the
    /// callback and the webhook follow in the background. `None` if it is not payable.
    pub fn pay(&self, id: &str) -> Option<Value> {
        self.complete(id, true)
    }

    /// A declined card on hosted invoice `id`: a failed payment, the invoice stays payable.
    pub fn decline(&self, id: &str) -> Option<Value> {
        self.complete(id, false)
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/v1/invoices", post(routes::create).get(routes::list))
            .route("/v1/invoices/{id}", get(routes::show_invoice))
            .route("/v1/payments/{id}", get(routes::show_payment))
            .route("/invoices/{id}", get(routes::hosted_page))
            .route("/invoices/{id}/pay", post(routes::pay_button))
            .route("/invoices/{id}/fail", post(routes::fail_button))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `authorization` is Basic auth with the secret key and an empty password.
    fn authorized(&self, authorization: Option<&str>) -> bool {
        let key = self.lock().secret_key.clone();
        let expected = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        authorization.and_then(|a| a.strip_prefix("Basic ")) == Some(expected.as_str())
    }

    /// A payment of invoice `id` (paid or declined), then its callback and webhook.
    fn complete(&self, id: &str, paid: bool) -> Option<Value> {
        let (invoice, payment, webhook, delays, lose) = {
            let mut inner = self.lock();
            let invoice = inner.invoices.get(id)?.clone();
            if invoice["status"] != "initiated" {
                return None;
            }
            let payment_id = uuid::Uuid::new_v4().to_string();
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let (status, message) =
                if paid { ("paid", "APPROVED") } else { ("failed", "INSUFFICIENT FUNDS") };
            let payment = json!({ "id": payment_id, "status": status, "amount": invoice["amount"], "fee": 0,
                "currency": invoice["currency"], "amount_format": invoice["amount_format"],
                "invoice_id": id, "created_at": now, "metadata": invoice["metadata"],
                "source": { "type": "creditcard", "company": "mada", "number": "4201-32XX-XXXX-1010",
                            "message": message } });
            inner.payments.insert(payment_id.clone(), payment.clone());
            if paid {
                let inv = inner.invoices.get_mut(id)?;
                inv["status"] = json!("paid");
                inv["payment_id"] = json!(payment_id);
                inv["paid_at"] = json!(now);
                inv["updated_at"] = json!(now);
            }
            let invoice = inner.invoices.get(id)?.clone();
            let lose = inner.lose_events > 0;
            inner.lose_events = inner.lose_events.saturating_sub(1);
            (invoice, payment, inner.webhook.clone(), inner.retry_delays.clone(), lose)
        };
        let kind = if paid { "payment_paid" } else { "payment_failed" };
        let fake = self.clone();
        let (callback, data) = (invoice["callback_url"].as_str().map(str::to_owned), payment.clone());
        tokio::spawn(async move {
            if lose {
                tracing::info!("sandbox moyasar: callback and webhook event lost on purpose");
                return;
            }
            if let (true, Some(url)) = (paid, callback) {
                let _ = fake.http.post(url).json(&invoice).send().await;
            }
            if let Some((url, secret)) = webhook {
                fake.deliver(&url, &secret, kind, data, &delays).await;
            }
        });
        Some(payment)
    }

    /// Posts one event, retrying on the schedule until an answer is 2xx.
    async fn deliver(&self, url: &str, secret: &str, kind: &str, data: Value, delays: &[Duration]) {
        let event_id = uuid::Uuid::new_v4().to_string();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let event = json!({ "id": event_id, "type": kind, "created_at": now, "secret_token": secret,
            "account_name": "Mujibak Sandbox", "live": false, "data": data });
        for retry_number in 0..=delays.len() {
            if retry_number > 0 {
                tokio::time::sleep(delays[retry_number - 1]).await;
            }
            let code = self.http.post(url).json(&event).send().await.ok().map(|r| r.status().as_u16());
            self.lock().attempts.push(Attempt {
                event_id: event_id.clone(),
                event_type: kind.to_owned(),
                retry_number,
                response_code: code,
            });
            if code.is_some_and(|c| (200..300).contains(&c)) {
                return;
            }
        }
        tracing::warn!(event.kind = kind, "sandbox moyasar: webhook dropped after every retry");
    }
}
