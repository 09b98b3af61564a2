//! An account whose address was never proven cannot cost its address's owner anything:
//! it chooses no paid plan, is never invoiced and makes no model calls ("try the bot"
//! included). When the address's real owner takes the account over with a password reset,
//! whatever was set up before the address was proven (bot instructions, FAQ, documents,
//! quick replies, the plan) is cleared back to a fresh trial, and the owner is told.

use chrono::NaiveDate;
use mujibak_core::billing::run;
use mujibak_devtools::sandbox::openai::OpenAiFake;
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::{migrated, TestApp},
    web::{link_path, Browser, Mailbox},
};

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn an_unverified_account_chooses_no_paid_plan_asks_no_model_and_is_never_billed(pool: PgPool) {
    // Arrange: someone signs up with an address they do not hold (never confirmed).
    migrated(&pool).await;
    let model = OpenAiFake::start("127.0.0.1:0").await.unwrap();
    let url = model.base_url();
    let vars =
        [("ENCRYPTION_KEYS", TEST_KEYS), ("OPENAI_BASE_URL", url.as_str()), ("OPENAI_API_KEY", "sk-x")];
    let addr = TestApp::new(pool.clone()).vars(&vars).spawn().await;
    let b = Browser::with_headers(addr, &[("accept-language", "en")]);
    b.sign_up("Mallory", "victim@unverified.sa", "Victim Shop", "en").await;

    // Act: choose Pro; ask the bot a question and run sample questions.
    b.get("/billing").await;
    let chosen = b.post("/billing/plan", &[("plan", "pro")]).await;
    b.get("/settings/bot").await;
    let tried = b.post("/settings/bot/try", &[("question", "When do you open?")]).await;
    let samples = b.post("/settings/bot/try", &[("samples", "When do you open? => 7am")]).await;

    // Assert: still on the trial, told why; no model call was made.
    assert_eq!(chosen.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", chosen.body);
    assert!(chosen.body.contains("Confirm your email address first"), "{}", chosen.body);
    assert_eq!(scalar(&pool, "select count(*) from tenants where plan_id = 'trial'").await, 1);
    assert_eq!(tried.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(samples.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tried.body.contains("Confirm your email address first"), "{}", tried.body);
    assert!(model.requests().is_empty(), "an unverified account asked the model");

    // Act: an account left on a paid plan without a proven address (made before this rule).
    sqlx::query("update tenants set plan_id = 'pro'").execute(&pool).await.unwrap();
    let billable = run::billable(&pool, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).await.unwrap();
    let december = run::billable(&pool, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).await.unwrap();

    // Assert: not invoiced.
    assert!(billable.is_empty() && december.is_empty(), "an unverified account would be billed");
}

#[sqlx::test(migrations = false)]
async fn a_reset_that_takes_over_a_never_verified_account_clears_what_was_set_up_before(pool: PgPool) {
    // Arrange: an attacker signs up with the victim's address and sets the bot up to send
    // customers to their own bank account; then signs out.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = TestApp::new(pool.clone()).vars(&[("ENCRYPTION_KEYS", TEST_KEYS)]).spawn().await;
    let attacker = Browser::with_headers(addr, &[("accept-language", "en")]);
    attacker.sign_up("Mallory", "owner@takeover.sa", "Real Bakery", "en").await;
    let iban = "Pay by transfer to SA0380000000608010167519";
    attacker.get("/settings/bot").await;
    let saved = attacker
        .post("/settings/bot", &[("enabled", "on"), ("instructions", iban), ("reply_language", "match")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    attacker.get("/settings/knowledge").await;
    attacker.post("/settings/knowledge/faq", &[("question", "How do I pay?"), ("answer", iban)]).await;
    attacker.post("/settings/knowledge/documents", &[("title", "Payments"), ("text", iban)]).await;
    attacker.get("/settings/replies").await;
    attacker.post("/settings/replies", &[("shortcut", "pay"), ("body", iban)]).await;
    let planted = scalar(&pool, "select count(*) from quick_replies").await
        + scalar(&pool, "select count(*) from knowledge_entries").await;
    assert!(planted >= 2, "the attacker's setup was stored ({planted} rows)");

    // Act: the address's real owner resets the password from the emailed link.
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.get("/forgot").await;
    owner.post("/forgot", &[("email", "owner@takeover.sa")]).await;
    let link = link_path(&mailbox.to("owner@takeover.sa", "/reset/").await.1, "/reset/");
    owner.get(&link).await;
    let reset = owner.post(&link, &[("password", "brand-new-lantern-77")]).await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    let told = owner.follow(&reset).await;

    // Assert: nothing the attacker wrote is left; the owner is told.
    assert!(told.body.contains("cleared"), "the owner was not told: {}", told.body);
    for table in ["quick_replies", "knowledge_entries", "knowledge_passages"] {
        assert_eq!(scalar(&pool, &format!("select count(*) from {table}")).await, 0, "{table}");
    }
    let instructions: Option<String> =
        sqlx::query_scalar("select instructions from bot_settings").fetch_optional(&pool).await.unwrap();
    assert!(!instructions.unwrap_or_default().contains("SA0380"), "the bot still holds the attacker's text");
    assert_eq!(scalar(&pool, "select count(*) from tenants where plan_id = 'trial'").await, 1);
    assert_eq!(
        scalar(&pool, "select count(*) from audit_log where action = 'unverified_setup_cleared'").await,
        1
    );
}
