//! Signed deliveries that must not be lost or mis-filed: NUL characters, webhook-level
//! errors and change fields we do not handle, a delivery naming another number, timestamps
//! from the future, and deliveries of a few megabytes.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{text, Pipeline};

#[sqlx::test(migrations = false)]
async fn a_nul_character_is_stripped_and_the_rest_of_the_delivery_kept(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@nul.sa", "PN1300").await;

    // A NUL escape inside a message's text and the contact's name.
    let mut delivery = text("PN1300", "wamid.N1", "966500001300", "Hello\u{0}, are you open?", 1);
    delivery["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = json!("Sa\u{0}ra");
    assert!(delivery.to_string().contains("\\u0000"));
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK, "a NUL must not lose the delivery");
    p.sends(1).await;
    assert_eq!(p.count("select count(*) from messages where body = 'Hello, are you open?'").await, 1);
    assert_eq!(p.count("select count(*) from contacts where name = 'Sara'").await, 1);

    // An unreadable delivery holding a raw NUL byte is still kept for staff.
    let raw = "{\"object\":\"page\",\"entry\":\"a\0b\"}".to_owned();
    let signature = mujibak_core::domain::whatsapp::signature(crate::pipeline::APP_SECRET, raw.as_bytes());
    assert_eq!(p.post_raw(&p.webhook_url, raw, Some(&signature)).await, StatusCode::OK);
    assert_eq!(p.count("select count(*) from inbound_events where kind = 'unprocessable'").await, 1);
}

#[sqlx::test(migrations = false)]
async fn webhook_errors_and_unhandled_fields_are_recorded_for_staff_and_an_echo_is_not_answered(
    pool: PgPool,
) {
    let p = Pipeline::start(pool, "owner@fields.sa", "PN1310").await;
    let metadata = json!({ "display_phone_number": "966500000001", "phone_number_id": "PN1310" });
    let delivery = json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA1", "changes": [
        { "field": "messages", "value": { "messaging_product": "whatsapp", "metadata": metadata,
            "errors": [{ "code": 130429, "title": "Rate limit hit", "message": "(#130429) Rate limit hit" }] } },
        { "field": "smb_message_echoes", "value": { "messaging_product": "whatsapp", "metadata": metadata,
            "message_echoes": [{ "from": "966500000001", "to": "966500001310", "id": "wamid.ECHO",
                "timestamp": "1739321024", "type": "text", "text": { "body": "Sent from the phone app" } }] } },
        { "field": "account_update", "value": { "phone_number": "966500000001", "event": "VERIFIED_ACCOUNT" } },
        { "field": "a_field_meta_adds_tomorrow", "value": { "anything": true } }
    ]}]});

    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;

    assert_eq!(
        p.count("select count(*) from inbound_events where kind = 'webhook_error' and payload::text like '%130429%'")
            .await,
        1,
        "a webhook-level error is recorded"
    );
    assert_eq!(
        p.count("select count(*) from inbound_events where kind = 'ignored' and payload->>'field' = 'a_field_meta_adds_tomorrow'")
            .await,
        1,
        "a field Mujibak does not know is recorded, not dropped"
    );
    assert_eq!(p.count("select count(*) from inbound_events where processed_at is null").await, 0);
    assert_eq!(
        p.count("select count(*) from apalis.jobs where job_type = 'generate_reply'").await,
        0,
        "an echo is never answered"
    );
    assert_eq!(
        p.count("select count(*) from messages where direction = 'out' and author = 'human'").await,
        1
    );
}

#[sqlx::test(migrations = false)]
async fn a_delivery_naming_another_number_is_recorded_as_misfiled_and_not_processed(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@misfiled.sa", "PN1320").await;

    let delivery = text("PN-SOMEONE-ELSE", "wamid.X1", "966500001320", "Hello", 1);
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);

    assert_eq!(
        p.count("select count(*) from inbound_events where kind = 'misfiled' and processed_at is not null")
            .await,
        1,
        "recorded as misfiled"
    );
    assert_eq!(p.count("select count(*) from apalis.jobs where job_type = 'handle_inbound'").await, 0);
    assert_eq!(p.count("select count(*) from messages").await, 0);
}

#[sqlx::test(migrations = false)]
async fn a_timestamp_far_in_the_future_is_clamped_before_it_moves_the_window(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@future.sa", "PN1330").await;

    let in_a_year = -365 * 86_400;
    p.deliver(&text("PN1330", "wamid.F1", "966500001330", "Hello from the future", in_a_year)).await;
    p.until_finished(&["handle_inbound"]).await;

    assert_eq!(
        p.count("select count(*) from conversations where last_inbound_at <= now() + interval '5 minutes'")
            .await,
        1,
        "the 24-hour window is measured from at most five minutes ahead"
    );
    assert_eq!(
        p.count("select count(*) from messages where created_at <= now() + interval '5 minutes'").await,
        1
    );
    p.sends(1).await;
}

#[sqlx::test(migrations = false)]
async fn a_delivery_of_a_few_megabytes_is_accepted_while_other_routes_keep_256_kib(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@large.sa", "PN1340").await;

    let mut big = text("PN1340", "wamid.L1", "966500001340", "A long one", 1);
    big["entry"][0]["changes"][0]["value"]["padding"] = json!("x".repeat(1024 * 1024));
    assert_eq!(p.deliver(&big).await, StatusCode::OK, "Meta would retry a 413 forever");
    p.until_count("select count(*) from messages where wamid = 'wamid.L1'", 1).await;

    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    assert_eq!(p.post_raw(&p.webhook_url, huge, Some("sha256=00")).await, StatusCode::PAYLOAD_TOO_LARGE);
    let form = format!("email=a%40b.sa&password={}", "x".repeat(300 * 1024));
    let signin = reqwest::Client::new()
        .post(format!("http://{}/signin", p.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), StatusCode::PAYLOAD_TOO_LARGE, "the rest of the app keeps its limit");
}
