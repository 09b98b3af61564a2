//! The WhatsApp Cloud API (Graph API) client: send a text, mark read with a typing
//! indicator, check a number. Base URL and version come from configuration so tests and
//! the sandbox point it at the local fake. Errors carry Meta's code and are classified the
//! way the send job must act (see `GraphErrorClass`); a failure that may have happened after
//! the request reached Meta is [`GraphError::Ambiguous`], never a plain retry. Every send
//! carries our message id as `biz_opaque_callback_data`, which Meta echoes in its status
//! webhooks, so an ambiguous send can be settled by its status. Every call is counted by
//! outcome (`metrics::outbound_call`, provider `meta`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    config::WhatsAppConfig,
    metrics::{self, CallOutcome, Provider},
};

/// Who a message goes to: a phone (`to`), or only a business-scoped user id (`recipient`).
#[derive(Debug, Clone, Copy)]
pub enum Recipient<'a> {
    Phone(&'a str),
    Bsuid(&'a str),
}

/// A connection's credentials for one call.
pub struct Creds<'a> {
    pub phone_number_id: &'a str,
    pub access_token: &'a SecretString,
}

/// A failed Graph call.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Meta answered with an error: the request was refused, nothing was sent.
    #[error("Graph API error {code} (HTTP {http}): {message}")]
    Api { http: u16, code: i64, message: String },
    /// The request never reached Meta (refused connection, DNS, TLS, connect timeout).
    #[error("Graph API unreachable: {0}")]
    Unreachable(String),
    /// The request may have reached Meta but its answer did not reach us (timeout or read
    /// error after the request was written, a 2xx without the expected content).
    #[error("Graph API outcome unknown: {0}")]
    Ambiguous(String),
}

/// What the caller should do about a [`GraphError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphErrorClass {
    /// 190, 0, 10, 200–299: the token is dead; the connection needs re-authorisation.
    Reauthorize,
    /// 130429, 4, 80007: the client goes too fast (throughput, call rate); slow down and
    /// retry (no sooner than `wait`).
    RateLimited { wait: Duration },
    /// 131056: one business wrote to one customer too often; retry that message no sooner
    /// than `wait` (other messages are not held back).
    RecipientLimited { wait: Duration },
    /// 131047: the 24-hour window is closed; never retry free-form text.
    WindowClosed,
    /// 5xx, 1, 2, 131000, unreachable, ambiguous: retry with backoff (a send checks
    /// [`GraphError::is_ambiguous`] first: an ambiguous send is never simply retried).
    Retry,
    /// Anything else: a rejection retrying cannot fix.
    Reject,
}

impl GraphError {
    /// Whether Meta may have acted on the request.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, GraphError::Ambiguous(_))
    }

    pub fn class(&self) -> GraphErrorClass {
        match self {
            GraphError::Unreachable(_) | GraphError::Ambiguous(_) => GraphErrorClass::Retry,
            GraphError::Api { http, code, .. } => match *code {
                190 | 0 | 10 | 200..=299 => GraphErrorClass::Reauthorize,
                131056 => GraphErrorClass::RecipientLimited { wait: Duration::from_secs(6) },
                130429 | 4 | 80007 => GraphErrorClass::RateLimited { wait: Duration::from_secs(2) },
                131047 => GraphErrorClass::WindowClosed,
                1 | 2 | 131000 => GraphErrorClass::Retry,
                _ if *http >= 500 => GraphErrorClass::Retry,
                _ => GraphErrorClass::Reject,
            },
        }
    }
}

/// What `check` learns about a number.
#[derive(Debug, Clone, Deserialize)]
pub struct NumberInfo {
    #[serde(default)]
    pub display_phone_number: String,
    #[serde(default)]
    pub verified_name: String,
}

/// A Graph API client with its own connection pool and timeout. It also carries the send
/// policy that comes with it: how long an ambiguous send waits for Meta's status.
#[derive(Clone, Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    reconcile_after: Duration,
    /// The largest media file downloaded.
    media_max: u64,
}

impl GraphClient {
    pub fn new(config: &WhatsAppConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            // Shorter than the whole call, so a slow connect is known never to have reached Meta.
            .connect_timeout((config.timeout / 3).max(Duration::from_secs(1)))
            .user_agent("Mujibak/1.0")
            .build()
            .expect("a reqwest client with static settings builds");
        Self {
            http,
            base: format!("{}/{}", config.graph_url, config.api_version),
            reconcile_after: config.reconcile_after,
            media_max: config.media_max_bytes,
        }
    }

    /// How long a send with an unknown outcome waits for Meta's status webhook before it is
    /// sent once more (`SEND_RECONCILE_SECS`).
    pub fn reconcile_after(&self) -> Duration {
        self.reconcile_after
    }

    /// Sends a text (≤ 4096 characters) with `callback` (≤ 512 characters; our message id)
    /// as `biz_opaque_callback_data`; returns Meta's message id.
    pub async fn send_text(
        &self,
        creds: &Creds<'_>,
        to: Recipient<'_>,
        text: &str,
        callback: &str,
    ) -> Result<String, GraphError> {
        let body = json!({ "type": "text", "text": { "preview_url": false, "body": truncate(text, 4096) } });
        self.send(creds, to, body, callback).await
    }

    /// Sends the message `content` (its `type` and the part it names) to `to` with
    /// `callback` (≤ 512 characters) as `biz_opaque_callback_data`; returns Meta's message id.
    async fn send(
        &self,
        creds: &Creds<'_>,
        to: Recipient<'_>,
        mut content: Value,
        callback: &str,
    ) -> Result<String, GraphError> {
        content["messaging_product"] = json!("whatsapp");
        content["recipient_type"] = json!("individual");
        content["biz_opaque_callback_data"] = json!(truncate(callback, 512));
        match to {
            Recipient::Phone(p) => content["to"] = json!(p),
            Recipient::Bsuid(b) => content["recipient"] = json!(b),
        }
        let v = self.call(reqwest::Method::POST, creds, "messages", Some(content)).await?;
        v.pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| GraphError::Ambiguous("no message id in Graph's answer".into()))
    }

    /// Marks the customer's message read (blue ticks) and shows "typing…".
    pub async fn mark_read(&self, creds: &Creds<'_>, wamid: &str) -> Result<(), GraphError> {
        let body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": wamid,
            "typing_indicator": { "type": "text" } });
        self.call(reqwest::Method::POST, creds, "messages", Some(body)).await.map(|_| ())
    }

    /// Reads the number's details: proves the token and number id work together.
    pub async fn check(&self, creds: &Creds<'_>) -> Result<NumberInfo, GraphError> {
        let v = self.call(reqwest::Method::GET, creds, "", None).await?;
        serde_json::from_value(v).map_err(|e| GraphError::Ambiguous(format!("unexpected answer: {e}")))
    }

    /// The ids of the phone numbers the WhatsApp Business Account `waba_id` holds that the
    /// token can read (`GET /{waba_id}/phone_numbers`).
    pub async fn account_numbers(
        &self,
        waba_id: &str,
        token: &SecretString,
    ) -> Result<Vec<String>, GraphError> {
        let object = Creds { phone_number_id: waba_id, access_token: token };
        let v = self.call(reqwest::Method::GET, &object, "phone_numbers?fields=id", None).await?;
        let Some(data) = v.get("data").and_then(Value::as_array) else {
            return Err(GraphError::Ambiguous("unexpected answer: no data".into()));
        };
        Ok(data.iter().filter_map(|n| n.get("id").and_then(Value::as_str)).map(str::to_owned).collect())
    }

    /// Subscribes the token's app to the account's webhooks (`POST /{waba_id}/subscribed_apps`),
    /// which Meta requires before it delivers the account's messages to the app's callback URL.
    pub async fn subscribe_app(&self, waba_id: &str, token: &SecretString) -> Result<(), GraphError> {
        let object = Creds { phone_number_id: waba_id, access_token: token };
        let v = self.call(reqwest::Method::POST, &object, "subscribed_apps", None).await?;
        match v.get("success").and_then(Value::as_bool) {
            Some(true) => Ok(()),
            _ => Err(GraphError::Ambiguous("unexpected answer: no success".into())),
        }
    }

    /// Calls `path` under the Graph object `creds.phone_number_id` (a number, or an account).
    async fn call(
        &self,
        method: reqwest::Method,
        creds: &Creds<'_>,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, GraphError> {
        let url = match path {
            "" => format!("{}/{}", self.base, creds.phone_number_id),
            p => format!("{}/{}/{p}", self.base, creds.phone_number_id),
        };
        let mut req = self.http.request(method, url).bearer_auth(creds.access_token.expose_secret());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = match req.send().await {
            Ok(res) => res,
            Err(e) => {
                metrics::outbound_call(Provider::Meta, failed_exchange(&e));
                return Err(transport(e));
            }
        };
        let http = res.status().as_u16();
        let text = match res.text().await {
            Ok(text) => text,
            Err(e) if (200..300).contains(&http) => {
                metrics::outbound_call(Provider::Meta, failed_exchange(&e));
                return Err(transport(e));
            }
            Err(_) => String::new(), // an error status is answer enough
        };
        metrics::outbound_call(Provider::Meta, CallOutcome::from_status(http));
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&http) {
            return Ok(value);
        }
        let code =
            value.pointer("/error/code").and_then(Value::as_i64).unwrap_or(if http >= 500 { 2 } else { 100 });
        let message = value.pointer("/error/message").and_then(Value::as_str).unwrap_or("no error body");
        Err(GraphError::Api { http, code, message: truncate(message, 200).to_owned() })
    }
}

fn failed_exchange(e: &reqwest::Error) -> CallOutcome {
    if e.is_timeout() {
        CallOutcome::Timeout
    } else {
        CallOutcome::Error
    }
}

/// A failed exchange: only a failure to connect (refused, DNS, TLS, connect timeout) or to
/// build the request proves Meta never saw it.
fn transport(e: reqwest::Error) -> GraphError {
    if e.is_connect() || e.is_builder() {
        GraphError::Unreachable("connection failed".into())
    } else if e.is_timeout() {
        GraphError::Ambiguous("timed out waiting for the answer".into())
    } else {
        GraphError::Ambiguous("the exchange broke off".into())
    }
}

fn truncate(s: &str, max_chars: usize) -> &str {
    s.char_indices().nth(max_chars).map(|(i, _)| &s[..i]).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(http: u16, code: i64) -> GraphError {
        GraphError::Api { http, code, message: String::new() }
    }

    #[test]
    fn errors_are_classified_as_design_section_5_says() {
        assert_eq!(api(401, 190).class(), GraphErrorClass::Reauthorize);
        assert_eq!(api(403, 200).class(), GraphErrorClass::Reauthorize);
        assert!(matches!(api(429, 130429).class(), GraphErrorClass::RateLimited { .. }));
        assert_eq!(
            api(429, 131056).class(),
            GraphErrorClass::RecipientLimited { wait: Duration::from_secs(6) }
        );
        assert_eq!(api(400, 131047).class(), GraphErrorClass::WindowClosed);
        assert_eq!(api(503, 2).class(), GraphErrorClass::Retry);
        assert_eq!(api(500, 99).class(), GraphErrorClass::Retry, "5xx are never a re-authorisation");
        assert_eq!(GraphError::Unreachable(String::new()).class(), GraphErrorClass::Retry);
        assert_eq!(api(400, 100).class(), GraphErrorClass::Reject);
        assert!(!api(503, 2).is_ambiguous() && GraphError::Ambiguous(String::new()).is_ambiguous());
    }
}

mod media;
mod templates;

pub use media::{Downloaded, MediaError};

#[cfg(test)]
mod wire_tests;
