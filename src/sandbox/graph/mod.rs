//! A local Meta Graph API (WhatsApp Cloud API) for the numbers a test or `scripts/dev`
//! registers: message sends, mark-as-read, the phone-number lookup, Graph's exact error
//! bodies on demand, and signed `statuses` webhooks posted back the way Meta does. Owns only
//! Meta's side of the wire formats (domain.md §1.3–1.12); everything lives in memory.

mod wire;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use wire::*;

/// One accepted message send, as the client made it.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub phone_number_id: String,
    /// The raw `Authorization` header value (`Bearer …`).
    pub authorization: String,
    pub body: Value,
    pub wamid: String,
}

/// A failure to inject into the next message sends (see [`GraphFake::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFault {
    /// HTTP 401, code 190, subcode 463: the access token expired.
    TokenExpired,
    /// HTTP 429, code 130429: the number's throughput limit.
    RateLimited,
    /// HTTP 429, code 131056: too many messages to the same customer.
    PairRateLimited,
    /// Accepted (200 + wamid), then one `failed` status webhook with code 131047.
    WindowClosed,
    /// HTTP 503, code 2: service temporarily unavailable.
    ServerError,
}

struct Number {
    token: String,
    webhook_url: Option<String>,
    app_secret: Option<String>,
}

#[derive(Default)]
struct Inner {
    numbers: HashMap<String, Number>,
    sends: Vec<SentMessage>,
    read_receipts: Vec<Value>,
    faults: VecDeque<GraphFault>,
    latency: Duration,
    statuses_off: bool,
}

/// A running fake Graph API. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct GraphFake {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

impl GraphFake {
    /// Listens on `addr` (port 0 picks a free one) and serves until the process ends.
    pub async fn start(addr: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        let fake = Self { addr: listener.local_addr()?, inner: Arc::default(), http };
        let app = fake.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "sandbox graph: server stopped");
            }
        });
        Ok(fake)
    }

    /// `http://127.0.0.1:<port>`, for the Graph base URL setting.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds (or replaces) a business number. Status webhooks need both `webhook_url` and `app_secret`.
    pub fn register_number(
        &self,
        phone_number_id: &str,
        access_token: &str,
        webhook_url: Option<String>,
        app_secret: Option<String>,
    ) {
        let number = Number { token: access_token.to_owned(), webhook_url, app_secret };
        self.lock().numbers.insert(phone_number_id.to_owned(), number);
    }

    /// Every accepted message send so far, oldest first.
    pub fn sends(&self) -> Vec<SentMessage> {
        self.lock().sends.clone()
    }

    /// The bodies of every accepted mark-as-read (`"status":"read"`) request, oldest first.
    pub fn read_receipts(&self) -> Vec<Value> {
        self.lock().read_receipts.clone()
    }

    /// Makes the next `times` message sends fail with `fault`, after any faults already queued.
    pub fn fail_next(&self, fault: GraphFault, times: usize) {
        self.lock().faults.extend(std::iter::repeat_n(fault, times));
    }

    /// Waits this long before answering each Graph API request (not the `/_sandbox` switches).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Turns the sent/delivered/read status webhooks on or off (on by default). A
    /// [`GraphFault::WindowClosed`] send still gets its `failed` status.
    pub fn set_auto_statuses(&self, on: bool) {
        self.lock().statuses_off = !on;
    }

    /// The fake's routes, with its state, for mounting in another server.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/_sandbox/graph/fault", post(switch_fault))
            .route("/_sandbox/graph/latency", post(switch_latency))
            .route("/{version}/{phone_number_id}", get(phone_number))
            .route("/{version}/{phone_number_id}/messages", post(messages))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn delay(&self) {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// The `Authorization` header if `id` is registered and the header carries its token.
    fn authorize(&self, id: &str, headers: &HeaderMap) -> Result<String, Box<Response>> {
        let inner = self.lock();
        let Some(number) = inner.numbers.get(id) else {
            let message = format!("Unsupported request. Object with ID '{id}' does not exist{UNKNOWN_ID}");
            return Err(Box::new(graph_error(
                StatusCode::BAD_REQUEST,
                100,
                Some(33),
                &message,
                "Invalid parameter",
            )));
        };
        let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if authorization.strip_prefix("Bearer ") != Some(number.token.as_str()) {
            let message = "Error validating access token: The access token is invalid or has expired";
            return Err(Box::new(graph_error(StatusCode::UNAUTHORIZED, 190, Some(463), message, message)));
        }
        Ok(authorization.to_owned())
    }

    /// Posts the status webhooks for an accepted send, in order, in the background.
    fn spawn_statuses(&self, phone_number_id: String, wamid: String, recipient: String, window_closed: bool) {
        let (hook, auto) = {
            let inner = self.lock();
            let number = inner.numbers.get(&phone_number_id);
            let hook = number.and_then(|n| Some((n.webhook_url.clone()?, n.app_secret.clone()?)));
            (hook, !inner.statuses_off)
        };
        let Some((url, secret)) = hook else { return };
        let statuses: &[&str] = match (window_closed, auto) {
            (true, _) => &["failed"],
            (false, true) => &["sent", "delivered", "read"],
            (false, false) => return,
        };
        let http = self.http.clone();
        tokio::spawn(async move {
            for status in statuses {
                tokio::time::sleep(STATUS_GAP).await;
                let envelope = status_envelope(&phone_number_id, &wamid, &recipient, status);
                deliver(&http, &url, &secret, &envelope, status).await;
            }
        });
    }
}

type Fake = State<GraphFake>;
/// The `{version}` and `{phone_number_id}` path segments.
type Ids = Path<(String, String)>;

async fn messages(State(fake): Fake, Path((_, id)): Ids, headers: HeaderMap, body: Bytes) -> Response {
    fake.delay().await;
    let authorization = match fake.authorize(&id, &headers) {
        Ok(authorization) => authorization,
        Err(response) => return *response,
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid_parameter("The request body is not valid JSON");
    };
    if body["status"] == "read" {
        if body["messaging_product"] != "whatsapp" || !body["message_id"].is_string() {
            return invalid_parameter("A read receipt needs messaging_product \"whatsapp\" and a message_id");
        }
        fake.lock().read_receipts.push(body);
        tracing::info!("sandbox graph: message marked as read");
        return Json(json!({ "success": true })).into_response();
    }
    let (input, id_key, contact_id) = match recipient_of(&body) {
        Ok(recipient) => recipient,
        Err(details) => return invalid_parameter(details),
    };
    let fault = fake.lock().faults.pop_front();
    if let Some(response) = fault.and_then(fault_response) {
        tracing::info!(?fault, "sandbox graph: injected send failure");
        return response;
    }
    let wamid = new_id("wamid.SANDBOX");
    let sent = SentMessage { phone_number_id: id.clone(), authorization, body, wamid: wamid.clone() };
    fake.lock().sends.push(sent);
    tracing::info!(%wamid, "sandbox graph: message accepted");
    fake.spawn_statuses(id, wamid.clone(), input.clone(), fault == Some(GraphFault::WindowClosed));
    let contacts = json!([{ "input": input, id_key: contact_id }]);
    Json(json!({ "messaging_product": "whatsapp", "contacts": contacts, "messages": [{ "id": wamid }] }))
        .into_response()
}

async fn phone_number(State(fake): Fake, Path((_, id)): Ids, headers: HeaderMap) -> Response {
    fake.delay().await;
    if let Err(response) = fake.authorize(&id, &headers) {
        return *response;
    }
    let number = json!({ "display_phone_number": "+966 50 000 0000", "verified_name": "Sandbox Business",
        "quality_rating": "GREEN", "id": id });
    Json(number).into_response()
}

/// `{"fault":"token_expired|rate_limited|pair_rate_limited|window_closed|server_error","times":N}`.
async fn switch_fault(State(fake): Fake, Json(switch): Json<Value>) -> StatusCode {
    let fault = match switch["fault"].as_str() {
        Some("token_expired") => GraphFault::TokenExpired,
        Some("rate_limited") => GraphFault::RateLimited,
        Some("pair_rate_limited") => GraphFault::PairRateLimited,
        Some("window_closed") => GraphFault::WindowClosed,
        Some("server_error") => GraphFault::ServerError,
        _ => return StatusCode::BAD_REQUEST,
    };
    fake.fail_next(fault, switch["times"].as_u64().unwrap_or(1) as usize);
    StatusCode::NO_CONTENT
}

/// `{"ms":N}`.
async fn switch_latency(State(fake): Fake, Json(switch): Json<Value>) -> StatusCode {
    let Some(ms) = switch["ms"].as_u64() else { return StatusCode::BAD_REQUEST };
    fake.set_latency(Duration::from_millis(ms));
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    #[test]
    fn signs_like_meta() {
        let (body, key) = (br#"{"object":"whatsapp_business_account","entry":[]}"#, "app_secret_123");
        let expected = "02fe0c96d28c59ddb7cf81eff0ca05809b360ba73b63c28210b5906a0a107d1f";
        assert_eq!(super::sign(key, body), expected);
        let expected = "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
        assert_eq!(super::sign("secret", b"test"), expected);
    }
}
