//! `/webhooks/whatsapp/{key}`: Meta's subscription handshake (GET; a passed one is recorded
//! for the settings page's setup checklist) and deliveries (POST).
//! The key in the URL picks the connection (404 if none), whose app secret must sign the
//! raw body (401 and nothing stored otherwise); connections are cached for a few seconds
//! (`connection_cache`). A signed delivery is stored, one row per message or status keyed
//! by Meta's id, and its job enqueued, in one statement; then 200 (the job is announced
//! to the workers once committed: `mujibak_queue::announce`). Statuses are applied
//! in the same transaction (stored as processed; should applying fail, the delivery is
//! stored for the job instead). Processed by `handle_inbound`: messages, echoes from the WhatsApp
//! Business app, account updates, marketing preferences. Recorded and never processed
//! (also answered 200, so Meta stops retrying): the fields Mujibak only records
//! (`recorded`, one info line naming the field), a signed but unreadable delivery
//! (`unprocessable`), webhook-level errors (`webhook_error`), fields Mujibak does not know
//! (`ignored`), and events naming another number or business account than the
//! connection's (`misfiled`); each with a warning naming only the field and code. NUL
//! characters are stripped. The key is checked before a byte of the body is read: an
//! unknown key is answered 404 at once with the connection closed; a known one's body is
//! read under `webhook_body`'s bounds (4 MiB, 5 s, the process's bytes in flight). Every
//! POST is counted by outcome, with the time it took to answer
//! (`metrics::webhook_delivery`).

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use mujibak_core::{
    connections,
    db::{
        connections as db_connections,
        deliveries::{self, DeliveryJob, EventRow},
        inbound_events::{self, NewEvent},
    },
    delivery,
    domain::whatsapp::{parse_delivery, signature_valid, Event, ParseError},
    metrics::{self, WebhookOutcome},
};
use mujibak_jobs::{enqueue, handle_inbound::HandleInbound, Job};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{error::WebError, routes::Routes, webhook_body};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().route("/webhooks/whatsapp/{key}", get(handshake).post(receive))
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
    let expected = connections::verify_token(state.keyring()?, &conn).map_err(anyhow::Error::from)?;
    if subscribe && bool::from(token.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
        db_connections::mark_webhook_verified(&state.db, conn.tenant_id, conn.connection_id).await?;
        tracing::info!(tenant.id = %conn.tenant_id, "webhook verified by Meta");
        Ok((StatusCode::OK, q.get("hub.challenge").cloned().unwrap_or_default()).into_response())
    } else {
        tracing::warn!(tenant.id = %conn.tenant_id, "webhook handshake refused: wrong verify token");
        Err(WebError::Plain(StatusCode::FORBIDDEN))
    }
}

async fn receive(State(state): State<AppState>, Path(key): Path<String>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (outcome, response) = accept(&state, &key, request).await;
    metrics::webhook_delivery(outcome, started.elapsed());
    response
}

/// Looks the key up, then reads, verifies and stores the delivery: what became of it, and
/// the answer.
async fn accept(state: &AppState, key: &str, request: Request) -> (WebhookOutcome, Response) {
    let known = match mujibak_core::auth::well_formed(key) {
        true => state.connections.get(&state.db, key).await,
        false => Ok(None),
    };
    let conn = match known {
        Ok(Some(conn)) => conn,
        Ok(None) => {
            return (WebhookOutcome::UnknownConnection, webhook_body::refusal(StatusCode::NOT_FOUND));
        }
        Err(e) => return (WebhookOutcome::Error, WebError::from(e).into_response()),
    };
    let (parts, body) = request.into_parts();
    let read = match webhook_body::read(&state.webhook_bytes, &parts.headers, body).await {
        Ok(read) => read,
        Err(status) => {
            tracing::warn!(tenant.id = %conn.tenant_id, status = status.as_u16(), "webhook body refused");
            return (WebhookOutcome::Refused, webhook_body::refusal(status));
        }
    };
    match ingest(state, &conn, &parts.headers, &read.bytes).await {
        Ok(outcome) => (outcome, StatusCode::OK.into_response()),
        Err(e @ WebError::Plain(StatusCode::UNAUTHORIZED)) => {
            (WebhookOutcome::BadSignature, e.into_response())
        }
        Err(e) => (WebhookOutcome::Error, e.into_response()),
    }
}

/// Verifies and stores one delivery for `conn`; what became of it.
async fn ingest(
    state: &AppState,
    conn: &db_connections::Connection,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<WebhookOutcome, WebError> {
    let secret = connections::app_secret(state.keyring()?, conn).map_err(anyhow::Error::from)?;
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signature_valid(secret.expose_secret(), body, signature) {
        tracing::warn!(tenant.id = %conn.tenant_id, "webhook refused: bad or missing signature");
        return Err(WebError::Plain(StatusCode::UNAUTHORIZED));
    }
    let parsed = parse_delivery(body);
    if let Err(e) = store(state, conn, body, &parsed, true).await {
        tracing::warn!(tenant.id = %conn.tenant_id, error = %e, "applying a delivery's statuses failed; storing it for the job");
        store(state, conn, body, &parsed, false).await?;
    }
    Ok(if parsed.is_ok() { WebhookOutcome::Accepted } else { WebhookOutcome::Unprocessable })
}

/// Stores a signed delivery's events with one `handle_inbound` job for those to process,
/// in one statement (`db::deliveries`). With `apply_statuses`, each new status is left out
/// of the job and applied in the same transaction instead (one or two row updates: cheaper
/// than a job), then marked processed; the caller stores the delivery again without it if
/// that fails.
async fn store(
    state: &AppState,
    conn: &db_connections::Connection,
    body: &[u8],
    parsed: &Result<Vec<Event>, ParseError>,
    apply_statuses: bool,
) -> Result<(), WebError> {
    let tenant = conn.tenant_id;
    let events = match parsed {
        Ok(events) => events,
        Err(e) => {
            let key = format!("unprocessable:{}", hex::encode(Sha256::digest(body)));
            let raw = String::from_utf8_lossy(body).replace('\0', "");
            let payload = json!({ "error": e.0, "raw": raw });
            let event = NewEvent {
                connection_id: conn.connection_id,
                dedupe_key: &key,
                kind: "unprocessable",
                payload: &payload,
                recorded: Some(&e.0),
            };
            inbound_events::insert(&mut *state.db.acquire().await?, tenant, &event).await?;
            tracing::warn!(tenant.id = %tenant, error = %e, "signed webhook delivery could not be read; kept for staff");
            return Ok(());
        }
    };
    let mut rows = Vec::with_capacity(events.len());
    let (mut to_job, mut statuses) = (Vec::new(), Vec::new());
    for event in events {
        let misfiled = event.phone_number_id().is_some_and(|n| n != conn.phone_number_id)
            || event.waba_id().is_some_and(|w| w != conn.waba_id);
        let (kind, dedupe_key, recorded) = if misfiled {
            let note = "the event names another number or business account than this connection's";
            ("misfiled", format!("misfiled:{}", event.dedupe_key()), Some(note))
        } else if event.kind() == "recorded" {
            (event.kind(), event.dedupe_key(), Some("recorded"))
        } else if event.recorded().is_some() {
            (event.kind(), event.dedupe_key(), Some("recorded for staff; not handled"))
        } else {
            (event.kind(), event.dedupe_key(), None)
        };
        let event_id = Uuid::new_v4();
        let mut processed = false;
        match event {
            _ if recorded.is_some() => {}
            Event::Status(s) if apply_statuses => {
                statuses.push((event_id, s));
                processed = true;
            }
            _ => to_job.push(event_id),
        }
        let payload = serde_json::to_value(event).map_err(anyhow::Error::from)?;
        rows.push(EventRow { event_id, dedupe_key, kind, payload, recorded, processed });
    }
    let prepared = enqueue::prepare(&HandleInbound { tenant_id: tenant, event_ids: to_job.clone() })
        .map_err(anyhow::Error::from)?;
    let job =
        DeliveryJob { id: &prepared.id, payload: &prepared.payload, max_attempts: prepared.max_attempts };
    let mut tx = if statuses.is_empty() { None } else { Some(state.db.begin().await?) };
    let stored = match &mut tx {
        Some(tx) => {
            deliveries::store(tx, tenant, conn.connection_id, &rows, HandleInbound::QUEUE, &job, &to_job)
                .await?
        }
        None => {
            let mut db = state.db.acquire().await?;
            deliveries::store(&mut db, tenant, conn.connection_id, &rows, HandleInbound::QUEUE, &job, &to_job)
                .await?
        }
    };
    if let Some(mut tx) = tx {
        for (id, status) in statuses.into_iter().filter(|(id, _)| stored.contains(id)) {
            // Stored as processed; only a note needs writing.
            if let Some(note) = delivery::apply_status(&mut tx, tenant, id, status).await?.note() {
                inbound_events::mark_processed(&mut tx, tenant, id, Some(note)).await?;
            }
        }
        tx.commit().await?;
    }
    if to_job.iter().any(|id| stored.contains(id)) {
        mujibak_queue::announce::due(&prepared.id);
    }
    for (row, event) in rows.iter().zip(events).filter(|(row, _)| stored.contains(&row.event_id)) {
        match event.recorded() {
            _ if row.kind == "misfiled" => {
                tracing::warn!(tenant.id = %tenant, kind = event.kind(), "webhook event for another number; recorded as misfiled")
            }
            Some(r) if event.kind() == "recorded" => {
                tracing::info!(tenant.id = %tenant, field = %r.field, "webhook field recorded")
            }
            Some(r) => {
                tracing::warn!(tenant.id = %tenant, field = %r.field, code = ?r.code, "webhook {} recorded for staff", event.kind())
            }
            None => {}
        }
    }
    Ok(())
}
