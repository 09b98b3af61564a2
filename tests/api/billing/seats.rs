//! The plan's team seats: the trial's two seats are the owner and one agent; a third
//! person cannot be invited (422, the form says why) until the owner chooses a bigger
//! plan; an invitation accepted after the seats filled up is refused (409) and stays
//! usable once a seat frees up.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app},
    web::{link_path, verify_email, Browser, Mailbox, PASSWORD},
};

async fn members(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from users").fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn the_plans_seats_bound_invitations_and_joining(pool: PgPool) {
    // Arrange: an owner on the trial (2 seats), with one agent.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.sign_up("Mona", "mona@musk.sa", "Musk House", "en").await;
    verify_email(&owner, &mailbox.sink, "mona@musk.sa").await;
    owner.get("/team").await;
    owner.post("/team/invite", &[("email", "one@musk.sa")]).await;
    let one = link_path(&mailbox.to("one@musk.sa", "/invite/").await.1, "/invite/");
    let joined =
        Browser::new(addr).post(&one, &[("name", "One"), ("password", PASSWORD), ("locale", "en")]).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);

    // Act: a third person.
    let full = owner.post("/team/invite", &[("email", "two@musk.sa")]).await;

    // Assert: refused, nothing sent.
    assert_eq!(full.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(full.body.contains("Every team seat of your plan is taken"), "{}", full.body);
    let invited: i64 = sqlx::query_scalar("select count(*) from user_tokens where purpose = 'invitation'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(invited, 1);

    // Act: the starter plan (3 seats); two more invitations, both accepted in turn.
    owner.get("/billing").await;
    owner.post("/billing/plan", &[("plan", "starter")]).await;
    owner.get("/team").await;
    assert_eq!(owner.post("/team/invite", &[("email", "two@musk.sa")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(owner.post("/team/invite", &[("email", "three@musk.sa")]).await.status, StatusCode::SEE_OTHER);
    let two = link_path(&mailbox.to("two@musk.sa", "/invite/").await.1, "/invite/");
    let three = link_path(&mailbox.to("three@musk.sa", "/invite/").await.1, "/invite/");
    let second =
        Browser::new(addr).post(&two, &[("name", "Two"), ("password", PASSWORD), ("locale", "en")]).await;
    let third_browser = Browser::with_headers(addr, &[("accept-language", "en")]);
    third_browser.get(&three).await;
    let third =
        third_browser.post(&three, &[("name", "Three"), ("password", PASSWORD), ("locale", "en")]).await;

    // Assert: the second took the last seat; the third is told, and their link still works.
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.body);
    assert!(third.body.contains("no free seat"), "{}", third.body);
    assert_eq!(members(&pool).await, 3);
    owner.post("/billing/plan", &[("plan", "pro")]).await;
    let again =
        third_browser.post(&three, &[("name", "Three"), ("password", PASSWORD), ("locale", "en")]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(members(&pool).await, 4);
}
