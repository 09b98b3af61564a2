//! The HTTP server every role and every test serves the router with: it accepts
//! connections up to a bound (beyond it a connection gets an immediate 503 and is closed,
//! rather than waiting unseen in the kernel's queue, and the clients holding the most
//! connections are logged), keeping a few places for Meta's webhooks and the health checks
//! only (`capacity::Slot`); it caps each client's connections (`capacity::Clients`: past the
//! cap, 503 and closed); it serves each connection with hyper under a header-read timeout
//! (a client trickling its headers, or idling between requests, is disconnected), gives
//! every request its peer address (`ConnectInfo`, which rate limits key on) and its
//! connection's slot (a live stream gives its place back), and on shutdown stops accepting
//! and lets open connections finish.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{body::Body, extract::ConnectInfo, http::Request, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::{io::AsyncWriteExt, net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

use super::capacity::{self, Clients, Slot};

/// What one process serves at once, and how long a client may take to send its headers.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Open connections serving requests at once, `reserved` included; one more is
    /// answered 503 and closed. (Live streams are counted apart: `streams`.)
    pub max_connections: usize,
    /// Of those, the places kept for Meta's webhooks and the health checks.
    pub reserved: usize,
    /// Open connections of one client.
    pub per_client: usize,
    /// Name clients by the last `X-Forwarded-For` hop (behind Heroku's router).
    pub trust_proxy: bool,
    /// Time allowed for a request's headers, and for the next request on an idle connection.
    pub header_read_timeout: Duration,
    /// How long open connections may take to finish after shutdown begins.
    pub drain: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            reserved: 32,
            per_client: 64,
            trust_proxy: false,
            header_read_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(20),
        }
    }
}

/// The answer to a connection beyond the bound.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 1\r\nconnection: close\r\n\r\n";

/// Serves `app` on `listener` until `stop` resolves, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let reserved = limits.reserved.min(limits.max_connections.saturating_sub(1));
    let general = Arc::new(Semaphore::new(limits.max_connections - reserved));
    let reserve = Arc::new(Semaphore::new(reserved));
    let clients = Clients::new(limits.per_client);
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(limits.header_read_timeout);
    let warned = Arc::new(Warned::default());
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let slot = match general.clone().try_acquire_owned() {
            Ok(permit) => Slot::new(permit, false),
            Err(_) => {
                warned.bound(&clients, limits.max_connections);
                match reserve.clone().try_acquire_owned() {
                    Ok(permit) => Slot::new(permit, true),
                    Err(_) => {
                        refuse_busy(stream);
                        continue;
                    }
                }
            }
        };
        let (app, clients, warned) = (app.clone(), clients.clone(), warned.clone());
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let refused = admit(&req, &slot, &clients, peer, limits.trust_proxy);
            if refused {
                warned.client(&clients);
            }
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(slot.clone());
            let app = app.clone();
            async move {
                if refused {
                    return Ok::<_, Infallible>(capacity::busy());
                }
                Ok(app.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {}))
            }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the drain period; closing them");
    }
    Ok(())
}

/// Serves the app over `state` until `stop` resolves; open inbox pages' event streams
/// (`web::live`) end at once then, so they do not hold up the drain.
pub async fn serve_app(
    listener: TcpListener,
    state: crate::state::AppState,
    limits: ServeLimits,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let live = state.live.clone();
    let limits = ServeLimits { trust_proxy: state.config.session.trust_proxy, ..limits };
    let stop = async move {
        stop.await;
        live.close();
    };
    serve(listener, crate::web::router(state), limits, stop).await
}

/// Whether `req` is refused on its connection: a reserved place serves only the webhooks
/// and probes; any request but a webhook counts the connection for its client (Meta sends
/// from few addresses, and a webhook to an unknown key is answered and closed at once).
fn admit(
    req: &Request<Incoming>,
    slot: &Slot,
    clients: &Arc<Clients>,
    peer: SocketAddr,
    trust_proxy: bool,
) -> bool {
    let path = req.uri().path();
    if slot.reserved() && !capacity::essential(path) {
        return true;
    }
    if path.starts_with("/webhooks/") {
        return false;
    }
    let client = super::extract::client_of(req.headers(), Some(peer), trust_proxy).unwrap_or_default();
    !slot.attribute(clients, &client)
}

/// When each warning was last logged (at most once a minute each).
#[derive(Default)]
struct Warned {
    bound: AtomicI64,
    client: AtomicI64,
}

impl Warned {
    fn due(last: &AtomicI64) -> bool {
        let now = chrono::Utc::now().timestamp();
        let before = last.load(Ordering::Relaxed);
        now - before >= 60 && last.compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    /// The server's bound was hit: which clients hold the most.
    fn bound(&self, clients: &Clients, max: usize) {
        if Self::due(&self.bound) {
            let top = capacity::describe(&clients.top(5));
            tracing::warn!(max_connections = max, top_clients = %top,
                "connection limit reached; only webhooks and health checks are served on new connections");
        }
    }

    /// A client hit its cap.
    fn client(&self, clients: &Clients) {
        if Self::due(&self.client) {
            let top = capacity::describe(&clients.top(5));
            tracing::warn!(top_clients = %top, "a client reached its connection cap; refusing its new connections with 503");
        }
    }
}

/// Answers 503 and closes, off the accept loop.
fn refuse_busy(mut stream: tokio::net::TcpStream) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(BUSY)).await;
        let _ = stream.shutdown().await;
    });
}
