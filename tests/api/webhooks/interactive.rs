//! What the model and the inbox get from messages that are not plain text (issue 16,
//! items 2 and 6): a flow's answers as fields; no reply (and no tokens) for an interactive
//! turn with nothing to answer or with Meta's error (which is kept); and the substance of
//! captions, documents, locations, shared contacts and orders.
//!
//! Shapes: Meta's webhook reference, `messages` › interactive (nfm_reply,
//! call_permission_reply), image, document, location, contacts, order.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{customer, envelope, user_turns, Pipeline};

#[sqlx::test(migrations = false)]
async fn a_flow_completion_is_shown_as_fields_and_given_to_the_model(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@flow.sa", "PN1630").await;
    let from = "966500001630";
    // Meta: interactive.type "nfm_reply"; the answers are a JSON string in response_json.
    let answers = json!({ "flow_token": "FT-1", "cake_size": "large", "delivery_date": "2026-12-01" });
    let flow = customer(
        "PN1630",
        from,
        json!({ "id": "wamid.FL1", "type": "interactive", "context": { "from": "966500000001", "id": "wamid.OUR-FLOW" },
            "interactive": { "type": "nfm_reply", "nfm_reply": { "name": "flow", "body": "Sent",
                "response_json": answers.to_string() } } }),
    );
    assert_eq!(p.deliver(&flow).await, StatusCode::OK);
    p.sends(1).await;

    let turns = user_turns(&p.model.requests()[0]);
    let turn = turns.last().unwrap();
    assert!(
        turn.contains("cake_size: large") && turn.contains("delivery_date: 2026-12-01"),
        "the model is given the flow's answers: {turn:?}"
    );
    assert!(!turn.contains("FT-1"), "not our own flow token");
    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(
        thread.body.contains("<dt>cake_size</dt>") && thread.body.contains(r#"<dd dir="auto">large</dd>"#),
        "the thread shows the answers as fields"
    );
}

#[sqlx::test(migrations = false)]
async fn an_empty_or_failed_interactive_turn_spends_no_tokens_and_keeps_metas_error(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@empty.sa", "PN1640").await;
    let from = "966500001640";
    let ts = chrono::Utc::now().timestamp().to_string();
    let delivery = envelope(
        "PN1640",
        json!({
            "contacts": [{ "profile": { "name": "Empty" }, "wa_id": from }],
            "messages": [
                // Meta: the customer's answer to a call permission request (nothing to answer).
                { "from": from, "id": "wamid.CP1", "timestamp": ts, "type": "interactive",
                  "interactive": { "type": "call_permission_reply", "call_permission_reply": {
                      "response": "accept", "expiration_timestamp": 1760000000, "response_source": "user_action" } } },
                // Meta: an interactive message Meta could not deliver whole, with its error.
                { "from": from, "id": "wamid.IE1", "timestamp": ts, "type": "interactive",
                  "errors": [{ "code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                      "error_data": { "details": "Message type is currently not supported." } }],
                  "interactive": { "type": "button_reply" } }]
        }),
    );
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;

    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 2, "both stored");
    assert_eq!(
        p.count("select count(*) from apalis.jobs where job_type = 'generate_reply'").await,
        0,
        "an empty or failed turn is not answered"
    );
    assert!(p.model.requests().is_empty(), "no tokens spent");
    assert_eq!(
        p.count("select count(*) from messages where wamid = 'wamid.IE1' and error like '131051%'").await,
        1,
        "Meta's error is recorded on the message"
    );
    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(thread.body.contains("131051"));
}

#[sqlx::test(migrations = false)]
async fn the_model_sees_captions_documents_locations_contacts_and_orders(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@substance.sa", "PN1650").await;
    let from = "966500001650";
    let ts = chrono::Utc::now().timestamp().to_string();
    let delivery = envelope(
        "PN1650",
        json!({
            "contacts": [{ "profile": { "name": "Huda" }, "wa_id": from }],
            "messages": [
                { "from": from, "id": "wamid.S1", "timestamp": ts, "type": "image",
                  "image": { "id": "MEDIA-1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Is this cake available?" } },
                { "from": from, "id": "wamid.S2", "timestamp": ts, "type": "document",
                  "document": { "id": "MEDIA-2", "mime_type": "application/pdf", "sha256": "def", "filename": "party-menu.pdf" } },
                { "from": from, "id": "wamid.S3", "timestamp": ts, "type": "location",
                  "location": { "latitude": 24.69, "longitude": 46.68, "name": "Kingdom Centre", "address": "King Fahd Rd, Riyadh" } },
                { "from": from, "id": "wamid.S4", "timestamp": ts, "type": "contacts",
                  "contacts": [{ "name": { "formatted_name": "Fatima Al-Harbi", "first_name": "Fatima" },
                                 "phones": [{ "phone": "+966 50 000 9999", "type": "CELL", "wa_id": "966500009999" }] }] },
                { "from": from, "id": "wamid.S5", "timestamp": ts, "type": "order",
                  "order": { "catalog_id": "CAT-1", "text": "for the party",
                    "product_items": [
                      { "product_retailer_id": "SKU-CAKE-1", "quantity": 2, "item_price": 45.5, "currency": "SAR" },
                      { "product_retailer_id": "SKU-TEA", "quantity": 1, "item_price": 12, "currency": "SAR" }] } }]
        }),
    );
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    p.sends(1).await;

    let turns = user_turns(&p.model.requests()[0]).join("\n");
    for seen in [
        "Is this cake available?",
        "party-menu.pdf",
        "Kingdom Centre",
        "King Fahd Rd, Riyadh",
        "Fatima Al-Harbi",
        "2 × SKU-CAKE-1 at 45.5 SAR",
        "1 × SKU-TEA at 12 SAR",
        "for the party",
    ] {
        assert!(turns.contains(seen), "the model does not see {seen:?}: {turns}");
    }
    assert!(!turns.contains("[order]") && !turns.contains("[contacts]"));
}
