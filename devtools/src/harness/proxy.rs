//! A TCP proxy that makes the outages that are not a Postgres restart. Put in front of
//! Postgres for one worker (or several), it can [`Proxy::freeze`]: stop every byte both ways
//! on every connection through it, and hold new connections unanswered, closing nothing,
//! as a partition, a stalled pooler or a hung failover does; or [`Proxy::cut`]: close
//! every connection through it and refuse new ones, as a pooler restart or refused
//! connections do. [`Proxy::restore`] lets traffic through again (held bytes first).
//! Postgres itself stays up throughout. The chaos run and the queue's partition tests use
//! it.

use std::{net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    Frozen,
    Cut,
}

/// A running proxy; it stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.mode.send_replace(Mode::Cut);
    }
}

impl Proxy {
    /// A proxy on a free loopback port forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", upstream).await
    }

    /// A proxy on `listen` forwarding to `upstream`.
    pub async fn start_on(listen: &str, upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let mode = Arc::new(watch::channel(Mode::Open).0);
        let watch = mode.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watch.borrow() == Mode::Cut {
                    continue; // refused: dropped at once
                }
                let mode = watch.subscribe();
                tokio::spawn(async move {
                    let _ = link(client, upstream, mode).await;
                });
            }
        });
        Ok(Self { addr, mode, accept })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops every byte both ways, closing nothing.
    pub fn freeze(&self) {
        self.mode.send_replace(Mode::Frozen);
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// Lets traffic through again (bytes held by a freeze first).
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Open);
    }

    /// `url` (a Postgres URL) with its host and port replaced by the proxy's.
    pub fn postgres_url(&self, url: &str) -> Result<String, url::ParseError> {
        let mut parsed = url::Url::parse(url)?;
        let _ = parsed.set_host(Some(&self.addr.ip().to_string()));
        let _ = parsed.set_port(Some(self.addr.port()));
        Ok(parsed.to_string())
    }
}

async fn link(
    client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
) -> std::io::Result<()> {
    if !open(&mut mode).await {
        return Ok(());
    }
    let server = TcpStream::connect(upstream).await?;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, mode.clone());
    let down = pump(server_read, client_write, mode);
    // A cut ends both directions; dropping the halves closes both sockets.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
    Ok(())
}

/// Copies `from` to `to`, holding each chunk while frozen; ends on a cut.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !open(&mut mode).await {
            return Ok(());
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => read?,
            _ = mode.wait_for(|m| *m == Mode::Cut) => return Ok(()),
        };
        if n == 0 {
            return to.shutdown().await;
        }
        if !open(&mut mode).await {
            return Ok(());
        }
        to.write_all(&buf[..n]).await?;
    }
}

/// Waits while frozen; `false` once cut.
async fn open(mode: &mut watch::Receiver<Mode>) -> bool {
    matches!(mode.wait_for(|m| *m != Mode::Frozen).await.map(|m| *m), Ok(Mode::Open))
}
