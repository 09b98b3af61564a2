//! Moyasar's calls to us. `/webhooks/moyasar`: a webhook event, authenticated only by the
//! `secret_token` in its JSON body (compared in constant time: wrong or missing → 401 and
//! nothing stored), whose `live` must match the configured key's mode (400 otherwise);
//! the event is kept by its id with a `billing` job in one transaction, so a redelivery
//! is answered 200 and changes nothing. `/webhooks/moyasar/invoice`: the hosted invoice's
//! `callback_url` POST, which carries no secret: it only queues a re-fetch of an invoice
//! of ours (unknown id → 404), at most one pending per invoice however often it comes,
//! and at most `limits::MOYASAR_CALLBACKS` a minute from one client. Neither trusts the
//! body: the job re-reads Moyasar. Both answer 404 when Moyasar is not configured; bodies
//! over 64 KiB are refused (413).

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Json,
};
use mujibak_core::db::payments::{self, Callback};
use mujibak_jobs::{billing::Billing, enqueue};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{error::WebError, extract::ClientIp, limits::MOYASAR_CALLBACKS, routes::Routes};
use crate::state::AppState;

/// Moyasar's events and invoice callbacks are a few KiB.
const BODY_LIMIT: usize = 64 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .route("/webhooks/moyasar", post(event))
        .route("/webhooks/moyasar/invoice", post(callback))
        .map(|r| r.layer(DefaultBodyLimit::max(BODY_LIMIT)))
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    secret_token: String,
    live: bool,
    data: Object,
}

#[derive(Deserialize)]
struct Object {
    id: String,
}

fn refused(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// An id as Moyasar writes them (UUIDs); anything else is refused before it is stored.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

async fn event(State(state): State<AppState>, body: Bytes) -> Result<Response, WebError> {
    let Some(config) = &state.config.billing.moyasar else {
        return Err(WebError::Plain(StatusCode::NOT_FOUND));
    };
    let Ok(ev) = serde_json::from_slice::<Envelope>(&body) else {
        return Ok(refused(StatusCode::BAD_REQUEST, "not a Moyasar webhook event"));
    };
    let secret = config.webhook_secret.expose_secret().as_bytes();
    if !bool::from(ev.secret_token.as_bytes().ct_eq(secret)) {
        tracing::warn!(event.kind = %ev.kind, "Moyasar webhook refused: wrong secret token");
        return Ok(refused(StatusCode::UNAUTHORIZED, "wrong secret token"));
    }
    if ev.live != config.live {
        tracing::warn!(
            event.live = ev.live,
            "Moyasar webhook refused: live/test mode differs from the key's"
        );
        return Ok(refused(StatusCode::BAD_REQUEST, "the event's mode does not match this server's key"));
    }
    if !plausible_id(&ev.id) || !plausible_id(&ev.data.id) || ev.kind.len() > 64 {
        return Ok(refused(StatusCode::BAD_REQUEST, "malformed event"));
    }
    let mut tx = state.db.begin().await?;
    let new = payments::insert_event(&mut tx, &ev.id, &ev.kind, &ev.data.id, ev.live).await?;
    if new {
        enqueue(&mut tx, &Billing::Event { event_id: ev.id.clone() }).await.map_err(anyhow::Error::from)?;
    }
    tx.commit().await?;
    tracing::info!(event.kind = %ev.kind, duplicate = !new, "Moyasar webhook event received");
    Ok(StatusCode::OK.into_response())
}

async fn callback(State(state): State<AppState>, ip: ClientIp, body: Bytes) -> Result<Response, WebError> {
    if state.config.billing.moyasar.is_none() {
        return Err(WebError::Plain(StatusCode::NOT_FOUND));
    }
    MOYASAR_CALLBACKS.check(&state, &ip.0).await?;
    let Ok(invoice) = serde_json::from_slice::<Object>(&body) else {
        return Ok(refused(StatusCode::BAD_REQUEST, "not a Moyasar invoice"));
    };
    if !plausible_id(&invoice.id) {
        return Ok(refused(StatusCode::BAD_REQUEST, "malformed invoice id"));
    }
    let mut tx = state.db.begin().await?;
    match payments::claim_refetch(&mut tx, &invoice.id).await? {
        Callback::Refetch(tenant_id, invoice_id) => {
            enqueue(&mut tx, &Billing::Refetch { tenant_id, invoice_id })
                .await
                .map_err(anyhow::Error::from)?;
        }
        Callback::Pending => {}
        Callback::Unknown => return Ok(refused(StatusCode::NOT_FOUND, "no such invoice")),
    }
    tx.commit().await?;
    Ok(StatusCode::OK.into_response())
}
