//! `GET /inbox/events`: an inbox page's Server-Sent Events stream of its business's
//! changes, from the process's hub (`live`), counted against the stream caps (`streams`).

use std::convert::Infallible;

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use futures::stream;
use tokio::sync::broadcast;

use super::{
    capacity::Slot,
    error::WebError,
    extract::CurrentUser,
    live::{Signal, KEEP_ALIVE, RETRY},
    session::SessionCtx,
    streams::{Owner, Refused},
};
use crate::state::AppState;

/// `GET /inbox/events`: the signed-in business's changes, as Server-Sent Events; starts
/// with `ready`. Refused with 429 when the business has its streams open, 503 when the
/// process's budget is spent (the page then refreshes itself without them).
pub async fn events(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Extension(session): Extension<SessionCtx>,
    slot: Option<Extension<Slot>>,
) -> Result<Response, WebError> {
    let owner = Owner { session: session.hash.clone(), user: user.user_id, tenant: user.tenant_id };
    let ticket = match state.live.streams.open(owner) {
        Ok(ticket) => ticket,
        Err(Refused::TenantFull) => return Err(WebError::RateLimited(RETRY.as_secs() * 30)),
        Err(Refused::Busy) => {
            tracing::warn!("live inbox: the process's stream budget is spent; refusing a stream");
            return Err(WebError::Plain(StatusCode::SERVICE_UNAVAILABLE));
        }
    };
    if let Some(Extension(slot)) = slot {
        slot.release();
    }
    let tenant = user.tenant_id;
    let rx = state.live.subscribe();
    let closed = state.live.closed.subscribe();
    let ready = Event::default().event("ready").retry(RETRY).data("-");
    let changes = stream::unfold((rx, closed, ticket), move |(mut rx, mut closed, mut ticket)| async move {
        loop {
            let event = tokio::select! {
                _ = closed.wait_for(|c| *c) => return None,
                _ = &mut ticket.ended => return None,
                got = rx.recv() => match got {
                    Ok(Signal::Changed { tenant: t, conversation, handoff }) if t == tenant => {
                        Event::default().event(if handoff { "handoff" } else { "change" }).data(conversation.to_string())
                    }
                    Ok(Signal::Changed { .. }) => continue,
                    Ok(Signal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        Event::default().event("resync").data("-")
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            return Some((Ok::<_, Infallible>(event), (rx, closed, ticket)));
        }
    });
    let stream = futures::StreamExt::chain(stream::once(async { Ok(ready) }), changes);
    let mut response = Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
    // The connection left the request-serving count: it ends with the stream.
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(response)
}
