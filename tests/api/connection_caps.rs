//! One client cannot hold the server's connections: past its own cap its connections are
//! answered 503 and closed, and everyone else is still served. A webhook's URL key is
//! checked before its body is read (an unknown key is answered 404 at once and the
//! connection closed), webhook bytes in flight are bounded, and a stalled webhook body is
//! cut off quickly.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::PgPool;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::{
    cli::TEST_KEYS,
    helpers::{migrated, TestApp},
    pipeline::{Options, Pipeline},
};

/// A connection from `ip` (any 127.x.y.z reaches the loopback server).
async fn connect_from(addr: std::net::SocketAddr, ip: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// The start of the answer to what was written on `stream` (within `limit`).
async fn answer(stream: &mut TcpStream, limit: Duration) -> String {
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(limit, stream.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Ok(Err(_)) => String::new(),
        Err(_) => "(no answer)".into(),
    }
}

async fn healthz(stream: &mut TcpStream) -> String {
    if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.is_err() {
        return String::new();
    }
    answer(stream, Duration::from_secs(5)).await
}

#[sqlx::test(migrations = false)]
async fn one_client_holding_keep_alive_connections_cannot_fill_the_server(pool: PgPool) {
    // Arrange: the production server.
    migrated(&pool).await;
    let addr = TestApp::new(pool).vars(&[("ENCRYPTION_KEYS", TEST_KEYS)]).spawn().await;

    // Act: one client opens 520 keep-alive connections, each asking for /healthz.
    let mut held = Vec::new();
    let mut served = 0;
    for _ in 0..520 {
        let mut stream = connect_from(addr, "127.0.0.1").await;
        if healthz(&mut stream).await.starts_with("HTTP/1.1 200") {
            served += 1;
        }
        held.push(stream);
    }

    // Assert: only the client's own share was served; another client still is.
    assert!((1..=128).contains(&served), "{served} of one client's connections were served");
    let mut other = connect_from(addr, "127.0.0.2").await;
    let answer = healthz(&mut other).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[sqlx::test(migrations = false)]
async fn an_unknown_webhook_key_is_answered_before_its_body_is_read(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = TestApp::new(pool).vars(&[("ENCRYPTION_KEYS", TEST_KEYS)]).spawn().await;
    let key = "A".repeat(43);

    for path in [format!("/webhooks/whatsapp/{key}"), "/webhooks/whatsapp/nope".to_owned()] {
        // Act: the headers of a 4 MiB delivery, and only the first bytes of its body.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"object\"",
            4 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let got = answer(&mut stream, Duration::from_secs(5)).await;

        // Assert: 404 at once, and the connection is closed.
        assert!(got.starts_with("HTTP/1.1 404"), "{path}: {got}");
        assert!(got.to_lowercase().contains("connection: close"), "{got}");
        assert!(started.elapsed() < Duration::from_secs(2), "answered after {:?}", started.elapsed());
    }
}

/// Starts a delivery of `declared` bytes to `url`'s path, sending only `sent` of them.
async fn stalled_delivery(addr: std::net::SocketAddr, url: &str, declared: usize, sent: usize) -> TcpStream {
    let path = &url[url.find("/webhooks/").unwrap()..];
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream
}

#[sqlx::test(migrations = false)]
async fn webhook_bytes_in_flight_are_bounded_and_a_stalled_body_is_cut_off(pool: PgPool) {
    // Arrange: a connected number; webhook bodies in flight bounded to 1 MiB.
    let vars = [("WEBHOOK_INFLIGHT_MB", "1")];
    let p = Pipeline::start_opts(
        pool,
        "owner@inflight.sa",
        "PN3203",
        Options { vars: &vars, ..Default::default() },
    )
    .await;

    // Act: two deliveries of 700 KiB each stall after their first KiB.
    let started = Instant::now();
    let mut first = stalled_delivery(p.addr, &p.webhook_url, 700 * 1024, 1024).await;
    let mut second = stalled_delivery(p.addr, &p.webhook_url, 700 * 1024, 1024).await;
    let (a, b) = tokio::join!(
        answer(&mut first, Duration::from_secs(20)),
        answer(&mut second, Duration::from_secs(20))
    );
    let mut answers = [a, b];
    answers.sort();

    // Assert: whichever came second was refused (503, try again) rather than buffered
    // beside the other, and the one being read was cut off well before the request
    // timeout (15 s).
    assert!(answers[0].starts_with("HTTP/1.1 408"), "{answers:?}");
    assert!(answers[1].starts_with("HTTP/1.1 503"), "{answers:?}");
    assert!(answers[1].to_lowercase().contains("retry-after"), "{answers:?}");
    assert!(started.elapsed() < Duration::from_secs(9), "cut off after {:?}", started.elapsed());

    // Assert: with the budget free again, a signed delivery is taken.
    let ok = p.deliver(&crate::pipeline::text("PN3203", "wamid.F1", "966500003203", "Hi", 1)).await;
    assert_eq!(ok, StatusCode::OK);
}
