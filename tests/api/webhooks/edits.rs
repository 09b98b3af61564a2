//! What a customer does to the chat besides writing (issue 16, item 1): an edit replaces
//! the message's text (shown as edited, the model sees the new text); a deletion removes
//! the content everywhere we kept it (the inbox says so, the model no longer sees it); a
//! customer opening the chat for the first time gets the business's welcome, once.
//!
//! Shapes: Meta's webhook reference, `messages` › edit, revoke and request_welcome.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{customer, text, user_turns, Pipeline};

#[sqlx::test(migrations = false)]
async fn an_edited_message_shows_its_new_text_and_the_model_sees_it(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@edit.sa", "PN1600").await;
    let from = "966500001600";
    p.deliver(&text("PN1600", "wamid.E1", from, "I want 2 chocolate cakes", 2)).await;
    p.sends(1).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    let replies = p.count("select count(*) from apalis.jobs where job_type = 'generate_reply'").await;

    // Meta: type "edit", edit.original_message_id + edit.message (the new content).
    let edit = customer(
        "PN1600",
        from,
        json!({ "id": "wamid.E1-EDIT", "type": "edit", "edit": { "original_message_id": "wamid.E1",
            "message": { "type": "text", "text": { "body": "I want 3 chocolate cakes" } } } }),
    );
    assert_eq!(p.deliver(&edit).await, StatusCode::OK);
    p.until_finished(&["handle_inbound", "generate_reply"]).await;

    assert_eq!(
        p.count(
            "select count(*) from messages where wamid = 'wamid.E1' and body = 'I want 3 chocolate cakes'"
        )
        .await,
        1,
        "the original message carries the new text"
    );
    assert_eq!(
        p.count("select count(*) from messages where wamid = 'wamid.E1' and edited_at is not null").await,
        1
    );
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 1, "no extra row");
    assert_eq!(
        p.count("select count(*) from apalis.jobs where job_type = 'generate_reply'").await,
        replies,
        "an edit is not a new turn: it is not answered on its own"
    );
    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(thread.body.contains("I want 3 chocolate cakes") && thread.body.contains("(edited)"));
    assert!(!thread.body.contains("I want 2 chocolate cakes"));

    // The next turn: the model sees the edited text, not the old one.
    p.deliver(&text("PN1600", "wamid.E2", from, "for Friday please", 0)).await;
    p.sends(2).await;
    let asked = p.model.requests();
    let turns = user_turns(asked.last().unwrap());
    assert_eq!(turns, vec!["I want 3 chocolate cakes", "for Friday please"], "{turns:?}");
}

#[sqlx::test(migrations = false)]
async fn a_deleted_message_loses_its_content_everywhere_and_the_model_no_longer_sees_it(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@revoke.sa", "PN1610").await;
    let from = "966500001610";
    p.deliver(&text("PN1610", "wamid.R1", from, "my card number is 4111 1111", 2)).await;
    p.sends(1).await;

    // Meta: type "revoke", revoke.original_message_id.
    let revoke = customer(
        "PN1610",
        from,
        json!({ "id": "wamid.R1-REVOKE", "type": "revoke", "revoke": { "original_message_id": "wamid.R1" } }),
    );
    assert_eq!(p.deliver(&revoke).await, StatusCode::OK);
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;

    assert_eq!(
        p.count("select count(*) from messages where body like '%4111%' or details::text like '%4111%'")
            .await,
        0,
        "the message's content is gone"
    );
    assert_eq!(
        p.count("select count(*) from inbound_events where payload::text like '%4111%'").await,
        0,
        "and so is the webhook payload that carried it"
    );
    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(thread.body.contains("deleted by the customer"), "the inbox says why the message is empty");
    assert!(!thread.body.contains("4111"));
    assert_eq!(
        p.count("select count(*) from messages where wamid = 'wamid.R1' and deleted_at is not null").await,
        1
    );

    // The next turn: the model does not see the deleted message.
    p.deliver(&text("PN1610", "wamid.R2", from, "do you deliver to Olaya?", 0)).await;
    p.sends(2).await;
    let asked = p.model.requests();
    assert!(!asked.last().unwrap().to_string().contains("4111"), "the model no longer sees it");

    // A message written and deleted before the bot answered: no turn is left, no tokens spent.
    let asked = asked.len();
    let mut both = text("PN1610", "wamid.R3", from, "oops wrong chat", 0);
    let revoke_r3 = json!({ "from": from, "id": "wamid.R3-REVOKE", "timestamp": chrono::Utc::now().timestamp().to_string(),
        "type": "revoke", "revoke": { "original_message_id": "wamid.R3" } });
    both["entry"][0]["changes"][0]["value"]["messages"].as_array_mut().unwrap().push(revoke_r3);
    p.deliver(&both).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert_eq!(p.model.requests().len(), asked, "a deleted turn is not answered");
    assert_eq!(p.graph.sends().len(), 2);
}

#[sqlx::test(migrations = false)]
async fn a_customer_opening_the_chat_gets_the_business_welcome_once(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@welcome.sa", "PN1620").await;
    p.configure_bot(&[("welcome_message", "Welcome to Alnoor Bakery! Ask us about cakes.")]).await;
    let from = "966500001620";

    // Meta: type "request_welcome", with the contact, no content.
    let opened = customer("PN1620", from, json!({ "id": "wamid.W1", "type": "request_welcome" }));
    assert_eq!(p.deliver(&opened).await, StatusCode::OK);
    let sends = p.sends(1).await;
    assert_eq!(sends[0].body["to"], from);
    assert_eq!(sends[0].body["text"]["body"], "Welcome to Alnoor Bakery! Ask us about cakes.");

    // Opening the chat again (another event id): no second welcome, and no model call.
    p.deliver(&customer("PN1620", from, json!({ "id": "wamid.W2", "type": "request_welcome" }))).await;
    p.until_finished(&["handle_inbound", "send_message"]).await;
    assert_eq!(p.graph.sends().len(), 1, "once per customer");
    assert!(p.model.requests().is_empty(), "a welcome spends no tokens");
    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(thread.body.contains("Welcome to Alnoor Bakery!") && thread.body.contains("opened the chat"));
}
