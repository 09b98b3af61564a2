//! The live inbox. Each web process holds one LISTEN connection (a pool of its own, so it
//! never takes a request's connection) on the `inbox` channel, where the database's
//! triggers announce "<tenant> <conversation>[ handoff]" for every change an inbox shows.
//! Each signed-in inbox page keeps a Server-Sent Events stream (`/inbox/events`) that
//! gets the changes of its own business only: `change` or `handoff` with the
//! conversation's id, and `resync` when this process may have missed some (its LISTEN
//! connection was lost, or the page fell behind). Since every process listens to the
//! database, a change made through any web or worker process reaches every page.
//!
//! On shutdown every stream ends, so a deploy does not wait for open pages to close; the
//! browser reconnects (to the new process) after [`RETRY`].

use std::{
    convert::Infallible,
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{stream, Stream};
use mujibak_core::domain::TenantId;
use sqlx::{
    postgres::{PgListener, PgPoolOptions},
    PgPool,
};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::extract::CurrentTenant;
use crate::state::AppState;

const CHANNEL: &str = "inbox";
/// How long a browser waits before reconnecting a stream that ended.
pub const RETRY: Duration = Duration::from_secs(2);
/// A comment line this often keeps proxies (Heroku's router closes idle connections after
/// 55 s) from closing an open page's stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a page is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// Something in a conversation changed; `handoff` when it now needs a person.
    Changed { tenant: TenantId, conversation: Uuid, handoff: bool },
    /// Changes may have been missed: re-read everything shown.
    Resync,
}

/// The process's hub: one listener, many pages.
#[derive(Clone)]
pub struct Live {
    pool: PgPool,
    tx: broadcast::Sender<Signal>,
    closed: Arc<watch::Sender<bool>>,
    started: Arc<OnceLock<()>>,
}

impl Live {
    /// A hub for `pool`'s database; it listens from the first page that subscribes.
    pub fn new(pool: &PgPool) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { pool: pool.clone(), tx, closed: Arc::new(watch::channel(false).0), started: Arc::default() }
    }

    /// Ends every stream (shutdown) and stops listening.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    fn subscribe(&self) -> broadcast::Receiver<Signal> {
        let rx = self.tx.subscribe();
        self.started.get_or_init(|| {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_lazy_with((*self.pool.connect_options()).clone());
            tokio::spawn(listen(pool, self.tx.clone(), self.closed.subscribe()));
        });
        rx
    }
}

/// `<tenant> <conversation>[ handoff]`, as the triggers write it.
fn parse(payload: &str) -> Option<Signal> {
    let mut parts = payload.split(' ');
    let tenant = parts.next()?.parse::<TenantId>().ok()?;
    let conversation = parts.next()?.parse().ok()?;
    let handoff = parts.next() == Some("handoff");
    Some(Signal::Changed { tenant, conversation, handoff })
}

/// Forwards the channel's notifications until the hub closes; after a lost connection,
/// reconnects (a second between tries) and tells every page to re-read.
async fn listen(pool: PgPool, tx: broadcast::Sender<Signal>, mut closed: watch::Receiver<bool>) {
    while !*closed.borrow() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "live inbox: LISTEN failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "live inbox: cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let _ = tx.send(Signal::Resync);
        loop {
            tokio::select! {
                _ = closed.wait_for(|c| *c) => return,
                got = listener.try_recv() => match got {
                    Ok(Some(n)) => {
                        if let Some(signal) = parse(n.payload()) {
                            let _ = tx.send(signal);
                        }
                    }
                    // The connection dropped and was re-established: anything between is lost.
                    Ok(None) => {
                        let _ = tx.send(Signal::Resync);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live inbox: connection lost; reconnecting");
                        break;
                    }
                },
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `GET /inbox/events`: the signed-in business's changes, as Server-Sent Events; starts
/// with `ready`.
pub async fn events(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.live.subscribe();
    let closed = state.live.closed.subscribe();
    let ready = Event::default().event("ready").retry(RETRY).data("-");
    let changes = stream::unfold((rx, closed), move |(mut rx, mut closed)| async move {
        loop {
            let event = tokio::select! {
                _ = closed.wait_for(|c| *c) => return None,
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
            return Some((Ok(event), (rx, closed)));
        }
    });
    let stream = futures::StreamExt::chain(stream::once(async { Ok(ready) }), changes);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triggers_payload_is_read_and_anything_else_ignored() {
        let (t, c) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            parse(&format!("{t} {c} handoff")),
            Some(Signal::Changed { tenant: TenantId(t), conversation: c, handoff: true })
        );
        assert_eq!(
            parse(&format!("{t} {c}")),
            Some(Signal::Changed { tenant: TenantId(t), conversation: c, handoff: false })
        );
        assert_eq!(parse("not ids"), None);
        assert_eq!(parse(&t.to_string()), None);
    }
}
