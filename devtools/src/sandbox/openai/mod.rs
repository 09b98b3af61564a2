//! A local OpenAI-compatible chat completions server (`POST /v1/chat/completions`, and
//! `POST /v1/audio/transcriptions` with image descriptions in `media`). Answers
//! deterministically and visibly simulated (`[simulated] …` / `[رد تجريبي] …`), quoting a
//! matching `Q:`/`A:` pair from the system prompt when there is one, and fails on demand with
//! OpenAI's wire errors (its API reference's error bodies). Everything lives in memory.

mod answer;
mod media;

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde_json::{json, Value};

use answer::{simulated_reply, text_of};

/// A failure to inject into the next chat completion requests (see [`OpenAiFake::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFault {
    /// HTTP 429 `rate_limit_exceeded` with `Retry-After: <secs>`.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 500 with the plain-text body `upstream exploded`.
    ServerError,
    /// Waits 120 s before answering, so the client's timeout fires first.
    Timeout,
    /// HTTP 200 with a body that is not valid JSON: the answer cut short by its last byte
    /// (a connection dropped mid-answer), so it still holds what the model said.
    Malformed,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Value>,
    faults: VecDeque<ModelFault>,
    latency: Duration,
    /// When set, each answer waits a log-normal time: (median, sigma).
    spread: Option<(Duration, f64)>,
    served: u64,
    transcriptions: u64,
    /// When set, a completion arriving while this many are already held is refused at
    /// once (429 `rate_limit_exceeded`, `Retry-After: 1`), as a provider's limit would.
    capacity: Option<usize>,
    over_capacity: u64,
    /// Each completion's last user message and the time the fake waited before answering.
    waits: Vec<(String, Duration, SystemTime)>,
    /// Every request body received, on either endpoint, before any check: what left the app.
    received: Vec<Bytes>,
}

/// A running fake OpenAI. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct OpenAiFake {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    in_flight: super::in_flight::InFlight,
}

const MISSING: &str = "missing_required_parameter";
const RATE_LIMITED: &str = "rate_limit_exceeded";

impl OpenAiFake {
    /// Listens on `addr` (port 0 picks a free one) and serves until the process ends.
    pub async fn start(addr: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let fake =
            Self { addr: listener.local_addr()?, inner: Arc::default(), in_flight: Default::default() };
        let app = fake.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "sandbox openai: server stopped");
            }
        });
        Ok(fake)
    }

    /// `http://127.0.0.1:<port>/v1`, for the OpenAI base URL setting.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every well-formed, authorised request body so far (faulted ones included), oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }

    /// Makes the next `times` requests fail with `fault`, after any faults already queued.
    pub fn fail_next(&self, fault: ModelFault, times: usize) {
        self.lock().faults.extend(std::iter::repeat_n(fault, times));
    }

    /// Injected faults not yet served.
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Every request body received so far (completions and transcriptions, refused ones
    /// included), oldest first, as the app sent it: what reached the model provider.
    pub fn received(&self) -> Vec<Bytes> {
        self.lock().received.clone()
    }

    /// Transcription requests so far (faulted ones included).
    pub fn transcriptions(&self) -> u64 {
        self.lock().transcriptions
    }

    /// Waits this long before answering each completion request.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Each completion waits a log-normal time with median `p50` and 99th percentile
    /// `p99`, as a real model's answers spread (instead of [`Self::set_latency`]).
    pub fn set_latency_spread(&self, p50: Duration, p99: Duration) {
        // The 99th percentile of a standard normal is 2.326.
        let sigma = (p99.as_secs_f64() / p50.as_secs_f64()).ln() / 2.326;
        self.lock().spread = Some((p50, sigma));
    }

    /// Refuses (429, `Retry-After: 1`) each completion that arrives while `capacity` are
    /// already being answered; `None` takes every one.
    pub fn set_capacity(&self, capacity: Option<usize>) {
        self.lock().capacity = capacity;
    }

    /// Each completion answered so far: its last user message, how long the fake waited
    /// (its latency switch) before answering, and when it arrived.
    pub fn waits(&self) -> Vec<(String, Duration, SystemTime)> {
        self.lock().waits.clone()
    }

    /// Completions refused for arriving over the capacity.
    pub fn over_capacity(&self) -> u64 {
        self.lock().over_capacity
    }

    /// The most completions the app had waiting on this model at once.
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.peak()
    }

    /// The fake's routes, with its state, for mounting in another server.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/audio/transcriptions", post(media::transcriptions))
            .route("/_sandbox/openai/fault", post(switch_fault))
            .route("/_sandbox/openai/latency", post(switch_latency))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// OpenAI's refusal of a message with a role it does not know, or content that is neither
/// a string nor an array of parts (only an assistant's tool call may carry none).
fn invalid_message(messages: &Value) -> Option<(String, &'static str)> {
    const ROLES: [&str; 6] = ["system", "developer", "user", "assistant", "tool", "function"];
    for (n, m) in messages.as_array()?.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        if !ROLES.contains(&role) {
            return Some((
                format!(
                    "Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', \
                     'function', 'tool', and 'developer'."
                ),
                "invalid_value",
            ));
        }
        let content = &m["content"];
        let tool_call = role == "assistant" && m.get("tool_calls").is_some();
        if !(content.is_string() || content.is_array() || (content.is_null() && tool_call)) {
            let got = match content {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "an object",
            };
            return Some((
                format!(
                    "Invalid type for 'messages[{n}].content': expected one of a string or array of \
                     objects, but got {got} instead."
                ),
                "invalid_type",
            ));
        }
    }
    None
}

async fn completions(State(fake): State<OpenAiFake>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = SystemTime::now();
    fake.lock().received.push(body.clone());
    let held = fake.in_flight.enter();
    let (spread, fixed) = {
        let mut inner = fake.lock();
        if inner.capacity.is_some_and(|capacity| fake.in_flight.now() > capacity) {
            inner.over_capacity += 1;
            drop((inner, held));
            let error =
                api_error(StatusCode::TOO_MANY_REQUESTS, "Rate limit reached", "requests", RATE_LIMITED);
            return ([(header::RETRY_AFTER, "1")], error).into_response();
        }
        (inner.spread, inner.latency)
    };
    let latency = match spread {
        Some((p50, sigma)) => {
            // Box-Muller: a standard normal from two uniforms.
            let (u1, u2): (f64, f64) = (1.0 - rand::random::<f64>(), rand::random());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            p50.mul_f64((sigma * z).exp())
        }
        None => fixed,
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let refuse =
        |status, message: &str, code: &str| api_error(status, message, "invalid_request_error", code);
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if authorization.strip_prefix("Bearer ").is_none_or(|token| token.trim().is_empty()) {
        return refuse(StatusCode::UNAUTHORIZED, "Missing bearer token", "invalid_api_key");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "We could not parse the JSON body of your request.",
            "invalid_json",
        );
    };
    let Some(model) = request["model"].as_str().map(str::to_owned) else {
        return refuse(StatusCode::BAD_REQUEST, "Missing required parameter: 'model'.", MISSING);
    };
    if request["messages"].as_array().is_none_or(Vec::is_empty) {
        return refuse(StatusCode::BAD_REQUEST, "Missing required parameter: 'messages'.", MISSING);
    }
    if let Some((message, code)) = invalid_message(&request["messages"]) {
        return refuse(StatusCode::BAD_REQUEST, &message, code);
    }
    let (fault, n) = {
        let mut inner = fake.lock();
        let last_user =
            request["messages"].as_array().and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
        inner.waits.push((last_user.map(|m| text_of(&m["content"])).unwrap_or_default(), latency, arrived));
        inner.requests.push(request.clone());
        inner.served += 1;
        (inner.faults.pop_front(), inner.served)
    };
    if fault.is_some() {
        tracing::info!(?fault, "sandbox openai: injected failure");
    }
    match fault {
        Some(ModelFault::RateLimited { retry_after_secs }) => {
            let error =
                api_error(StatusCode::TOO_MANY_REQUESTS, "Rate limit reached", "requests", RATE_LIMITED);
            ([(header::RETRY_AFTER, retry_after_secs.to_string())], error).into_response()
        }
        Some(ModelFault::ServerError) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
        }
        Some(ModelFault::Malformed) => {
            let whole = completion(n, &model, &request).to_string();
            ([(header::CONTENT_TYPE, "application/json")], whole[..whole.len() - 1].to_owned())
                .into_response()
        }
        Some(ModelFault::Timeout) => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Json(completion(n, &model, &request)).into_response()
        }
        None => Json(completion(n, &model, &request)).into_response(),
    }
}

/// OpenAI's error body: `{"error":{"message":…,"type":…,"param":null,"code":…}}`.
fn api_error(status: StatusCode, message: &str, kind: &str, code: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": kind, "param": null, "code": code } });
    (status, Json(body)).into_response()
}

fn completion(n: u64, model: &str, request: &Value) -> Value {
    let content = media::description(request).unwrap_or_else(|| simulated_reply(request));
    let messages = request["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let prompt_tokens: usize = messages.iter().map(|m| 4 + approx_tokens(&text_of(&m["content"]))).sum();
    let completion_tokens = approx_tokens(&content);
    let created = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    json!({
        "id": format!("chatcmpl-sandbox-{n}"), "object": "chat.completion",
        "created": u32::try_from(created).unwrap_or(u32::MAX), "model": model,
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content },
            "finish_reason": "stop" }],
        "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens },
    })
}

/// About four characters a token, like OpenAI's rule of thumb.
fn approx_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// The simulated answer for a chat completion request body.
/// `{"fault":"rate_limited|server_error|timeout|malformed","times":N,"retry_after_secs":N}`.
async fn switch_fault(State(fake): State<OpenAiFake>, Json(switch): Json<Value>) -> StatusCode {
    let fault = match switch["fault"].as_str() {
        Some("rate_limited") => {
            ModelFault::RateLimited { retry_after_secs: switch["retry_after_secs"].as_u64().unwrap_or(1) }
        }
        Some("server_error") => ModelFault::ServerError,
        Some("timeout") => ModelFault::Timeout,
        Some("malformed") => ModelFault::Malformed,
        _ => return StatusCode::BAD_REQUEST,
    };
    fake.fail_next(fault, switch["times"].as_u64().unwrap_or(1) as usize);
    StatusCode::NO_CONTENT
}

/// `{"ms":N}`.
async fn switch_latency(State(fake): State<OpenAiFake>, Json(switch): Json<Value>) -> StatusCode {
    let Some(ms) = switch["ms"].as_u64() else { return StatusCode::BAD_REQUEST };
    fake.set_latency(Duration::from_millis(ms));
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::{answer::*, *};

    const FAQ: &str = "You answer for Al Noor Bakery.\n\
        Q: What are your opening hours?\nA: We open 7am to 11pm.\n\
        Q: Do you deliver to Riyadh?\nA: Yes, delivery across Riyadh.\nA: Free above 100 SAR.\n\
        س: متى تفتحون؟\nج: نفتح من ٧ صباحًا حتى ١١ مساءً.\n\
        - س: هل يوجد توصيل للرياض؟\n- ج: نعم، نوصّل لكل أحياء الرياض.";

    #[test]
    fn english_question_gets_the_english_faq_answer() {
        assert_eq!(reply(FAQ, "hi, what are the opening hours today?"), "[simulated] We open 7am to 11pm.");
        assert_eq!(
            reply(FAQ, "Do you DELIVER?"),
            "[simulated] Yes, delivery across Riyadh.\nFree above 100 SAR."
        );
    }

    #[test]
    fn arabic_question_gets_the_arabic_faq_answer() {
        assert_eq!(reply(FAQ, "السلام عليكم، متى تفتحون؟"), "[رد تجريبي] نفتح من ٧ صباحًا حتى ١١ مساءً.");
        // Diacritics and the definite article do not stop a match.
        assert_eq!(reply(FAQ, "في توصيلٌ الى الرياض"), "[رد تجريبي] نعم، نوصّل لكل أحياء الرياض.");
    }

    #[test]
    fn no_shared_word_gives_the_default() {
        assert_eq!(reply(FAQ, "ok"), format!("{ENGLISH_TAG}{ENGLISH_DEFAULT}"));
        assert_eq!(reply("", "مرحبا"), format!("{ARABIC_TAG}{ARABIC_DEFAULT}"));
    }

    #[test]
    fn the_system_prompt_picks_the_language() {
        assert!(replies_in_arabic("Reply in Arabic.", "hello"));
        assert!(!replies_in_arabic("Reply in English.", "مرحبا"));
        assert!(replies_in_arabic("Reply in the customer's language.", "مرحبا"));
        assert!(!replies_in_arabic("Reply in the customer's language.", "hello"));
        assert_eq!(
            reply(&format!("{FAQ}\nReply in English."), "متى تفتحون"),
            "[simulated] نفتح من ٧ صباحًا حتى ١١ مساءً."
        );
    }

    #[test]
    fn reads_content_parts_and_every_system_message() {
        let request = json!({ "model": "gpt-4o-mini", "messages": [
            { "role": "system", "content": "You answer for Al Noor Bakery." },
            { "role": "system", "content": [
                { "type": "text", "text": "Q: Is there parking?\nA: Yes, behind the shop." },
            ] },
            { "role": "user", "content": "مرحبا" },
            { "role": "assistant", "content": "[رد تجريبي] أهلًا" },
            { "role": "user", "content": [
                { "type": "image_url", "image_url": { "url": "https://example.test/a.png" } },
                { "type": "text", "text": "is there any parking?" },
            ] },
        ]});
        assert_eq!(simulated_reply(&request), "[simulated] Yes, behind the shop.");
        let answer = completion(7, "gpt-4o-mini", &request);
        assert_eq!(answer["id"], "chatcmpl-sandbox-7");
        assert_eq!(answer["choices"][0]["message"]["content"], "[simulated] Yes, behind the shop.");
        let usage = &answer["usage"];
        assert_eq!(usage["total_tokens"], usage["prompt_tokens"].as_u64().unwrap() + 9);
    }
}
