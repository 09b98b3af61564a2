//! Bad input and failure paths of the pipeline: signatures, handshake, size, unknown
//! connection, unreadable deliveries, non-text messages, the closed window, model
//! failures, an expired token, and a human taking over.

use std::time::Duration;

use mujibak_devtools::sandbox::{graph::GraphFault, openai::ModelFault};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{envelope, text, Pipeline};

#[sqlx::test(migrations = false)]
async fn unsigned_or_forged_deliveries_get_401_and_store_nothing(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@sig.sa", "PN400").await;
    let body = text("PN400", "wamid.S1", "966500000040", "hi", 1).to_string();
    assert_eq!(p.post_raw(&p.webhook_url, body.clone(), None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(p.post_raw(&p.webhook_url, body.clone(), Some("sha256=00ff")).await, StatusCode::UNAUTHORIZED);
    let other_key = format!("{}x", p.webhook_url);
    assert_eq!(
        p.post_raw(&other_key, body, Some("sha256=00")).await,
        StatusCode::NOT_FOUND,
        "unknown connection"
    );
    assert_eq!(p.count("select count(*) from inbound_events").await, 0);

    // The handshake answers the challenge only for our verify token.
    let token = p.verify_token().await;
    let ok = reqwest::get(format!(
        "{}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
        p.webhook_url
    ))
    .await
    .unwrap();
    assert_eq!((ok.status(), ok.text().await.unwrap()), (StatusCode::OK, "1158201444".to_owned()));
    let bad =
        reqwest::get(format!("{}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", p.webhook_url))
            .await
            .unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);

    // Oversized (above 4 MiB): 413 before anything is read.
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    assert_eq!(p.post_raw(&p.webhook_url, huge, Some("sha256=00")).await, StatusCode::PAYLOAD_TOO_LARGE);

    // Signed but unreadable: kept for staff, 200 so Meta stops retrying.
    assert_eq!(p.deliver(&json!({ "object": "page", "entry": "nope" })).await, StatusCode::OK);
    assert_eq!(p.count("select count(*) from inbound_events where kind = 'unprocessable'").await, 1);
}

#[sqlx::test(migrations = false)]
async fn non_text_messages_are_stored_and_shown_and_a_reaction_gets_no_reply(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@media.sa", "PN500").await;
    let ts = (chrono::Utc::now().timestamp() - 1).to_string();
    let from = "966500000050";
    let delivery = envelope(
        "PN500",
        json!({
            "contacts": [{ "profile": { "name": "Media" }, "wa_id": from }],
            "messages": [
                { "from": from, "id": "wamid.M1", "timestamp": ts, "type": "reaction", "reaction": { "message_id": "wamid.X", "emoji": "👍" } },
                { "from": from, "id": "wamid.M2", "timestamp": ts, "type": "unsupported", "errors": [{ "code": 131051, "title": "Message type unknown" }] }]
        }),
    );
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    p.until_count("select count(*) from messages where direction = 'in'", 2).await;
    p.until_finished(&["handle_inbound"]).await;
    let replies = p.count("select count(*) from apalis.jobs where job_type = 'generate_reply'").await;
    assert_eq!(replies, 0, "a reaction or an unsupported message needs no answer");
    assert!(p.model.requests().is_empty());

    let more = envelope(
        "PN500",
        json!({
            "contacts": [{ "profile": { "name": "Media" }, "wa_id": from }],
            "messages": [
                { "from": from, "id": "wamid.M3", "timestamp": ts, "type": "image", "image": { "id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Is this cake available?" } },
                { "from": from, "id": "wamid.M4", "timestamp": ts, "type": "location", "location": { "latitude": 24.7, "longitude": 46.6, "name": "Olaya St" } },
                { "from": from, "id": "wamid.M5", "timestamp": ts, "type": "brand_new_type", "brand_new_type": {} }]
        }),
    );
    assert_eq!(p.deliver(&more).await, StatusCode::OK);
    p.sends(1).await;
    let conversation = p.conversation_id().await;
    let thread = p.owner.get(&format!("/inbox/{conversation}")).await;
    for shown in [
        "👍",
        "[reaction]",
        "[unsupported message]",
        "Is this cake available?",
        "[image]",
        "Olaya St",
        "[location]",
        "131051",
    ] {
        assert!(thread.body.contains(shown), "thread lacks {shown}");
    }
}

#[sqlx::test(migrations = false)]
async fn a_closed_window_means_no_model_call_no_send_and_says_why(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@window.sa", "PN600").await;
    p.deliver(&text("PN600", "wamid.W1", "966500000060", "Are you open?", 25 * 3600)).await;
    p.until_count("select count(*) from conversations where notice = 'window_closed'", 1).await;
    p.until_finished(&["handle_inbound", "generate_reply"]).await;
    assert!(p.model.requests().is_empty());
    assert_eq!(p.count("select count(*) from apalis.jobs where job_type = 'send_message'").await, 0);
    assert!(p.graph.sends().is_empty());
    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(thread.body.contains("the 24-hour window had closed"));
}

#[sqlx::test(migrations = false)]
async fn model_failures_are_retried_with_backoff_then_the_fallback_is_sent_and_shown(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@model.sa", "PN700").await;
    p.configure_bot(&[("fallback_message", "A team member will reply shortly.")]).await;

    // Transient failures (429, 500) then success: one reply, after retries.
    p.model.fail_next(ModelFault::RateLimited { retry_after_secs: 1 }, 1);
    p.model.fail_next(ModelFault::ServerError, 1);
    p.deliver(&text("PN700", "wamid.F1", "966500000070", "When do you open?", 1)).await;
    let sends = p.sends(1).await;
    assert!(sends[0].body["text"]["body"].as_str().unwrap().contains("7am"));
    assert_eq!(p.model.requests().len(), 3);

    // Failing on every attempt (timeouts, malformed, 500): the fallback goes out, the inbox says so.
    p.model.fail_next(ModelFault::Timeout, 1);
    p.model.fail_next(ModelFault::Malformed, 1);
    p.model.fail_next(ModelFault::ServerError, 2);
    p.deliver(&text("PN700", "wamid.F2", "966500000071", "Hello", 1)).await;
    let sends = p.sends(2).await;
    assert_eq!(sends[1].body["text"]["body"], "A team member will reply shortly.");
    let errors = p.count("select count(*) from job_errors where queue = 'generate_reply'").await;
    assert!(errors >= 5, "every failed attempt is kept ({errors})");
    let notice: String = sqlx::query_scalar("select notice from conversations c join contacts k using (contact_id) where k.wa_id = '966500000071'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    assert_eq!(notice, "model_failed");
}

#[sqlx::test(migrations = false)]
async fn an_expired_token_marks_the_connection_stops_the_bot_and_emails_the_owner(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@token.sa", "PN800").await;
    p.graph.fail_next(GraphFault::TokenExpired, 1);
    p.deliver(&text("PN800", "wamid.T1", "966500000080", "Hi", 1)).await;
    p.until_count("select count(*) from whatsapp_connections where status = 'needs_reauth'", 1).await;
    let mail = crate::helpers::eventually(Duration::from_secs(15), "the owner's email", || async {
        p.mail.messages().first().cloned()
    })
    .await;
    assert_eq!(mail.to, vec!["owner@token.sa".to_owned()]);
    assert_eq!(
        p.count("select count(*) from messages where direction = 'out' and status = 'failed'").await,
        1
    );
    let settings = p.owner.get("/settings/whatsapp").await;
    assert!(settings.body.contains("Needs re-authorisation"));

    // The bot has stopped: a new message is not answered.
    let asked = p.model.requests().len();
    p.deliver(&text("PN800", "wamid.T2", "966500000080", "Hello?", 0)).await;
    p.until_count("select count(*) from conversations where notice = 'connection_inactive'", 1).await;
    p.until_finished(&["handle_inbound", "generate_reply"]).await;
    assert_eq!(p.model.requests().len(), asked);
    assert_eq!(
        p.count("select count(*) from apalis.jobs where job_type = 'send_message'").await,
        1,
        "only the first reply's send"
    );
    assert!(p.graph.sends().is_empty());

    // Timeouts and 5xx never mark re-authorisation.
    p.owner.get("/settings/whatsapp").await;
    p.owner.post("/settings/whatsapp/token", &[("access_token", crate::pipeline::TOKEN)]).await;
    assert_eq!(p.count("select count(*) from whatsapp_connections where status = 'active'").await, 1);
    p.graph.fail_next(GraphFault::ServerError, 1);
    p.deliver(&text("PN800", "wamid.T3", "966500000080", "Still there?", 0)).await;
    p.sends(1).await;
    assert_eq!(p.count("select count(*) from whatsapp_connections where status = 'active'").await, 1);
}

#[sqlx::test(migrations = false)]
async fn a_human_reply_pauses_the_bot_and_a_queued_bot_reply_is_not_sent(pool: PgPool) {
    // Arrange: no sender yet, so the bot's reply waits in the queue.
    let mut p = Pipeline::start_with(pool, "owner@human.sa", "PN900", false).await;
    p.deliver(&text("PN900", "wamid.H1", "966500000090", "I need help with my order", 1)).await;
    p.until_count("select count(*) from messages where author = 'bot' and status = 'queued'", 1).await;

    // Act: a person answers from the inbox; then sending resumes.
    let conversation = p.conversation_id().await;
    p.owner.get(&format!("/inbox/{conversation}")).await;
    let sent = p
        .owner
        .post(&format!("/inbox/{conversation}/reply"), &[("text", "Hi, this is Sara from the team.")])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    p.start_sending();

    // Assert
    let sends = p.sends(1).await;
    p.until_finished(&["send_message"]).await;
    assert_eq!(p.graph.sends().len(), 1);
    assert_eq!(sends[0].body["text"]["body"], "Hi, this is Sara from the team.");
    assert_eq!(p.count("select count(*) from messages where author = 'bot' and status = 'skipped'").await, 1);
    assert_eq!(p.count("select count(*) from conversations where bot_paused").await, 1);
}
