//! A local Meta Graph API (WhatsApp Cloud API) for the numbers a test or `scripts/dev`
//! registers: message sends, mark-as-read, the phone-number lookup, Graph's exact error
//! bodies on demand, and signed `statuses` webhooks posted back the way Meta does. Owns only
//! Meta's side of the wire formats (domain.md §1.3–1.12); everything lives in memory.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

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

const WABA_ID: &str = "SANDBOX-WABA";
const DISPLAY_NUMBER: &str = "966500000000";
const STATUS_GAP: Duration = Duration::from_millis(40);
const EXPIRED: &str = "Error validating access token: Session has expired";
const TOO_MANY: &str = "Message failed to send because there were too many messages sent from this phone \
    number in a short period of time";
const PAIR_LIMIT: &str = "(Business Account, Consumer Account) pair rate limit hit";
const TOO_MANY_TO_ONE: &str = "Message failed to send because there were too many messages sent from this \
    phone number to the same phone number in a short period of time";
const UNKNOWN_ID: &str = ", cannot be loaded due to missing permissions, or does not support this operation";
const UNAVAILABLE: &str = "Service temporarily unavailable";
const UNAVAILABLE_DETAILS: &str = "Service temporarily unavailable. Please retry your request later.";
const REENGAGEMENT: &str = "Message failed to send because more than 24 hours have passed since the \
    customer last replied to this number.";

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

/// `(input, "wa_id" | "user_id", contact id)` for a well-formed send, else Graph's details text.
fn recipient_of(body: &Value) -> Result<(String, &'static str, String), &'static str> {
    if body["messaging_product"] != "whatsapp" {
        return Err("The parameter messaging_product is required and must be \"whatsapp\"");
    }
    let Some(kind) = body["type"].as_str() else { return Err("The parameter type is required") };
    if body.get(kind).is_none() {
        return Err("The message body for the given type is missing");
    }
    match (body.get("to"), body.get("recipient")) {
        (Some(Value::String(to)), None) if !to.is_empty() => {
            Ok((to.clone(), "wa_id", to.chars().filter(char::is_ascii_digit).collect()))
        }
        (None, Some(Value::String(user))) if !user.is_empty() => Ok((user.clone(), "user_id", user.clone())),
        _ => Err("Exactly one of the parameters to or recipient is required"),
    }
}

fn fault_response(fault: GraphFault) -> Option<Response> {
    let (status, code, message, details) = match fault {
        GraphFault::TokenExpired => (StatusCode::UNAUTHORIZED, 190, EXPIRED, EXPIRED),
        GraphFault::RateLimited => (StatusCode::TOO_MANY_REQUESTS, 130429, "Rate limit hit", TOO_MANY),
        GraphFault::PairRateLimited => (StatusCode::TOO_MANY_REQUESTS, 131056, PAIR_LIMIT, TOO_MANY_TO_ONE),
        GraphFault::ServerError => (StatusCode::SERVICE_UNAVAILABLE, 2, UNAVAILABLE, UNAVAILABLE_DETAILS),
        GraphFault::WindowClosed => return None,
    };
    let subcode = if code == 190 { 463 } else { 2494055 };
    Some(graph_error(status, code, Some(subcode), message, details))
}

fn invalid_parameter(details: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, 100, None, "Invalid parameter", details)
}

/// Graph's error body: `{"error":{"message":"(#CODE) …","type":"OAuthException",…}}`.
fn graph_error(status: StatusCode, code: u32, subcode: Option<u32>, text: &str, details: &str) -> Response {
    let mut error = json!({ "message": format!("(#{code}) {text}"), "type": "OAuthException", "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": details },
        "fbtrace_id": new_id("ASANDBOX") });
    if let Some(subcode) = subcode {
        error["error_subcode"] = subcode.into();
    }
    (status, Json(json!({ "error": error }))).into_response()
}

fn status_envelope(phone_number_id: &str, wamid: &str, recipient: &str, status: &str) -> Value {
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().to_string();
    let mut entry =
        json!({ "id": wamid, "status": status, "timestamp": timestamp, "recipient_id": recipient });
    if status == "failed" {
        entry["errors"] = json!([{ "code": 131047, "title": "Re-engagement message",
            "message": "Re-engagement message", "error_data": { "details": REENGAGEMENT },
            "href": "/documentation/business-messaging/whatsapp/support/error-codes" }]);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": WABA_ID, "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id },
            "statuses": [entry],
        }}]}],
    })
}

async fn deliver(http: &reqwest::Client, url: &str, secret: &str, envelope: &Value, status: &str) {
    let body = envelope.to_string().into_bytes();
    let signature = format!("sha256={}", sign(secret, &body));
    let request = http.post(url).header(header::CONTENT_TYPE, "application/json");
    match request.header("X-Hub-Signature-256", signature).body(body).send().await {
        Ok(r) if r.status().is_success() => tracing::debug!(status, "sandbox graph: status webhook posted"),
        Ok(r) => tracing::warn!(status, http = %r.status(), "sandbox graph: status webhook refused"),
        Err(e) => tracing::warn!(status, error = %e, "sandbox graph: status webhook not delivered"),
    }
}

/// Lower-case hex HMAC-SHA256 of `body` keyed with the app secret, as in `X-Hub-Signature-256`.
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// `prefix` + a hex id unique within the process and unlikely to repeat across runs.
fn new_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
    format!("{prefix}{:016X}{n:06X}", nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15))
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
