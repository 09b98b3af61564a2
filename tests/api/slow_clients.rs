//! Slow clients: a connection that trickles its request headers is closed once the
//! header-read timeout passes, and connections beyond the bound are answered 503 at once.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{eventually, migrated, spawn_app, TestApp};

#[sqlx::test(migrations = false)]
async fn a_client_trickling_header_lines_is_disconnected(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let started = Instant::now();

    // One more header line every 4 s, until the server hangs up (or 40 s have passed).
    let mut buf = [0u8; 1024];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(4), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(_)) => continue, // an error answer before the close
            Err(_) if started.elapsed() > Duration::from_secs(40) => break false,
            Err(_) => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    break true;
                }
            }
        }
    };

    assert!(closed, "a connection trickling header lines stayed open for 40 s");
    assert!(started.elapsed() < Duration::from_secs(20), "closed only after {:?}", started.elapsed());
}

async fn healthz_on(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.unwrap().unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[sqlx::test(migrations = false)]
async fn connections_beyond_the_bound_get_503_at_once_and_a_closed_one_frees_room(pool: PgPool) {
    // Arrange: a server bounded to three connections, all three open and served.
    migrated(&pool).await;
    let limits = mujibak::web::ServeLimits { max_connections: 3, ..Default::default() };
    let addr = TestApp::new(pool).limits(limits).spawn().await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert!(healthz_on(&mut stream).await.starts_with("HTTP/1.1 200"));
        open.push(stream);
    }

    // Act + Assert: a fourth is refused at once.
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    let answer = healthz_on(&mut fourth).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after"), "{answer}");

    // Act + Assert: once one closes, a new connection is served.
    drop(open.remove(0));
    eventually(Duration::from_secs(5), "a new connection to be served", || async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        healthz_on(&mut stream).await.starts_with("HTTP/1.1 200").then_some(())
    })
    .await;
}
