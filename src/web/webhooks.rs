//! `/webhooks/whatsapp/{key}`: Meta's subscription handshake (GET) and deliveries (POST).
//! The key in the URL picks the connection (404 if none), whose app secret must sign the
//! raw body (401 and nothing stored otherwise). A signed delivery is stored, one row per
//! message or status keyed by Meta's id, and its job enqueued, in one transaction; then
//! 200. Processed by `handle_inbound`: messages, statuses, echoes from the WhatsApp
//! Business app, account updates, marketing preferences. Recorded and never processed
//! (also answered 200, so Meta stops retrying): the fields Mujibak only records
//! (`recorded`, one info line naming the field), a signed but unreadable delivery
//! (`unprocessable`), webhook-level errors (`webhook_error`), fields Mujibak does not know
//! (`ignored`), and events naming another number or business account than the
//! connection's (`misfiled`); each with a warning naming only the field and code. NUL
//! characters are stripped; deliveries up to 4 MiB are accepted.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use mujibak_core::{
    connections,
    db::{
        connections as db_connections,
        inbound_events::{self, NewEvent},
    },
    domain::whatsapp::{parse_delivery, signature_valid},
};
use mujibak_jobs::{enqueue, handle_inbound::HandleInbound};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{routes::Routes, WebError};
use crate::state::AppState;

/// Largest webhook delivery accepted: Meta batches, and answers a 413 by retrying the
/// same delivery for days. The rest of the app keeps [`super::BODY_LIMIT`].
pub const WEBHOOK_BODY_LIMIT: usize = 4 * 1024 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .route("/webhooks/whatsapp/{key}", get(handshake).post(receive))
        .map(|r| r.layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT)))
}

/// The connection a URL key names. A key is base64url (`auth::new_token`): anything else
/// names none, without asking the database.
async fn connection(state: &AppState, key: &str) -> Result<db_connections::Connection, WebError> {
    if !mujibak_core::auth::well_formed(key) {
        return Err(WebError::Plain(StatusCode::NOT_FOUND));
    }
    db_connections::by_webhook_key(&state.db, key).await?.ok_or(WebError::Plain(StatusCode::NOT_FOUND))
}

async fn handshake(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let conn = connection(&state, &key).await?;
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let subscribe = q.get("hub.mode").map(String::as_str) == Some("subscribe");
    if subscribe && bool::from(token.as_bytes().ct_eq(conn.verify_token.as_bytes())) {
        Ok((StatusCode::OK, q.get("hub.challenge").cloned().unwrap_or_default()).into_response())
    } else {
        tracing::warn!(tenant.id = %conn.tenant_id, "webhook handshake refused: wrong verify token");
        Err(WebError::Plain(StatusCode::FORBIDDEN))
    }
}

async fn receive(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let conn = connection(&state, &key).await?;
    let secret = connections::app_secret(state.keyring()?, &conn).map_err(anyhow::Error::from)?;
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signature_valid(secret.expose_secret(), &body, signature) {
        tracing::warn!(tenant.id = %conn.tenant_id, "webhook refused: bad or missing signature");
        return Err(WebError::Plain(StatusCode::UNAUTHORIZED));
    }
    let tenant = conn.tenant_id;
    let mut tx = state.db.begin().await?;
    match parse_delivery(&body) {
        Err(e) => {
            let key = format!("unprocessable:{}", hex::encode(Sha256::digest(&body)));
            let raw = String::from_utf8_lossy(&body).replace('\0', "");
            let payload = json!({ "error": e.0, "raw": raw });
            let event = NewEvent {
                connection_id: conn.connection_id,
                dedupe_key: &key,
                kind: "unprocessable",
                payload: &payload,
                recorded: Some(&e.0),
            };
            inbound_events::insert(&mut tx, tenant, &event).await?;
            tracing::warn!(tenant.id = %tenant, error = %e, "signed webhook delivery could not be read; kept for staff");
        }
        Ok(events) => {
            let mut fresh = Vec::new();
            for event in &events {
                let payload = serde_json::to_value(event).map_err(anyhow::Error::from)?;
                let misfiled = event.phone_number_id().is_some_and(|n| n != conn.phone_number_id)
                    || event.waba_id().is_some_and(|w| w != conn.waba_id);
                let (kind, key, recorded) = if misfiled {
                    let key = format!("misfiled:{}", event.dedupe_key());
                    (
                        "misfiled",
                        key,
                        Some("the event names another number or business account than this connection's"),
                    )
                } else if event.kind() == "recorded" {
                    (event.kind(), event.dedupe_key(), Some("recorded"))
                } else if event.recorded().is_some() {
                    (event.kind(), event.dedupe_key(), Some("recorded for staff; not handled"))
                } else {
                    (event.kind(), event.dedupe_key(), None)
                };
                let new = NewEvent {
                    connection_id: conn.connection_id,
                    dedupe_key: &key,
                    kind,
                    payload: &payload,
                    recorded,
                };
                let stored = inbound_events::insert(&mut tx, tenant, &new).await?;
                match (misfiled, event.recorded()) {
                    _ if stored.is_none() => {} // a redelivery: already recorded
                    (true, _) => {
                        tracing::warn!(tenant.id = %tenant, kind = event.kind(), "webhook event for another number; recorded as misfiled")
                    }
                    (false, Some(r)) if event.kind() == "recorded" => {
                        tracing::info!(tenant.id = %tenant, field = %r.field, "webhook field recorded")
                    }
                    (false, Some(r)) => {
                        tracing::warn!(tenant.id = %tenant, field = %r.field, code = ?r.code, "webhook {} recorded for staff", event.kind())
                    }
                    (false, None) => fresh.extend(stored),
                }
            }
            if !fresh.is_empty() {
                enqueue(&mut tx, &HandleInbound { tenant_id: tenant, event_ids: fresh }).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(StatusCode::OK.into_response())
}
