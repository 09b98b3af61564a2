//! The fake Graph API's handlers: message sends (with the injected faults), the
//! phone-number lookup, and the `/_sandbox/graph/*` switches and send listing.

use std::time::Duration;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use super::{account::handshake, wire::*, GraphFake, GraphFault, SentMessage};

type Fake = State<GraphFake>;
/// The `{version}` and `{phone_number_id}` path segments.
type Ids = Path<(String, String)>;

pub(super) async fn messages(
    State(fake): Fake,
    Path((_, id)): Ids,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    if let Some(details) = text_refused(&body) {
        return invalid_parameter(details);
    }
    if body["type"] == "template" {
        if let Err(response) = super::templates::check(&body) {
            return *response;
        }
    }
    let fault = fake.lock().faults.pop_front();
    if let Some(response) = fault.and_then(fault_response) {
        tracing::info!(?fault, "sandbox graph: injected send failure");
        return response;
    }
    if let Some(GraphFault::Timeout { ms }) = fault {
        tracing::info!(ms, "sandbox graph: holding a send without accepting it");
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return fault_response(GraphFault::ServerError)
            .unwrap_or_else(|| StatusCode::BAD_GATEWAY.into_response());
    }
    let wamid = new_id("wamid.SANDBOX");
    let sent = SentMessage {
        phone_number_id: id,
        authorization,
        body,
        wamid: wamid.clone(),
        at: std::time::SystemTime::now(),
    };
    fake.spawn_statuses(&sent, input.clone(), fault == Some(GraphFault::WindowClosed));
    fake.lock().sends.push(sent);
    tracing::info!(%wamid, "sandbox graph: message accepted");
    let contacts = json!([{ "input": input, id_key: contact_id }]);
    match fault {
        Some(GraphFault::AcceptThenHang { ms }) => {
            tracing::info!(ms, "sandbox graph: accepted a send; holding the answer");
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Some(GraphFault::NoId) => {
            tracing::info!("sandbox graph: accepted a send; answering without its id");
            return Json(json!({ "messaging_product": "whatsapp", "contacts": contacts })).into_response();
        }
        _ => {}
    }
    Json(json!({ "messaging_product": "whatsapp", "contacts": contacts, "messages": [{ "id": wamid }] }))
        .into_response()
}

pub(super) async fn phone_number(State(fake): Fake, Path((_, id)): Ids, headers: HeaderMap) -> Response {
    fake.delay().await;
    if let Some(file) = super::media::info(&fake, &id, &headers) {
        return file;
    }
    if let Err(response) = fake.authorize(&id, &headers) {
        return *response;
    }
    let number = json!({ "display_phone_number": "+966 50 000 0000", "verified_name": "Sandbox Business",
        "quality_rating": "GREEN", "id": id });
    Json(number).into_response()
}

/// `{"fault":"token_expired|rate_limited|pair_rate_limited|window_closed|server_error|timeout|accept_then_hang|no_id","times":N,"ms":N}`
/// (`ms`: how long `timeout` and `accept_then_hang` hold the answer, default 30 000).
pub(super) async fn switch_fault(State(fake): Fake, Json(switch): Json<Value>) -> StatusCode {
    let ms = switch["ms"].as_u64().unwrap_or(30_000);
    let fault = match switch["fault"].as_str() {
        Some("token_expired") => GraphFault::TokenExpired,
        Some("rate_limited") => GraphFault::RateLimited,
        Some("pair_rate_limited") => GraphFault::PairRateLimited,
        Some("window_closed") => GraphFault::WindowClosed,
        Some("server_error") => GraphFault::ServerError,
        Some("timeout") => GraphFault::Timeout { ms },
        Some("accept_then_hang") => GraphFault::AcceptThenHang { ms },
        Some("no_id") => GraphFault::NoId,
        _ => return StatusCode::BAD_REQUEST,
    };
    fake.fail_next(fault, switch["times"].as_u64().unwrap_or(1) as usize);
    StatusCode::NO_CONTENT
}

/// `{"ms":N}`.
pub(super) async fn switch_latency(State(fake): Fake, Json(switch): Json<Value>) -> StatusCode {
    let Some(ms) = switch["ms"].as_u64() else { return StatusCode::BAD_REQUEST };
    fake.set_latency(Duration::from_millis(ms));
    StatusCode::NO_CONTENT
}

/// Every accepted send, oldest first: number, wamid, callback data and recipient (never
/// the text), so a separate process can count sends per callback data.
pub(super) async fn list_sends(State(fake): Fake) -> Json<Value> {
    let sends: Vec<Value> = fake
        .sends()
        .iter()
        .map(|s| {
            json!({ "phone_number_id": s.phone_number_id, "wamid": s.wamid, "callback": s.callback(),
                "to": s.body.get("to"), "recipient": s.body.get("recipient") })
        })
        .collect();
    Json(json!({ "sends": sends }))
}

/// Registers (or replaces) a business number, as creating one in Meta's dashboard would:
/// `{ "phone_number_id", "access_token", "webhook_url"?, "app_secret"?, "waba_id"?,
/// "verify_token"? }`. With a webhook URL and verify token, Meta's handshake runs first
/// (as when an owner pastes them into the app's webhook settings): 502 if it fails.
pub(super) async fn add_number(State(fake): Fake, Json(number): Json<Value>) -> StatusCode {
    let (Some(id), Some(token)) = (number["phone_number_id"].as_str(), number["access_token"].as_str())
    else {
        return StatusCode::BAD_REQUEST;
    };
    let text = |k: &str| number[k].as_str().map(str::to_owned);
    if let (Some(url), Some(verify_token)) = (text("webhook_url"), text("verify_token")) {
        if !handshake(&fake.http, &url, &verify_token).await {
            return StatusCode::BAD_GATEWAY;
        }
    }
    fake.register_number(id, token, text("webhook_url"), text("app_secret"));
    if let Some(waba_id) = text("waba_id") {
        fake.place_number(id, &waba_id, true);
    }
    tracing::info!("sandbox graph: a business number was registered");
    StatusCode::NO_CONTENT
}
