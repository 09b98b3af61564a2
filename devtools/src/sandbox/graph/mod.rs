//! A local Meta Graph API (WhatsApp Cloud API) for the numbers a test or `scripts/dev`
//! registers: message sends, mark-as-read, the phone-number lookup, Graph's exact error
//! bodies and network faults (slow, timing out, accepting then hanging, answering without
//! an id) on demand, and signed `statuses` webhooks posted back the way Meta does, echoing
//! `biz_opaque_callback_data`. `GET /_sandbox/graph/sends` lists every accepted send so
//! another process (the chaos run, the benchmark) can count sends per callback data;
//! `POST /_sandbox/graph/numbers` creates a number as Meta's dashboard would (how `mujibak
//! dev` gives each business its own sandbox number, and, given the webhook URL and verify
//! token, runs Meta's webhook handshake against it). A number's WhatsApp Business Account
//! (`account`) lists it and takes app subscriptions, and has a few message templates
//! (`templates`), checked on a template send as Meta checks them. Customers' files
//! (`media`) are served as Meta serves them, failing on demand. Owns
//! only Meta's side of the wire formats (the Cloud API reference: signatures, sends,
//! errors, statuses); everything lives in memory.

mod account;
pub mod media;
mod routes;
mod templates;
mod wire;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    http::{header, HeaderMap},
    response::Response,
    routing::{get, post},
    Router,
};
use serde_json::Value;

use account::*;
use routes::*;
use wire::*;

/// One accepted message send, as the client made it.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub phone_number_id: String,
    /// The raw `Authorization` header value (`Bearer …`).
    pub authorization: String,
    pub body: Value,
    pub wamid: String,
    /// When the fake accepted it.
    pub at: std::time::SystemTime,
}

impl SentMessage {
    /// The send's `biz_opaque_callback_data` (Mujibak puts its message id there).
    pub fn callback(&self) -> Option<&str> {
        self.body.get("biz_opaque_callback_data").and_then(Value::as_str)
    }
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
    /// Holds the answer `ms` milliseconds without accepting the message (nothing recorded,
    /// no status), then answers 503: the client's timeout fires first.
    Timeout { ms: u64 },
    /// Accepts the message (recorded, statuses posted), then holds the answer `ms`
    /// milliseconds before answering normally: Meta has it, the client may never learn it.
    AcceptThenHang { ms: u64 },
    /// Accepts the message (recorded, statuses posted) but answers 200 without
    /// `messages[0].id`.
    NoId,
}

struct Number {
    token: String,
    webhook_url: Option<String>,
    app_secret: Option<String>,
    /// The account holding the number; `None`: whichever account is asked (most tests).
    waba_id: Option<String>,
    /// Whether the token has `whatsapp_business_management` (reads and subscribes accounts).
    manages: bool,
}

#[derive(Default)]
struct Inner {
    numbers: HashMap<String, Number>,
    sends: Vec<SentMessage>,
    read_receipts: Vec<Value>,
    faults: VecDeque<GraphFault>,
    latency: Duration,
    statuses_off: bool,
    /// Accounts whose webhooks an app subscribed to.
    subscribed: HashSet<String>,
    /// Customers' files, by media id.
    media: HashMap<String, media::FakeMedia>,
    media_faults: VecDeque<media::MediaFault>,
    media_downloads: usize,
    media_latency: Duration,
}

/// A running fake Graph API. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct GraphFake {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
    in_flight: super::in_flight::InFlight,
}

impl GraphFake {
    /// Listens on `addr` (port 0 picks a free one) and serves until the process ends.
    pub async fn start(addr: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        let fake =
            Self { addr: listener.local_addr()?, inner: Arc::default(), http, in_flight: Default::default() };
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
        let number =
            Number { token: access_token.to_owned(), webhook_url, app_secret, waba_id: None, manages: true };
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

    /// Injected faults not yet served.
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
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
            .route("/_sandbox/graph/numbers", post(add_number))
            .route("/_sandbox/graph/sends", get(list_sends))
            .route("/_sandbox/graph/media", post(media::add))
            .route("/_media/{media_id}", get(media::download))
            .route("/{version}/{phone_number_id}", get(phone_number))
            .route("/{version}/{phone_number_id}/messages", post(messages))
            .route("/{version}/{phone_number_id}/phone_numbers", get(account_numbers))
            .route("/{version}/{phone_number_id}/subscribed_apps", post(subscribe_app))
            .route("/{version}/{phone_number_id}/message_templates", get(templates::list))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn delay(&self) {
        let _held = self.in_flight.enter();
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// The most requests the app had waiting on this Graph API at once.
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.peak()
    }

    /// The `Authorization` header if `id` is registered and the header carries its token.
    fn authorize(&self, id: &str, headers: &HeaderMap) -> Result<String, Box<Response>> {
        let inner = self.lock();
        let Some(number) = inner.numbers.get(id) else {
            return Err(Box::new(unknown_object(id)));
        };
        let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if authorization.strip_prefix("Bearer ") != Some(number.token.as_str()) {
            return Err(Box::new(invalid_token()));
        }
        Ok(authorization.to_owned())
    }

    /// Posts the status webhooks for an accepted send, in order, in the background, echoing
    /// the send's callback data.
    fn spawn_statuses(&self, sent: &SentMessage, recipient: String, window_closed: bool) {
        let (phone_number_id, wamid) = (sent.phone_number_id.clone(), sent.wamid.clone());
        let callback = sent.callback().map(str::to_owned);
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
                let envelope =
                    status_envelope(&phone_number_id, &wamid, &recipient, status, callback.as_deref());
                deliver(&http, &url, &secret, &envelope, status).await;
            }
        });
    }
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
