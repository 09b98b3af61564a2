//! Roles and tenants: agents get 403 on owner-only pages; nobody reaches another tenant's
//! resources (404, as if they did not exist). Also the invitation flow that makes agents.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app},
    web::{link_path, verify_email, Browser, Mailbox, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn an_invited_agent_joins_and_gets_403_on_owner_only_pages(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let owner = Browser::new(addr);
    owner.sign_up("Khalid", "khalid@dates.sa", "Khalid Dates", "en").await;
    verify_email(&owner, &mailbox.sink, "khalid@dates.sa").await;

    // Act: invite, accept from the emailed link.
    owner.get("/team").await;
    let invited = owner.post("/team/invite", &[("email", "agent@dates.sa")]).await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    let (_, text) = mailbox.to("agent@dates.sa", "/invite/").await;
    let agent = Browser::new(addr);
    let link = link_path(&text, "/invite/");
    let form = agent.get(&link).await;
    assert!(form.body.contains("Khalid Dates"));
    let joined = agent.post(&link, &[("name", "Yousef"), ("password", PASSWORD), ("locale", "en")]).await;
    assert_eq!((joined.status, joined.location()), (StatusCode::SEE_OTHER, "/dashboard"));

    // Assert
    assert_eq!(agent.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(agent.get("/team").await.status, StatusCode::FORBIDDEN);
    assert_eq!(agent.post("/team/invite", &[("email", "x@dates.sa")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(agent.get(&link).await.status, StatusCode::GONE, "an invitation works once");
    let team = owner.get("/team").await;
    assert!(team.body.contains("Yousef") && team.body.contains("agent@dates.sa"));
    let profile = agent.get("/profile").await;
    assert!(!profile.body.contains(r#"name="business_name""#), "agents cannot rename the business");
}

#[sqlx::test(migrations = false)]
async fn a_user_of_tenant_a_gets_404_on_tenant_b_resources(pool: PgPool) {
    // Arrange: tenant B has an agent.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let owner_b = Browser::new(addr);
    owner_b.sign_up("Bader", "bader@b.sa", "Tenant B", "en").await;
    verify_email(&owner_b, &mailbox.sink, "bader@b.sa").await;
    owner_b.get("/team").await;
    owner_b.post("/team/invite", &[("email", "agent@b.sa")]).await;
    let link = link_path(&mailbox.to("agent@b.sa", "/invite/").await.1, "/invite/");
    Browser::new(addr).post(&link, &[("name", "Agent B"), ("password", PASSWORD), ("locale", "en")]).await;
    let agent_b: String = sqlx::query_scalar("select user_id::text from users where email = 'agent@b.sa'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let owner_a = Browser::new(addr);
    owner_a.sign_up("Abeer", "abeer@a.sa", "Tenant A", "en").await;

    // Act
    owner_a.get("/team").await;
    let removed = owner_a.post(&format!("/team/{agent_b}/remove"), &[]).await;
    let garbage = owner_a.post("/team/not-a-uuid/remove", &[]).await;
    let team_a = owner_a.get("/team").await;

    // Assert
    assert_eq!(removed.status, StatusCode::NOT_FOUND);
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
    assert!(!team_a.body.contains("Agent B") && !team_a.body.contains("agent@b.sa"));
    let still: i64 = sqlx::query_scalar("select count(*) from users where email = 'agent@b.sa'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(still, 1);
    owner_b.get("/team").await;
    let removed_by_owner = owner_b.post(&format!("/team/{agent_b}/remove"), &[]).await;
    assert_eq!(removed_by_owner.status, StatusCode::SEE_OTHER, "its own owner can remove it");
}
