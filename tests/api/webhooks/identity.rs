//! Identity changes (issue 16, item 5): a customer whose business-scoped user id (BSUID)
//! or phone number changed keeps one contact and one conversation, and is answered at the
//! new id or number.
//!
//! Shapes: Meta's webhook reference, `messages` › system (user_changed_user_id carries no
//! sender and no contacts array: system.previous_user_id → system.user_id;
//! user_changed_number comes from the old number with system.wa_id the new one).

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{envelope, text, Pipeline};

#[sqlx::test(migrations = false)]
async fn a_changed_user_id_moves_the_contact_and_its_conversation(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@bsuid-change.sa", "PN1700").await;
    let ts = || chrono::Utc::now().timestamp().to_string();
    let first = envelope(
        "PN1700",
        json!({ "contacts": [{ "profile": { "name": "Anon" }, "user_id": "SA.111" }],
                "messages": [{ "from_user_id": "SA.111", "id": "wamid.U1", "timestamp": ts(), "type": "text", "text": { "body": "Hello" } }] }),
    );
    p.deliver(&first).await;
    p.sends(1).await;

    let changed = envelope(
        "PN1700",
        json!({ "messages": [{ "id": "wamid.SYS1", "timestamp": ts(), "type": "system",
            "system": { "body": "User Anon changed from SA.111 to SA.222", "type": "user_changed_user_id",
                        "previous_user_id": "SA.111", "user_id": "SA.222" } }] }),
    );
    assert_eq!(p.deliver(&changed).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;
    assert_eq!(
        p.count("select count(*) from contacts where bsuid = 'SA.222'").await,
        1,
        "the contact follows the new BSUID; {}",
        p.diagnostics().await
    );

    let again = envelope(
        "PN1700",
        json!({ "contacts": [{ "profile": { "name": "Anon" }, "user_id": "SA.222" }],
                "messages": [{ "from_user_id": "SA.222", "id": "wamid.U2", "timestamp": ts(), "type": "text", "text": { "body": "Are you open?" } }] }),
    );
    p.deliver(&again).await;
    let sends = p.sends(2).await;
    assert_eq!(sends[1].body["recipient"], "SA.222", "answered at the new id");
    assert_eq!(p.count("select count(*) from contacts").await, 1);
    assert_eq!(p.count("select count(*) from conversations").await, 1, "one conversation");
    assert_eq!(
        p.count("select count(*) from messages where kind = 'system' and body like '%SA.222%'").await,
        1,
        "the change is shown in the thread"
    );
}

#[sqlx::test(migrations = false)]
async fn a_changed_number_moves_the_contact_and_its_conversation(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@number-change.sa", "PN1710").await;
    p.deliver(&text("PN1710", "wamid.N1", "966500001710", "Hello", 2)).await;
    p.sends(1).await;

    let changed = envelope(
        "PN1710",
        json!({ "messages": [{ "from": "966500001710", "id": "wamid.SYS2", "timestamp": chrono::Utc::now().timestamp().to_string(),
            "type": "system", "system": { "body": "User Sara changed from 966500001710 to 966500001711",
                "wa_id": "966500001711", "type": "user_changed_number" } }] }),
    );
    assert_eq!(p.deliver(&changed).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;
    assert_eq!(
        p.count("select count(*) from contacts where wa_id = '966500001711'").await,
        1,
        "the contact follows the new number"
    );

    p.deliver(&text("PN1710", "wamid.N2", "966500001711", "It's me, new number", 0)).await;
    let sends = p.sends(2).await;
    assert_eq!(sends[1].body["to"], "966500001711", "answered at the new number");
    assert_eq!(p.count("select count(*) from contacts").await, 1);
    assert_eq!(p.count("select count(*) from conversations").await, 1, "one conversation");
    let turns = crate::pipeline::user_turns(p.model.requests().last().unwrap());
    assert!(turns.contains(&"Hello".to_owned()), "the history came along: {turns:?}");
}

#[sqlx::test(migrations = false)]
async fn a_number_change_reported_after_the_new_number_wrote_merges_the_two_threads(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@number-merge.sa", "PN1715").await;
    p.configure_bot(&[("enabled", "off")]).await;
    p.deliver(&text("PN1715", "wamid.M1", "966500001715", "Hello from my old phone", 3)).await;
    p.deliver(&text("PN1715", "wamid.M2", "966500001716", "And this is my new number", 2)).await;
    p.until_count("select count(*) from conversations", 2).await;

    // Meta's notice of the change comes after the new number already wrote.
    let changed = envelope(
        "PN1715",
        json!({ "messages": [{ "from": "966500001715", "id": "wamid.SYS3", "timestamp": chrono::Utc::now().timestamp().to_string(),
            "type": "system", "system": { "body": "User Sara changed from 966500001715 to 966500001716",
                "wa_id": "966500001716", "type": "user_changed_number" } }] }),
    );
    assert_eq!(p.deliver(&changed).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;

    assert_eq!(p.count("select count(*) from contacts").await, 1, "one customer");
    assert_eq!(p.count("select count(*) from contacts where wa_id = '966500001716'").await, 1);
    assert_eq!(p.count("select count(*) from conversations").await, 1, "one conversation");
    assert_eq!(
        p.count("select count(*) from messages m join conversations c using (conversation_id)").await,
        3,
        "both threads' messages and the notice in it"
    );
}
