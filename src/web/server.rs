//! The HTTP server every role and every test serves the router with: it accepts
//! connections up to a bound (beyond it a connection gets an immediate 503 and is closed,
//! rather than waiting unseen in the kernel's queue), serves each with hyper under a
//! header-read timeout (a client trickling its headers, or idling between requests, is
//! disconnected), gives every request its peer address (`ConnectInfo`, which rate limits
//! key on), and on shutdown stops accepting and lets open connections finish.

use std::{
    convert::Infallible,
    future::Future,
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

/// What one process serves at once, and how long a client may take to send its headers.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Open connections at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Time allowed for a request's headers, and for the next request on an idle connection.
    pub header_read_timeout: Duration,
    /// How long open connections may take to finish after shutdown begins.
    pub drain: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
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
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(limits.header_read_timeout);
    let busy_log = Arc::new(AtomicI64::new(0));
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
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refuse_busy(stream, &busy_log, limits.max_connections);
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                Ok::<_, Infallible>(app.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {}))
            }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
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
    state: crate::AppState,
    limits: ServeLimits,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let live = state.live.clone();
    let stop = async move {
        stop.await;
        live.close();
    };
    serve(listener, crate::web::router(state), limits, stop).await
}

/// Answers 503 and closes, off the accept loop; warns at most once a minute.
fn refuse_busy(mut stream: tokio::net::TcpStream, last_warned: &AtomicI64, max: usize) {
    let now = chrono::Utc::now().timestamp();
    let last = last_warned.load(Ordering::Relaxed);
    if now - last >= 60
        && last_warned.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        tracing::warn!(max_connections = max, "connection limit reached; refusing new connections with 503");
    }
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(BUSY)).await;
        let _ = stream.shutdown().await;
    });
}
