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

use crate::pipeline::{change, envelope, metadata, text, Pipeline};

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

#[sqlx::test(migrations = false)]
async fn a_number_change_merge_keeps_the_new_contacts_bsuid_labels_notes_and_opt_out(pool: PgPool) {
    // Arrange: the old number wrote and is labelled; the new number wrote with its BSUID
    // and username, is labelled, has a note, and asked to stop marketing messages.
    let p = Pipeline::start(pool, "owner@number-merge-fields.sa", "PN1740").await;
    p.configure_bot(&[("enabled", "off")]).await;
    let (old, new, bsuid) = ("966500001740", "966500001741", "SA.1741");
    p.deliver(&text("PN1740", "wamid.F1", old, "Hello from my old phone", 5)).await;
    let ts = (chrono::Utc::now().timestamp() - 4).to_string();
    let from_new = envelope(
        "PN1740",
        json!({ "contacts": [{ "profile": { "name": "Sara", "username": "sara.k" }, "wa_id": new, "user_id": bsuid }],
                "messages": [{ "from": new, "from_user_id": bsuid, "id": "wamid.F2", "timestamp": ts,
                               "type": "text", "text": { "body": "My new number" } }] }),
    );
    p.deliver(&from_new).await;
    p.until_count("select count(*) from conversations", 2).await;
    let thread_of = |wa_id: &'static str| {
        let pool = p.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select c.conversation_id::text from conversations c join contacts k using (contact_id) where k.wa_id = $1",
            )
            .bind(wa_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (old_thread, new_thread) = (thread_of(old).await, thread_of(new).await);
    p.owner.post(&format!("/inbox/{old_thread}/labels"), &[("labels", "vip")]).await;
    p.owner.post(&format!("/inbox/{new_thread}/labels"), &[("labels", "wholesale, vip")]).await;
    p.owner.post(&format!("/inbox/{new_thread}/notes"), &[("note", "Prefers delivery on Fridays")]).await;
    p.owner.post(&format!("/inbox/{new_thread}/export"), &[]).await;
    let stop = change(
        "user_preferences",
        json!({ "messaging_product": "whatsapp", "metadata": metadata("PN1740"),
            "contacts": [{ "profile": { "name": "Sara" }, "wa_id": new }],
            "user_preferences": [{ "wa_id": new, "detail": "User requested to stop marketing messages",
                "category": "marketing_messages", "value": "stop", "timestamp": chrono::Utc::now().timestamp() - 3 }] }),
    );
    p.deliver(&stop).await;
    p.until_count("select count(*) from contacts where marketing_opt_out_at is not null", 1).await;
    assert_eq!(p.count("select count(*) from contacts where labels <> '{}'").await, 2, "both labelled");
    assert_eq!(p.count("select count(*) from notes").await, 1, "the note is kept");
    assert_eq!(p.count("select count(*) from exports where contact_id is not null").await, 1, "exported");

    // Act: Meta reports the change after the new number wrote.
    let changed = envelope(
        "PN1740",
        json!({ "messages": [{ "from": old, "id": "wamid.SYS4", "timestamp": chrono::Utc::now().timestamp().to_string(),
            "type": "system", "system": { "body": "User Sara changed from 966500001740 to 966500001741",
                "wa_id": new, "type": "user_changed_number" } }] }),
    );
    assert_eq!(p.deliver(&changed).await, StatusCode::OK);
    p.until_count("select count(*) from messages where kind = 'system'", 1).await;
    p.until_finished(&["handle_inbound"]).await;

    // Assert: one contact with every field of both: the BSUID, the username, both labels,
    // the note, and the opt-out (opt-out wins).
    assert_eq!(p.count("select count(*) from contacts").await, 1, "one customer; {}", p.diagnostics().await);
    let (wa_id, kept_bsuid, username, labels, opted_out): (
        Option<String>,
        Option<String>,
        Option<String>,
        Vec<String>,
        bool,
    ) = sqlx::query_as(
        "select wa_id, bsuid, username, labels, marketing_opt_out_at is not null from contacts",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!(wa_id.as_deref(), Some(new), "the new number");
    assert_eq!(kept_bsuid.as_deref(), Some(bsuid), "the BSUID the new number came with is kept");
    assert_eq!(username.as_deref(), Some("sara.k"), "the username is kept");
    let mut labels = labels;
    labels.sort();
    assert_eq!(labels, ["vip", "wholesale"], "the labels are the union");
    assert!(opted_out, "the customer who said stop stays opted out of marketing");
    assert_eq!(p.count("select count(*) from notes").await, 1, "the new thread's note moved along");
    assert_eq!(
        p.count("select count(*) from exports e join contacts k using (tenant_id, contact_id)").await,
        1,
        "the customer export asked for the new number is the kept contact's"
    );

    // A later BSUID-only message is the same customer, in the same thread.
    let ts = chrono::Utc::now().timestamp().to_string();
    let bsuid_only = envelope(
        "PN1740",
        json!({ "contacts": [{ "profile": { "name": "Sara" }, "user_id": bsuid }],
                "messages": [{ "from_user_id": bsuid, "id": "wamid.F3", "timestamp": ts, "type": "text", "text": { "body": "Still me" } }] }),
    );
    p.deliver(&bsuid_only).await;
    p.until_count("select count(*) from messages where body = 'Still me'", 1).await;
    assert_eq!(p.count("select count(*) from contacts").await, 1, "no second contact for the BSUID");
    assert_eq!(p.count("select count(*) from conversations").await, 1, "one conversation");
}
