//! The core flow: a signed customer message → the model is asked with the business's
//! instructions → exactly one send to the right recipient → both in the inbox → statuses
//! move forward only. Duplicates, batches and bursts get one reply per turn.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{envelope, text, Pipeline};

#[sqlx::test(migrations = false)]
async fn a_signed_text_message_gets_exactly_one_reply_read_by_the_customer(pool: PgPool) {
    // Arrange
    let p = Pipeline::start(pool, "owner@bakery.sa", "PN100").await;

    // Act
    let status =
        p.deliver(&text("PN100", "wamid.IN1", "966501234567", "When do you open tomorrow?", 5)).await;

    // Assert: the model saw the business's words and the customer's.
    assert_eq!(status, StatusCode::OK);
    let sends = p.sends(1).await;
    let asked = p.model.requests();
    assert_eq!(asked.len(), 1);
    let system = asked[0]["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("Always greet the customer warmly.") && system.contains("A family bakery in Riyadh.")
    );
    assert_eq!(
        asked[0]["messages"].as_array().unwrap().last().unwrap()["content"],
        "When do you open tomorrow?"
    );
    assert_eq!(sends[0].body["to"], "966501234567");
    assert_eq!(sends[0].authorization, format!("Bearer {}", crate::pipeline::TOKEN));
    assert!(sends[0].body["text"]["body"].as_str().unwrap().contains("We open daily from 7am to 11pm."));
    assert_eq!(p.graph.read_receipts()[0]["message_id"], "wamid.IN1", "marked read with a typing indicator");

    // Assert: sent → delivered → read arrive as signed webhooks; the reply ends `read`.
    p.until_count("select count(*) from messages where direction = 'out' and status = 'read'", 1).await;

    // Assert: the inbox shows both.
    let conversation = p.conversation_id().await;
    let thread = p.owner.get(&format!("/inbox/{conversation}")).await;
    assert!(
        thread.body.contains("When do you open tomorrow?")
            && thread.body.contains("We open daily from 7am to 11pm.")
    );
    assert!(thread.body.contains(r#"<p dir="auto">"#));
    let live = p.owner.get(&format!("/inbox/{conversation}/thread")).await;
    assert!(
        live.body.contains("We open daily from 7am to 11pm.") && !live.body.contains("<html"),
        "the live fragment"
    );
    let list = p.owner.get("/inbox").await;
    assert!(list.body.contains("Sara"));
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert_eq!(p.graph.sends().len(), 1, "exactly one send");

    // Assert: usage counts both directions and the reply latency is charted.
    let dashboard = p.owner.get("/dashboard").await;
    assert!(dashboard.body.contains("received: 1 · sent: 1"), "usage totals");
    let at = dashboard.body.find(r#"class="line-typical" points=""#).unwrap()
        + r#"class="line-typical" points=""#.len();
    assert!(!dashboard.body[at..].starts_with('"'), "a typical reply time point for today");
}

#[sqlx::test(migrations = false)]
async fn statuses_only_move_a_message_forward(pool: PgPool) {
    // Arrange: Meta's own statuses off, so only the ones posted here arrive.
    let p = Pipeline::start(pool, "owner@late.sa", "PN101").await;
    p.graph.set_auto_statuses(false);
    p.deliver(&text("PN101", "wamid.IN9", "966501234568", "When do you open tomorrow?", 5)).await;
    let wamid = p.sends(1).await[0].wamid.clone();
    p.until_count("select count(*) from messages where direction = 'out' and wamid is not null", 1).await;

    // Act: `read` arrives, then a late `delivered` (Meta does not promise their order).
    for status in ["read", "delivered"] {
        let hook = envelope(
            "PN101",
            json!({ "statuses": [{ "id": wamid, "status": status, "timestamp": "2", "recipient_id": "966501234568" }] }),
        );
        assert_eq!(p.deliver(&hook).await, StatusCode::OK);
    }

    // Assert: both were taken in and processed; the message stays `read`.
    p.until_count(
        "select count(*) from inbound_events where processed_at is not null and dedupe_key like 'status:%'",
        2,
    )
    .await;
    assert_eq!(
        p.count("select count(*) from messages where direction = 'out' and status = 'read'").await,
        1,
        "a late delivered never moves a read message back"
    );
}

#[sqlx::test(migrations = false)]
async fn redeliveries_batches_and_bursts_get_one_row_per_message_and_one_reply_per_turn(pool: PgPool) {
    // Arrange
    let p = Pipeline::start(pool, "owner@dup.sa", "PN200").await;

    // Act: the same delivery three times.
    let once = text("PN200", "wamid.D1", "966500000010", "Hello?", 5);
    for _ in 0..3 {
        assert_eq!(p.deliver(&once).await, StatusCode::OK);
    }
    p.sends(1).await;

    // Act: one delivery batching two messages of another customer.
    let ts = (chrono::Utc::now().timestamp() - 3).to_string();
    let batch = envelope(
        "PN200",
        json!({
            "contacts": [{ "profile": { "name": "Huda" }, "wa_id": "966500000020" }],
            "messages": [
                { "from": "966500000020", "id": "wamid.B1", "timestamp": ts, "type": "text", "text": { "body": "Do you deliver?" } },
                { "from": "966500000020", "id": "wamid.B2", "timestamp": ts, "type": "text", "text": { "body": "To Olaya?" } }]
        }),
    );
    assert_eq!(p.deliver(&batch).await, StatusCode::OK);
    p.sends(2).await;

    // Act: a burst, two messages one second apart from a third customer.
    p.deliver(&text("PN200", "wamid.R1", "966500000030", "I want a cake", 1)).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    p.deliver(&text("PN200", "wamid.R2", "966500000030", "for 10 people", 0)).await;
    p.sends(3).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;

    // Assert
    assert_eq!(p.count("select count(*) from messages where wamid = 'wamid.D1'").await, 1);
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 5);
    let sends = p.graph.sends();
    assert_eq!(
        sends.len(),
        3,
        "one reply per turn: {:?}",
        sends.iter().map(|s| &s.body["to"]).collect::<Vec<_>>()
    );
    let burst = p.model.requests().into_iter().find(|r| r.to_string().contains("for 10 people")).unwrap();
    let turns: Vec<&str> = burst["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(turns, vec!["I want a cake", "for 10 people"], "the one reply answers both");
}

#[sqlx::test(migrations = false)]
async fn a_bsuid_only_customer_is_answered_with_recipient(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@bsuid.sa", "PN300").await;
    let ts = (chrono::Utc::now().timestamp() - 2).to_string();
    let delivery = envelope(
        "PN300",
        json!({
            "contacts": [{ "profile": { "name": "Anon", "username": "anon.k" }, "user_id": "SA.13491208655302741918" }],
            "messages": [{ "from_user_id": "SA.13491208655302741918", "id": "wamid.U1", "timestamp": ts, "type": "text", "text": { "body": "مرحبا، متى تفتحون؟" } }]
        }),
    );
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    let sends = p.sends(1).await;
    assert_eq!(sends[0].body["recipient"], "SA.13491208655302741918");
    assert!(sends[0].body.get("to").is_none());
    assert!(sends[0].body["text"]["body"].as_str().unwrap().starts_with("[رد تجريبي]"), "answered in Arabic");
}

#[sqlx::test(migrations = false)]
async fn a_message_meta_delivers_late_is_answered_even_if_its_timestamp_is_older_than_the_last_reply(
    pool: PgPool,
) {
    // Arrange: a customer asked and was answered.
    let p = Pipeline::start(pool, "owner@late.sa", "PN250").await;
    p.deliver(&text("PN250", "wamid.L1", "966500000025", "When do you open?", 0)).await;
    p.sends(1).await;

    // Act: a message the customer sent a minute ago arrives only now (Meta retried its
    // delivery): its timestamp is older than the reply.
    p.deliver(&text("PN250", "wamid.L2", "966500000025", "And do you deliver?", 60)).await;

    // Assert: it is a new turn, answered once.
    p.sends(2).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert_eq!(p.graph.sends().len(), 2);
}
