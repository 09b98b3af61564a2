//! The fake's WhatsApp Business Accounts: `GET /{waba_id}/phone_numbers` and `POST
//! /{waba_id}/subscribed_apps` as Meta answers them (a token reads the accounts of the
//! numbers it was issued for; without `whatsapp_business_management` it gets error 200),
//! and Meta's webhook handshake (`GET callback?hub.mode=subscribe&hub.challenge=…`), run
//! when a number is registered with its webhook URL and verify token.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::{wire::*, GraphFake};

type Fake = State<GraphFake>;

impl GraphFake {
    /// Puts the number in the account `waba_id`; `manages: false` issues its token without
    /// `whatsapp_business_management`, as a system user given only the messaging permission.
    pub fn place_number(&self, phone_number_id: &str, waba_id: &str, manages: bool) {
        if let Some(number) = self.lock().numbers.get_mut(phone_number_id) {
            number.waba_id = Some(waba_id.to_owned());
            number.manages = manages;
        }
    }

    /// Whether an app subscribed to the account's webhooks.
    pub fn subscribed(&self, waba_id: &str) -> bool {
        self.lock().subscribed.contains(waba_id)
    }

    /// The ids of the numbers of `waba_id` the bearer token was issued for, or Graph's error.
    pub(super) fn account(&self, waba_id: &str, headers: &HeaderMap) -> Result<Vec<String>, Box<Response>> {
        let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let token = authorization.strip_prefix("Bearer ").unwrap_or("");
        let inner = self.lock();
        let own: Vec<_> = inner.numbers.iter().filter(|(_, n)| n.token == token).collect();
        if own.is_empty() {
            return Err(Box::new(invalid_token()));
        }
        if own.iter().any(|(_, n)| !n.manages) {
            let message = "Permissions error";
            return Err(Box::new(graph_error(StatusCode::FORBIDDEN, 200, None, message, message)));
        }
        let known = inner.numbers.values().any(|n| n.waba_id.as_deref() == Some(waba_id));
        let listed: Vec<String> = own
            .iter()
            .filter(|(_, n)| n.waba_id.as_deref().is_none_or(|w| w == waba_id))
            .map(|(id, _)| id.to_string())
            .collect();
        if listed.is_empty() && !known {
            return Err(Box::new(unknown_object(waba_id)));
        }
        Ok(listed)
    }
}

/// `GET /{version}/{waba_id}/phone_numbers`: `{"data":[{"id":…}],"paging":…}`.
pub(super) async fn account_numbers(
    State(fake): Fake,
    Path((_, waba)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    fake.delay().await;
    match fake.account(&waba, &headers) {
        Ok(ids) => {
            let data: Vec<_> = ids
                .iter()
                .map(|id| json!({ "id": id, "display_phone_number": DISPLAY_NUMBER, "verified_name": "Sandbox Business" }))
                .collect();
            Json(json!({ "data": data, "paging": { "cursors": { "before": "QVFI", "after": "QVFI" } } }))
                .into_response()
        }
        Err(response) => *response,
    }
}

/// `POST /{version}/{waba_id}/subscribed_apps`: `{"success":true}`.
pub(super) async fn subscribe_app(
    State(fake): Fake,
    Path((_, waba)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    fake.delay().await;
    if let Err(response) = fake.account(&waba, &headers) {
        return *response;
    }
    fake.lock().subscribed.insert(waba);
    tracing::info!("sandbox graph: an app subscribed to a business account's webhooks");
    Json(json!({ "success": true })).into_response()
}

/// Meta's handshake: GET the callback URL with the verify token; true if it echoed the challenge.
pub(super) async fn handshake(http: &reqwest::Client, webhook_url: &str, verify_token: &str) -> bool {
    let challenge = new_id("");
    let query =
        [("hub.mode", "subscribe"), ("hub.verify_token", verify_token), ("hub.challenge", &challenge)];
    let echoed = match http.get(webhook_url).query(&query).send().await {
        Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|body| body == challenge),
        _ => false,
    };
    tracing::info!(echoed, "sandbox graph: webhook handshake");
    echoed
}
