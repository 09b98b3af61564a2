//! The Moyasar API client, for hosted invoices (payment links): create one, find the one
//! a retried job already created (by our invoice id in `metadata`), and read an invoice or
//! a payment back by id. Basic auth with the secret key as username and an empty
//! password; a User-Agent on every call (Moyasar sits behind Cloudflare, which refuses
//! clients without one); amounts in halalas. Every call has a total timeout and is
//! counted by outcome (`metrics::outbound_call`, provider `moyasar`). Nothing a caller
//! must trust comes from a webhook body: this client is how the truth is read.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    config::MoyasarConfig,
    metrics::{self, CallOutcome, Provider},
};

/// A hosted invoice as Moyasar returns it (the fields Mujibak reads).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct MoyasarInvoice {
    pub id: String,
    /// `initiated`, `paid`, `failed`, `refunded`, `canceled`, `on_hold`, `expired`, `voided`.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// A payment as Moyasar returns it (the fields Mujibak reads).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct MoyasarPayment {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub invoice_id: Option<String>,
}

/// What a new hosted invoice holds.
#[derive(Debug, Clone, Serialize)]
pub struct NewInvoice {
    pub amount: i64,
    pub currency: &'static str,
    pub description: String,
    pub callback_url: String,
    pub success_url: String,
    pub back_url: String,
    /// Our invoice id (`invoice_id`), so a retry finds what it created.
    pub metadata: Value,
}

/// A failed Moyasar call.
#[derive(Debug, thiserror::Error)]
pub enum MoyasarError {
    /// Moyasar answered with an error status (`type` and `message` from its body).
    #[error("Moyasar API error (HTTP {http}): {kind}")]
    Api { http: u16, kind: String },
    /// No answer we could read (refused, timeout, broken exchange, unexpected body).
    #[error("Moyasar unreachable or unreadable: {0}")]
    Transport(String),
}

impl MoyasarError {
    /// Whether a later attempt may succeed (timeouts, 429, 5xx); 4xx other than 429 are
    /// refusals retrying cannot fix (a wrong key, a malformed request).
    pub fn is_retryable(&self) -> bool {
        match self {
            MoyasarError::Transport(_) => true,
            MoyasarError::Api { http, .. } => *http == 429 || *http >= 500,
        }
    }
}

/// A Moyasar client with its own connection pool and timeout.
#[derive(Clone, Debug)]
pub struct MoyasarClient {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

#[derive(Deserialize)]
struct InvoiceList {
    #[serde(default)]
    invoices: Vec<MoyasarInvoice>,
}

impl MoyasarClient {
    pub fn new(config: &MoyasarConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout((config.timeout / 3).max(Duration::from_secs(1)))
            .user_agent("Mujibak/1.0 (+billing)")
            .build()
            .expect("a reqwest client with static settings builds");
        Self { http, base: config.api_url.clone(), key: config.secret_key.clone() }
    }

    /// `POST /invoices`.
    pub async fn create_invoice(&self, new: &NewInvoice) -> Result<MoyasarInvoice, MoyasarError> {
        let body = serde_json::to_value(new).map_err(|e| MoyasarError::Transport(e.to_string()))?;
        self.call(reqwest::Method::POST, "invoices", &[], Some(body)).await
    }

    /// The hosted invoice whose `metadata[key]` is `value`, if one was created.
    pub async fn find_invoice(&self, key: &str, value: &str) -> Result<Option<MoyasarInvoice>, MoyasarError> {
        let filter = format!("metadata[{key}]");
        let list: InvoiceList =
            self.call(reqwest::Method::GET, "invoices", &[(&filter, value)], None).await?;
        Ok(list.invoices.into_iter().find(|i| meta_str(i, key) == Some(value)))
    }

    /// `GET /invoices/{id}`.
    pub async fn invoice(&self, id: &str) -> Result<MoyasarInvoice, MoyasarError> {
        self.call(reqwest::Method::GET, &format!("invoices/{}", path_segment(id)?), &[], None).await
    }

    /// `GET /payments/{id}`.
    pub async fn payment(&self, id: &str) -> Result<MoyasarPayment, MoyasarError> {
        self.call(reqwest::Method::GET, &format!("payments/{}", path_segment(id)?), &[], None).await
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<T, MoyasarError> {
        let mut req = self
            .http
            .request(method, format!("{}/{path}", self.base))
            .basic_auth(self.key.expose_secret(), Some(""))
            .query(query);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| {
            metrics::outbound_call(Provider::Moyasar, outcome(&e));
            MoyasarError::Transport(if e.is_timeout() {
                "timed out".into()
            } else {
                "exchange failed".into()
            })
        })?;
        let http = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        metrics::outbound_call(Provider::Moyasar, CallOutcome::from_status(http));
        if !(200..300).contains(&http) {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let kind = v.get("type").and_then(Value::as_str).unwrap_or("no error body");
            return Err(MoyasarError::Api { http, kind: kind.chars().take(100).collect() });
        }
        serde_json::from_str(&text).map_err(|e| MoyasarError::Transport(format!("unexpected answer: {e}")))
    }
}

/// `metadata[key]` of `invoice` as text.
pub fn meta_str<'a>(invoice: &'a MoyasarInvoice, key: &str) -> Option<&'a str> {
    invoice.metadata.as_ref()?.get(key)?.as_str()
}

/// Moyasar ids are UUIDs: anything else is refused before it reaches a URL.
fn path_segment(id: &str) -> Result<&str, MoyasarError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(id)
    } else {
        Err(MoyasarError::Api { http: 400, kind: "malformed id".into() })
    }
}

fn outcome(e: &reqwest::Error) -> CallOutcome {
    if e.is_timeout() {
        CallOutcome::Timeout
    } else {
        CallOutcome::Error
    }
}
