//! One customer's data on request (the business is the controller of its customers'
//! data): from the contact panel an owner exports one customer (the account export's
//! files and format, only that customer's rows) and erases one customer (a confirmation
//! with a reason, audited; the same purge path as an account deletion, scoped to the
//! contact). Afterwards a `pg_dump` holds none of the erased customer's numbers (the one
//! they changed from too), name,
//! texts, notes, labels or file bytes, and all of the other customers'; a customer who
//! writes again starts as a new contact.

use mujibak_jobs::{delete_account::DeleteAccount, export_data::ExportData};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    export::unzip,
    helpers::drain_jobs,
    pipeline::{change, envelope, metadata, Pipeline},
    purge::{dump, other_business_customer},
};

/// A text message from phone customer `from` whose WhatsApp profile name is `name`.
fn from(name: &str, from: &str, wamid: &str, body: &str) -> Value {
    let ts = (chrono::Utc::now().timestamp() - 1).to_string();
    envelope(
        "PN2900",
        json!({
            "contacts": [{ "profile": { "name": name }, "wa_id": from }],
            "messages": [{ "from": from, "id": wamid, "timestamp": ts, "type": "text", "text": { "body": body } }]
        }),
    )
}

async fn conversation_of(p: &Pipeline, number: &str) -> String {
    sqlx::query_scalar(
        "select c.conversation_id::text from conversations c join contacts k using (tenant_id, contact_id)
          where k.wa_id = $1",
    )
    .bind(number)
    .fetch_one(&p.pool)
    .await
    .unwrap()
}

/// Gives the customer's first message a stored file (a voice note's bytes).
async fn file_for(p: &Pipeline, wamid: &str, bytes: &[u8]) {
    sqlx::query(
        "insert into media (tenant_id, message_id, media_id, kind, mime_type, status, bytes, byte_size, understood)
         select tenant_id, message_id, 'MEDIA-' || wamid, 'audio', 'audio/ogg', 'ready', $2, length($2), 'TRANSCRIPT ' || wamid
           from messages where wamid = $1",
    )
    .bind(wamid)
    .bind(bytes)
    .execute(&p.pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = false)]
async fn an_erased_customer_is_in_no_dump_the_others_all_are_and_writing_again_starts_anew(pool: PgPool) {
    // Arrange: two customers of one business, each with a reply, a note, a label and a
    // file; a customer of another business.
    let p = Pipeline::start(pool, "owner@erase.sa", "PN2900").await;
    // The customer to erase wrote first from a number they then changed.
    p.deliver(&from("Reem Alharbi", "966500002911", "wamid.ERASE0", "OLD-NUMBER-WORDS hello")).await;
    p.sends(1).await;
    let stop = change(
        "user_preferences",
        json!({ "messaging_product": "whatsapp", "metadata": metadata("PN2900"),
            "contacts": [{ "profile": { "name": "Reem Alharbi" }, "wa_id": "966500002911" }],
            "user_preferences": [{ "wa_id": "966500002911", "detail": "User requested to stop marketing messages",
                "category": "marketing_messages", "value": "stop", "timestamp": chrono::Utc::now().timestamp() }] }),
    );
    p.deliver(&stop).await;
    p.until_finished(&["handle_inbound"]).await;
    let changed = envelope(
        "PN2900",
        json!({ "messages": [{ "from": "966500002911", "id": "wamid.ERASE-SYS", "timestamp": chrono::Utc::now().timestamp().to_string(),
            "type": "system", "system": { "body": "User Reem changed from 966500002911 to 966500002901",
                "wa_id": "966500002901", "type": "user_changed_number" } }] }),
    );
    p.deliver(&changed).await;
    p.until_finished(&["handle_inbound"]).await;
    // The contact follows the new number before the customer writes from it.
    p.until_count("select count(*) from contacts where wa_id = '966500002901'", 1).await;
    assert_eq!(p.count("select count(*) from contacts").await, 1, "one contact, at the new number");
    p.deliver(&from("Reem Alharbi", "966500002901", "wamid.ERASE1", "ERASE-ME my door code is 4471")).await;
    p.deliver(&from("Nora Keepwell", "966500002902", "wamid.KEEP1", "KEEP-ME do you open on Friday")).await;
    p.sends(3).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    let (gone_bytes, kept_bytes) = (b"GONE-FILE-BYTES-0xA1".to_vec(), b"KEPT-FILE-BYTES-0xB2".to_vec());
    file_for(&p, "wamid.ERASE1", &gone_bytes).await;
    file_for(&p, "wamid.KEEP1", &kept_bytes).await;
    let (gone, kept) = (conversation_of(&p, "966500002901").await, conversation_of(&p, "966500002902").await);
    for (conversation, word) in [(&gone, "erasenote"), (&kept, "keepnote")] {
        p.owner.get(&format!("/inbox/{conversation}")).await;
        p.owner
            .post(&format!("/inbox/{conversation}/notes"), &[("note", &format!("{word} gate code"))])
            .await;
        p.owner.post(&format!("/inbox/{conversation}/labels"), &[("labels", &format!("{word}label"))]).await;
    }
    other_business_customer(&p.pool).await;
    let (gone_hex, kept_hex) = (hex::encode(&gone_bytes), hex::encode(&kept_bytes));
    let erased = [
        "966500002901",
        "966500002911",
        "Reem Alharbi",
        "ERASE-ME",
        "OLD-NUMBER-WORDS",
        "erasenote gate",
        "erasenotelabel",
        gone_hex.as_str(),
    ];
    let others = [
        "966500002902",
        "Nora Keepwell",
        "KEEP-ME",
        "keepnote gate",
        "keepnotelabel",
        &kept_hex,
        "Other Customer",
    ];
    let before = dump(&p.pool);
    for needle in erased.iter().chain(&others) {
        assert!(before.contains(needle), "the dump had {needle:?} before");
    }

    // Act: the owner opens the confirmation, is refused without a reason, then erases.
    let thread = p.owner.get(&format!("/inbox/{gone}")).await;
    assert!(thread.body.contains(&format!(r#"href="/inbox/{gone}/erase""#)), "the contact panel offers it");
    let confirm = p.owner.get(&format!("/inbox/{gone}/erase")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Reem Alharbi") && confirm.body.contains("cannot be undone"));
    let refused = p.owner.post(&format!("/inbox/{gone}/erase"), &[("reason", "  ")]).await;
    assert_eq!(refused.headers["location"], format!("/inbox/{gone}/erase"));
    assert_eq!(p.count("select count(*) from apalis.jobs where job_type = 'delete_account'").await, 0);
    let done =
        p.owner.post(&format!("/inbox/{gone}/erase"), &[("reason", "Asked by WhatsApp on 6 Dec")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(drain_jobs::<DeleteAccount>(p.ctx()).await, 1);

    // Assert: none of the erased customer, all of the others.
    let after = dump(&p.pool);
    for needle in erased.iter().chain(&["500002901", "door code"]) {
        let rows: Vec<&str> = after.lines().filter(|l| l.contains(needle)).collect();
        assert!(rows.is_empty(), "the dump still holds {needle:?}: {rows:#?}");
    }
    for needle in others {
        assert!(after.contains(needle), "the dump lost {needle:?}, which was not the erased customer's");
    }
    assert_eq!(p.owner.get(&format!("/inbox/{gone}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(p.owner.get(&format!("/inbox/{kept}")).await.status, StatusCode::OK);
    let usage: i64 = p.count("select coalesce(sum(inbound), 0) from usage_daily").await;
    assert_eq!(usage, 3, "usage counts keep the erased customer's messages as numbers");
    let reasons: Vec<(String, Option<String>)> =
        sqlx::query_as("select action, detail ->> 'reason' from audit_log where action like 'customer_era%' order by audit_id")
            .fetch_all(&p.pool)
            .await
            .unwrap();
    assert_eq!(
        reasons,
        vec![
            ("customer_erasure_requested".into(), Some("Asked by WhatsApp on 6 Dec".into())),
            ("customer_erased".into(), None)
        ]
    );
    // Running it again (a retried job) changes nothing and audits nothing more.
    let detail: Value = sqlx::query_scalar("select detail from audit_log where action = 'customer_erased'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    let contact = serde_json::from_value(detail["contact_id"].clone()).unwrap();
    let tenant = sqlx::query_scalar("select tenant_id from users").fetch_one(&p.pool).await.unwrap();
    assert_eq!(mujibak_core::erasure::carry_out(&p.pool, tenant, contact).await.unwrap(), 0);
    assert_eq!(p.count("select count(*) from audit_log where action = 'customer_erased'").await, 1);

    // The customer writes again: a new contact, with only the new message.
    p.deliver(&from("Reem Alharbi", "966500002901", "wamid.ERASE2", "hello again")).await;
    p.sends(4).await;
    let fresh = conversation_of(&p, "966500002901").await;
    assert_ne!(fresh, gone);
    let texts: Vec<String> = sqlx::query_scalar(
        "select body from messages where conversation_id = $1::uuid and direction = 'in' order by created_at",
    )
    .bind(&fresh)
    .fetch_all(&p.pool)
    .await
    .unwrap();
    assert_eq!(texts, vec!["hello again".to_owned()]);
}

#[sqlx::test(migrations = false)]
async fn a_customer_export_holds_that_customer_in_the_account_exports_format_and_no_one_else(pool: PgPool) {
    // Arrange: two customers; the owner exports the whole account first, for the format.
    let p = Pipeline::start(pool, "owner@custexport.sa", "PN2900").await;
    p.deliver(&from("Reem Alharbi", "966500002901", "wamid.CE1", "MINE-ONLY words")).await;
    p.deliver(&from("Nora Keepwell", "966500002902", "wamid.CE2", "NOT-MINE words")).await;
    p.sends(2).await;
    file_for(&p, "wamid.CE1", b"MY-FILE").await;
    file_for(&p, "wamid.CE2", b"HER-FILE").await;
    let mine = conversation_of(&p, "966500002901").await;
    p.owner.get(&format!("/inbox/{mine}")).await;
    p.owner.post(&format!("/inbox/{mine}/notes"), &[("note", "MY-NOTE")]).await;
    p.owner.get("/account/export").await;
    p.owner.post("/account/export", &[]).await;
    drain_jobs::<ExportData>(p.ctx()).await;
    let account_zip = download_latest(&p).await;

    // Act
    p.owner.get(&format!("/inbox/{mine}")).await;
    let asked = p.owner.post(&format!("/inbox/{mine}/export"), &[]).await;
    assert_eq!(
        (asked.status, asked.headers["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/account/export")
    );
    assert_eq!(drain_jobs::<ExportData>(p.ctx()).await, 1);
    let listed = p.owner.get("/account/export").await;
    assert!(listed.body.contains("one customer"), "the exports page says which is the customer's");
    let files = download_latest(&p).await;

    // Assert: the account export's files that hold customers, with only this one.
    let names: Vec<&String> = files.keys().collect();
    for name in &names {
        assert!(account_zip.contains_key(*name), "{name} is a file of the account export too");
    }
    for name in
        ["README.txt", "contacts.json", "conversations.json", "notes.json", "media.json", "messages.csv"]
    {
        assert!(files.contains_key(name), "{name} missing: {names:?}");
    }
    assert!(!files.contains_key("users.json") && !files.contains_key("account.json"));
    let all: String = files.values().cloned().collect();
    for needle in ["966500002901", "Reem Alharbi", "MINE-ONLY", "MY-NOTE", "MY-FILE", "TRANSCRIPT wamid.CE1"]
    {
        assert!(all.contains(needle), "the customer's export lacks {needle:?}");
    }
    for needle in ["966500002902", "Nora Keepwell", "NOT-MINE", "HER-FILE", "owner@custexport.sa"] {
        assert!(!all.contains(needle), "the customer's export holds {needle:?}");
    }
    let contacts: Value = serde_json::from_str(&files["contacts.json"]).unwrap();
    let account_contacts: Value = serde_json::from_str(&account_zip["contacts.json"]).unwrap();
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    let same = account_contacts.as_array().unwrap().iter().find(|c| c["wa_id"] == "966500002901").unwrap();
    assert_eq!(&contacts[0], same, "the same row, as the account export writes it");
    assert_eq!(p.count("select count(*) from audit_log where action = 'customer_export_requested'").await, 1);
}

/// Downloads the newest ready export.
async fn download_latest(p: &Pipeline) -> std::collections::BTreeMap<String, String> {
    let id: String = sqlx::query_scalar(
        "select export_id::text from exports where status = 'ready' order by requested_at desc limit 1",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    let (status, _, bytes) = p.owner.get_bytes(&format!("/account/export/{id}/download")).await;
    assert_eq!(status, StatusCode::OK);
    unzip(&bytes)
}
