//! The sandbox fakes refuse what the real services refuse, so a request our clients
//! build wrongly fails in the tests as it would in production: the Graph API a text that
//! is missing, empty or over 4,096 characters (and our client truncates a longer reply to
//! fit); Moyasar an invoice in a currency other than the account's (SAR); OpenAI a message
//! with an unknown role or content that is neither text nor parts.

use base64::Engine;
use mujibak_core::clients::whatsapp::{Creds, GraphClient, Recipient};
use mujibak_devtools::sandbox::{graph::GraphFake, moyasar::MoyasarFake, openai::OpenAiFake};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post(url: &str, auth: &str, body: &Value) -> (StatusCode, Value) {
    let answer =
        reqwest::Client::new().post(url).header("authorization", auth).json(body).send().await.unwrap();
    (answer.status(), answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_graph_fake_refuses_a_missing_empty_or_too_long_text_and_the_client_truncates() {
    // Arrange
    let graph = GraphFake::start("127.0.0.1:0").await.unwrap();
    graph.register_number("PN-F", "token-f", None, None);
    let url = format!("{}/v23.0/PN-F/messages", graph.base_url());
    let text = |body: Value| json!({ "messaging_product": "whatsapp", "to": "966501234567", "type": "text", "text": body });

    // Act + Assert: what Meta refuses, the fake refuses (code 100, invalid parameter).
    for (what, body) in [
        ("null text", json!(null)),
        ("no body", json!({ "preview_url": false })),
        ("an empty body", json!({ "body": "" })),
        ("4,097 characters", json!({ "body": "ب".repeat(4097) })),
    ] {
        let (status, answer) = post(&url, "Bearer token-f", &text(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], 100, "{what}: {answer}");
    }
    let (status, _) = post(&url, "Bearer token-f", &text(json!({ "body": "ب".repeat(4096) }))).await;
    assert_eq!(status, StatusCode::OK, "4,096 characters (not bytes) is the limit");
    assert_eq!(graph.sends().len(), 1);

    // A reply longer than WhatsApp takes is cut to fit by our client, not refused.
    let config = mujibak_core::Config::from_lookup(|n| match n {
        "DATABASE_URL" => Some("postgres://x".into()),
        "WHATSAPP_GRAPH_URL" => Some(graph.base_url()),
        _ => None,
    })
    .unwrap();
    let token = secrecy::SecretString::from("token-f");
    let creds = Creds { phone_number_id: "PN-F", access_token: &token };
    let long = "م".repeat(5000);
    let sent = GraphClient::new(&config.whatsapp)
        .send_text(&creds, Recipient::Phone("966501234567"), &long, "m1")
        .await;
    assert!(sent.is_ok(), "{sent:?}");
    let body = graph.sends()[1].body["text"]["body"].as_str().unwrap().to_owned();
    assert_eq!(body.chars().count(), 4096);
}

#[tokio::test]
async fn the_moyasar_fake_refuses_an_invoice_in_another_currency() {
    let moyasar = MoyasarFake::start("127.0.0.1:0", "sk_test_fakes").await.unwrap();
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("sk_test_fakes:"));
    let url = format!("{}/v1/invoices", moyasar.base_url());
    let invoice =
        |currency: Value| json!({ "amount": 11385, "currency": currency, "description": "Invoice INV-1" });

    for currency in [json!("USD"), json!(null)] {
        let (status, answer) = post(&url, &auth, &invoice(currency.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{currency}: {answer}");
        assert_eq!(answer["type"], "invalid_request_error", "{answer}");
    }
    let (status, answer) = post(&url, &auth, &invoice(json!("SAR"))).await;
    assert!(status.is_success(), "SAR is taken: {answer}");
    assert_eq!(answer["currency"], "SAR");
}

#[tokio::test]
async fn the_openai_fake_refuses_unknown_roles_and_content_that_is_not_text() {
    let model = OpenAiFake::start("127.0.0.1:0").await.unwrap();
    let url = format!("{}/chat/completions", model.base_url());
    let ask = |messages: Value| json!({ "model": "gpt-4o-mini", "messages": messages });

    for (what, messages, code) in [
        ("an unknown role", json!([{ "role": "robot", "content": "hi" }]), "invalid_value"),
        ("null content", json!([{ "role": "user", "content": null }]), "invalid_type"),
        ("an object", json!([{ "role": "user", "content": { "text": "hi" } }]), "invalid_type"),
        ("a number", json!([{ "role": "system", "content": 7 }]), "invalid_type"),
    ] {
        let (status, answer) = post(&url, "Bearer sk-test", &ask(messages)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
    }
    let parts = json!([{ "role": "system", "content": "You answer for a bakery." },
                       { "role": "user", "content": [{ "type": "text", "text": "مرحبا" }] }]);
    let (status, answer) = post(&url, "Bearer sk-test", &ask(parts)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
