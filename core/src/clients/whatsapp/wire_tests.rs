//! The client over real sockets: which failures prove a send never reached Meta and which
//! leave its outcome unknown, and that every send carries its callback data.

use std::time::Duration;

use secrecy::SecretString;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use super::*;

/// What the one-connection server does after reading the request.
enum Then {
    Answer(&'static str),
    Close,
    Hang,
}

/// Serves one connection on a free port; returns the client and the request it read.
async fn serve_once(then: Then) -> (GraphClient, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = client(&format!("http://{}", listener.local_addr().unwrap()));
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !complete(&request) {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        match then {
            Then::Answer(body) => {
                let (status, body) = body.split_once('\n').unwrap();
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                socket.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
            }
            Then::Close => drop(socket),
            Then::Hang => tokio::time::sleep(Duration::from_secs(5)).await,
        }
        String::from_utf8_lossy(&request).into_owned()
    });
    (client, handle)
}

fn complete(request: &[u8]) -> bool {
    let text = String::from_utf8_lossy(request);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
        .and_then(|l| l.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

fn client(base: &str) -> GraphClient {
    GraphClient::new(&WhatsAppConfig {
        graph_url: base.to_owned(),
        api_version: "v24.0".into(),
        timeout: Duration::from_secs(1),
        reconcile_after: Duration::from_secs(120),
        media_max_bytes: 16 * 1024 * 1024,
    })
}

async fn send(client: &GraphClient) -> Result<String, GraphError> {
    let token = SecretString::from("t");
    let creds = Creds { phone_number_id: "PN", access_token: &token };
    client.send_text(&creds, Recipient::Phone("9665"), "hi", "3f1c-our-message-id").await
}

#[tokio::test]
async fn a_refused_connection_never_reached_meta() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = send(&client(&format!("http://127.0.0.1:{port}"))).await.unwrap_err();
    assert!(matches!(error, GraphError::Unreachable(_)), "{error:?}");
}

#[tokio::test]
async fn an_accepted_send_carries_its_callback_data_and_returns_the_id() {
    let (client, request) = serve_once(Then::Answer("200 OK\n{\"messages\":[{\"id\":\"wamid.OK\"}]}")).await;
    assert_eq!(send(&client).await.unwrap(), "wamid.OK");
    assert!(request.await.unwrap().contains(r#""biz_opaque_callback_data":"3f1c-our-message-id""#));
}

#[tokio::test]
async fn an_error_answer_is_meta_refusing_not_an_unknown_outcome() {
    let body = "400 Bad Request\n{\"error\":{\"code\":131047,\"message\":\"Re-engagement message\"}}";
    let (client, _) = serve_once(Then::Answer(body)).await;
    let error = send(&client).await.unwrap_err();
    assert!(!error.is_ambiguous() && error.class() == GraphErrorClass::WindowClosed, "{error:?}");
}

#[tokio::test]
async fn a_dropped_answer_a_timeout_and_a_200_without_id_leave_the_outcome_unknown() {
    for then in [Then::Close, Then::Hang, Then::Answer("200 OK\n{\"messaging_product\":\"whatsapp\"}")] {
        let (client, _) = serve_once(then).await;
        let error = send(&client).await.unwrap_err();
        assert!(error.is_ambiguous(), "{error:?}");
    }
}
