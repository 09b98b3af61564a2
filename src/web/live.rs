//! The live inbox. The database's triggers record every change an inbox shows in
//! `inbox_news`, in the writer's transaction; every web process takes the committed
//! changes in batches ([`NEWS_PAUSE`] apart while none come) and announces them on the
//! `inbox` channel as "<tenant> <conversation>[ handoff]" (`db::inbox_news`: a NOTIFY in
//! the writer's transaction would serialise every writer's commit). Each web process
//! holds one LISTEN connection (a pool of its own, so it never takes a request's
//! connection) on that channel.
//! Each signed-in inbox page keeps a Server-Sent Events stream (`/inbox/events`, served by
//! `inbox_events`) that
//! gets the changes of its own business only: `change` or `handoff` with the
//! conversation's id, and `resync` when this process may have missed some (its LISTEN
//! connection was lost, or the page fell behind). Since every process listens to the
//! database, a change made through any web or worker process reaches every page.
//!
//! On shutdown every stream ends, so a deploy does not wait for open pages to close; the
//! browser reconnects (to the new process) after [`RETRY`].
//!
//! Streams are counted (`streams`): each session, user and business keeps a few, the
//! process a budget of them, and an open stream frees its connection's place among those
//! that serve requests (`capacity::Slot`), ending its connection with it. Every
//! [`ACCESS_CHECK`] the hub asks the database which of its streams' sessions may still use
//! the app and ends the others: a signed-out session, a removed member, a suspended or
//! deleting business (a sign-out on this process ends its streams at once).

use std::{
    collections::HashSet,
    sync::{Arc, OnceLock},
    time::Duration,
};

use mujibak_core::{
    db::{
        inbox_news::{self, CHANNEL},
        sessions,
    },
    domain::{ConversationId, TenantId},
};
use sqlx::{
    postgres::{PgListener, PgPoolOptions},
    PgPool,
};
use tokio::sync::{broadcast, watch};

use super::streams::Streams;

/// The pause between looks for inbox changes when the last look found none.
pub const NEWS_PAUSE: Duration = Duration::from_millis(100);
/// Changes announced per statement at most.
const NEWS_BATCH: i64 = 5_000;
/// How long a browser waits before reconnecting a stream that ended.
pub const RETRY: Duration = Duration::from_secs(2);
/// A comment line this often keeps proxies (Heroku's router closes idle connections after
/// 55 s) from closing an open page's stream.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often the hub asks whether its streams' sessions may still use the app.
pub const ACCESS_CHECK: Duration = Duration::from_secs(5);

/// What a page is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// Something in a conversation changed; `handoff` when it now needs a person.
    Changed { tenant: TenantId, conversation: ConversationId, handoff: bool },
    /// Changes may have been missed: re-read everything shown.
    Resync,
}

/// The process's hub: one listener, many pages.
#[derive(Clone)]
pub struct Live {
    pool: PgPool,
    tx: broadcast::Sender<Signal>,
    pub(super) closed: Arc<watch::Sender<bool>>,
    started: Arc<OnceLock<()>>,
    /// The open streams.
    pub streams: Streams,
    /// A session unused this long has ended (`SESSION_IDLE_MINUTES`).
    idle: Duration,
}

impl Live {
    /// A hub for `pool`'s database holding at most `max_streams` streams, whose sessions
    /// end after `idle`; it listens from the first page that subscribes.
    pub fn new(pool: &PgPool, max_streams: usize, idle: Duration) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            pool: pool.clone(),
            tx,
            closed: Arc::new(watch::channel(false).0),
            started: Arc::default(),
            streams: Streams::new(max_streams),
            idle,
        }
    }

    /// Starts announcing the database's inbox changes (until [`Live::close`]); must be
    /// called inside the Tokio runtime.
    pub fn announce_news(&self) {
        tokio::spawn(announce_news(self.pool.clone(), self.closed.subscribe()));
    }

    /// Ends every stream (shutdown) and stops listening.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Signal> {
        let rx = self.tx.subscribe();
        self.started.get_or_init(|| {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_lazy_with((*self.pool.connect_options()).clone());
            tokio::spawn(listen(pool, self.tx.clone(), self.closed.subscribe()));
            tokio::spawn(check_access(
                self.pool.clone(),
                self.streams.clone(),
                self.idle,
                self.closed.subscribe(),
            ));
        });
        rx
    }
}

/// Every [`ACCESS_CHECK`], ends the streams whose session may no longer use the app (one
/// query for all of them; a failed query ends nothing and is tried again).
async fn check_access(pool: PgPool, streams: Streams, idle: Duration, mut closed: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = closed.wait_for(|c| *c) => return,
            () = tokio::time::sleep(ACCESS_CHECK) => {}
        }
        let asked = streams.sessions();
        if asked.is_empty() {
            continue;
        }
        match sessions::still_allowed(&pool, &asked, idle.as_secs() as i64).await {
            Ok(allowed) => {
                let allowed: HashSet<Vec<u8>> = allowed.into_iter().collect();
                let ended = streams.keep_sessions(&asked, &allowed);
                if ended > 0 {
                    tracing::info!(ended, "live inbox: streams of ended sessions closed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "live inbox: checking the streams' sessions failed"),
        }
    }
}

/// Announces committed inbox changes until the hub closes: at once again after a full
/// batch, after a few milliseconds when some came (they come in bursts: one batch for the
/// rest of it), after [`NEWS_PAUSE`] when none did, after a second when the database
/// could not be asked.
async fn announce_news(pool: PgPool, mut closed: watch::Receiver<bool>) {
    loop {
        let pause = match inbox_news::announce(&pool, NEWS_BATCH).await {
            Ok(n) if n >= NEWS_BATCH => Duration::ZERO,
            Ok(0) => NEWS_PAUSE,
            Ok(_) => Duration::from_millis(10),
            Err(e) => {
                tracing::warn!(error = %e, "live inbox: announcing changes failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = closed.wait_for(|c| *c) => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// `<tenant> <conversation>[ handoff]`, as `db::inbox_news` writes it.
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

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn the_triggers_payload_is_read_and_anything_else_ignored() {
        let (t, c) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            parse(&format!("{t} {c} handoff")),
            Some(Signal::Changed { tenant: TenantId(t), conversation: ConversationId(c), handoff: true })
        );
        assert_eq!(
            parse(&format!("{t} {c}")),
            Some(Signal::Changed { tenant: TenantId(t), conversation: ConversationId(c), handoff: false })
        );
        assert_eq!(parse("not ids"), None);
        assert_eq!(parse(&t.to_string()), None);
    }
}
