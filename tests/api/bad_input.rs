//! Input no form expects: a NUL byte in any field, query or path, or a form with a field missing,
//! is answered 400/422 in the visitor's language (the form shown again where there is
//! one), never 500 and never with serde's own words.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app},
    web::{Browser, Page},
};

const EN: &str = "This field holds characters that cannot be accepted.";
const AR: &str = "يحتوي هذا الحقل على رموز لا يمكن قبولها.";

fn assert_refused(what: &str, page: &Page, message: &str) {
    assert!(
        matches!(page.status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY),
        "{what}: {}",
        page.status
    );
    assert!(page.body.contains(message), "{what}: the message in the visitor's language: {}", page.body);
    assert!(!page.body.contains("deserialize"), "{what}: serde's words reached the visitor");
}

#[sqlx::test(migrations = false)]
async fn a_nul_byte_in_any_field_or_query_is_refused_in_the_visitors_language(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    let b = Browser::with_headers(addr, &[("accept-language", "en")]);

    // Signed out.
    b.get("/signin").await;
    let page = b.post("/signin", &[("email", "a\0@example.sa"), ("password", "whatever-123456")]).await;
    assert_refused("/signin", &page, EN);
    assert!(page.body.contains(r#"action="/signin""#), "the sign-in form is shown again");
    b.get("/forgot").await;
    assert_refused("/forgot", &b.post("/forgot", &[("email", "a\0@example.sa")]).await, EN);
    b.get("/signup").await;
    let form = [
        ("name", "N\0"),
        ("email", "n@example.sa"),
        ("business_name", "B"),
        ("password", "x"),
        ("locale", "en"),
    ];
    let page = b.post("/signup", &form).await;
    assert_refused("/signup", &page, EN);
    assert!(page.body.contains(r#"action="/signup""#), "the sign-up form is shown again");

    // Signed in.
    b.sign_up("Nour", "nour@example.sa", "Nour Shop", "en").await;
    assert_refused("/inbox?q=%00", &b.get("/inbox?q=%00").await, EN);
    assert_refused("/inbox/%00", &b.get("/inbox/%00").await, EN);
    assert_refused("/reset/%00", &b.get("/reset/%00").await, EN);
    let webhook = reqwest::get(format!("http://{addr}/webhooks/whatsapp/%00")).await.unwrap();
    assert_eq!(webhook.status(), StatusCode::NOT_FOUND, "a key that cannot be one names no connection");
    b.get("/profile").await;
    let page =
        b.post("/profile", &[("name", "Nour\0"), ("email", "nour@example.sa"), ("locale", "en")]).await;
    assert_refused("/profile", &page, EN);
    b.get("/settings/bot").await;
    let page = b.post("/settings/bot", &[("description", "\0"), ("reply_language", "match")]).await;
    assert_refused("/settings/bot", &page, EN);

    // In Arabic, and a form with a field missing.
    let ar = Browser::with_headers(addr, &[("accept-language", "ar")]);
    ar.get("/forgot").await;
    assert_refused("/forgot (ar)", &ar.post("/forgot", &[("email", "\0")]).await, AR);
    let missing = ar.post("/signin", &[("email", "a@example.sa")]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        missing.body.contains(r#"dir="rtl""#) && !missing.body.contains("deserialize"),
        "{}",
        missing.body
    );
}
