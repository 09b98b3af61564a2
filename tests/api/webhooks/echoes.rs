//! Messages the business sends from the WhatsApp Business app (coexistence; issue 16,
//! item 3): each echo is a human reply in its conversation, exactly like one typed in the
//! inbox, so the bot pauses there; the owner's edits and deletions follow.
//!
//! Shapes: Meta's webhook reference, `smb_message_echoes` (message_echoes[], with edit and
//! revoke echoes shaped like the `messages` edit and revoke).

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::pipeline::{change, metadata, text, Pipeline};

fn echo(number: &str, echo: Value) -> Value {
    change(
        "smb_message_echoes",
        json!({ "messaging_product": "whatsapp", "metadata": metadata(number), "message_echoes": [echo] }),
    )
}

#[sqlx::test(migrations = false)]
async fn an_echo_from_the_phone_app_is_a_human_reply_and_pauses_the_bot(pool: PgPool) {
    // The bot's reply to the customer waits in the queue (no sender yet).
    let mut p = Pipeline::start_with(pool, "owner@echo.sa", "PN1660", false).await;
    let customer = "966500001660";
    p.deliver(&text("PN1660", "wamid.C1", customer, "Is the shop open now?", 2)).await;
    p.until_count("select count(*) from messages where author = 'bot' and status = 'queued'", 1).await;

    // The owner answers from the phone app meanwhile.
    let ts = chrono::Utc::now().timestamp().to_string();
    let from_phone = echo(
        "PN1660",
        json!({ "from": "966500000001", "to": customer, "id": "wamid.ECHO1", "timestamp": ts,
                "type": "text", "text": { "body": "Yes, come in! — Khalid" } }),
    );
    assert_eq!(p.deliver(&from_phone).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;
    p.start_sending();
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;

    assert_eq!(
        p.count("select count(*) from messages where wamid = 'wamid.ECHO1' and direction = 'out' and author = 'human' and body = 'Yes, come in! — Khalid'")
            .await,
        1,
        "the echo is stored as a human reply in the customer's conversation"
    );
    assert_eq!(p.count("select count(*) from conversations").await, 1);
    assert_eq!(p.count("select count(*) from conversations where bot_paused and not unanswered").await, 1);
    assert!(p.graph.sends().is_empty(), "the bot does not answer over the owner");
    assert_eq!(p.count("select count(*) from messages where author = 'bot' and status = 'skipped'").await, 1);

    // After the echo, a customer message in that conversation gets no AI reply.
    let asked = p.model.requests().len();
    p.deliver(&text("PN1660", "wamid.C2", customer, "Great, see you soon", 0)).await;
    p.until_count("select count(*) from messages where wamid = 'wamid.C2'", 1).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert_eq!(p.model.requests().len(), asked, "no tokens spent");
    assert!(p.graph.sends().is_empty(), "no AI reply after the owner's echo");

    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(thread.body.contains("Yes, come in! — Khalid") && thread.body.contains("WhatsApp Business app"));
}

#[sqlx::test(migrations = false)]
async fn the_owners_edits_and_deletions_from_the_phone_app_follow(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@echo-edit.sa", "PN1670").await;
    p.configure_bot(&[("enabled", "off")]).await;
    let customer = "966500001670";
    p.deliver(&text("PN1670", "wamid.C1", customer, "Price of the large cake?", 2)).await;
    let ts = chrono::Utc::now().timestamp().to_string();
    p.deliver(&echo(
        "PN1670",
        json!({ "from": "966500000001", "to": customer, "id": "wamid.ECHO1", "timestamp": ts,
                "type": "text", "text": { "body": "It is 120 SAR" } }),
    ))
    .await;
    p.deliver(&echo(
        "PN1670",
        json!({ "from": "966500000001", "to": customer, "id": "wamid.ECHO1-EDIT", "timestamp": ts, "type": "edit",
                "edit": { "original_message_id": "wamid.ECHO1", "message": { "type": "text", "text": { "body": "It is 150 SAR" } } } }),
    ))
    .await;
    p.until_count("select count(*) from messages where wamid = 'wamid.ECHO1' and body = 'It is 150 SAR'", 1)
        .await;

    p.deliver(&echo(
        "PN1670",
        json!({ "from": "966500000001", "to": customer, "id": "wamid.ECHO1-REVOKE", "timestamp": ts, "type": "revoke",
                "revoke": { "original_message_id": "wamid.ECHO1" } }),
    ))
    .await;
    p.until_count("select count(*) from messages where wamid = 'wamid.ECHO1' and deleted_at is not null", 1)
        .await;
    assert_eq!(p.count("select count(*) from messages where body like '%SAR%'").await, 0);
    assert_eq!(
        p.count("select count(*) from messages where direction = 'out'").await,
        1,
        "one row, edited then deleted"
    );
}
