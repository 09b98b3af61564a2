//! The inbox at more than a page: newest first, keyset pages, search by name, number and
//! text the way Saudis type them (Arabic letter forms, local and international numbers);
//! and the owner's "check connection" button.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{envelope, Pipeline};

#[sqlx::test(migrations = false)]
async fn the_inbox_pages_by_keyset_and_searches_names_numbers_and_text(pool: PgPool) {
    // Arrange: the bot is off; one delivery brings 35 customers.
    let p = Pipeline::start(pool, "owner@inbox.sa", "PN-I").await;
    p.configure_bot(&[("enabled", "off")]).await;
    let now = chrono::Utc::now().timestamp();
    let (mut contacts, mut messages) = (Vec::new(), Vec::new());
    for i in 0..35 {
        let from = format!("9665000010{i:02}");
        let name = if i == 7 { "نورة القحطاني".to_owned() } else { format!("Customer {i:02}") };
        let body =
            if i == 12 { "أريد كعكة شوكولاتة".to_owned() } else { format!("message {i}") };
        contacts.push(json!({ "profile": { "name": name }, "wa_id": from }));
        messages.push(json!({ "from": from, "id": format!("wamid.P{i}"), "timestamp": (now - 100 + i).to_string(), "type": "text", "text": { "body": body } }));
    }
    assert_eq!(
        p.deliver(&envelope("PN-I", json!({ "contacts": contacts, "messages": messages }))).await,
        StatusCode::OK
    );
    p.until_count("select count(*) from conversations", 35).await;

    // Act + Assert: two pages, newest first, nothing lost or repeated.
    let first = p.owner.get("/inbox").await;
    assert!(first.body.contains("Customer 34") && !first.body.contains("Customer 04"));
    let at = first.body.find("/inbox?before=").expect("a link to older conversations");
    let next = first.body[at..].split('"').next().unwrap().replace("&amp;", "&");
    let second = p.owner.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.contains("Customer 04") && !second.body.contains("Customer 34"));
    let rows = |b: &str| b.matches(r#"<a href="/inbox/"#).count();
    assert_eq!((rows(&first.body), rows(&second.body)), (30, 5));

    // Search: by Arabic name, by number (also typed in Arabic-Indic digits, the local way,
    // the international way with spaces as the app shows it, or in part), by message text;
    // Arabic with any letter form («نوره» for «نورة», «اريد» for «أريد») and diacritics.
    for (q, expect) in [
        ("نورة", "نورة القحطاني"),
        ("نوره", "نورة القحطاني"),
        ("نُورَة", "نورة القحطاني"),
        ("966500001015", "Customer 15"),
        ("٩٦٦٥٠٠٠٠١٠١٥", "Customer 15"),
        ("0500001015", "Customer 15"),
        ("+966 50 000 1015", "Customer 15"),
        ("٠٥٠٠٠٠١٠١٥", "Customer 15"),
        ("01015", "Customer 15"),
        ("شوكولاتة", "Customer 12"),
        ("اريد كعكه", "Customer 12"),
        ("CUSTOMER 33", "Customer 33"),
    ] {
        let page = p.owner.get(&format!("/inbox?q={}", urlencode(q))).await;
        assert!(page.body.contains(expect), "search {q}");
        assert_eq!(rows(&page.body), 1, "search {q} finds one");
    }
    assert!(p.model.requests().is_empty(), "the bot is off");
}

#[sqlx::test(migrations = false)]
async fn check_connection_asks_meta_and_shows_a_rejected_token(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@check.sa", "PN-C").await;
    p.owner.get("/settings/whatsapp").await;
    let ok = p.owner.post("/settings/whatsapp/check", &[]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(p.owner.get("/settings/whatsapp").await.body.contains("Meta accepted the connection."));

    // Meta now knows another token for the number: the stored one is rejected.
    p.graph.register_number("PN-C", "EAAG-some-other-token", None, None);
    p.owner.post("/settings/whatsapp/check", &[]).await;
    let page = p.owner.get("/settings/whatsapp").await;
    assert!(
        page.body.contains("Meta rejected the access token") && page.body.contains("Needs re-authorisation")
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
