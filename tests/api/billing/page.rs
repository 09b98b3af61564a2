//! The billing page: an owner sees the plan and this month's AI replies against it (also on
//! the dashboard), chooses a paid plan (at once, audited) and cannot go back to the trial
//! or choose a plan that does not exist (422, nothing changed); a reply the model wrote shows in the
//! count, the fallback and a person's reply do not.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::pipeline::{text, Pipeline};

async fn plan(p: &Pipeline) -> String {
    sqlx::query_scalar("select plan_id from tenants").fetch_one(&p.pool).await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn an_owner_sees_usage_against_the_plan_and_changes_plan_at_once_audited(pool: PgPool) {
    // Arrange: one customer answered by the model, and one answered by a person.
    let p = Pipeline::start(pool, "owner@billing.sa", "PN2201").await;
    p.deliver(&text("PN2201", "wamid.B1", "966500002201", "Do you deliver?", 1)).await;
    p.sends(1).await;
    p.until_count("select coalesce(sum(replies), 0)::bigint from ai_usage_monthly", 1).await;
    let conversation = p.conversation_id().await;
    p.owner.get(&format!("/inbox/{conversation}")).await;
    p.owner.post(&format!("/inbox/{conversation}/reply"), &[("text", "Yes, across Riyadh.")]).await;
    p.sends(2).await;

    // Act
    let page = p.owner.get("/billing").await;
    let dashboard = p.owner.get("/dashboard").await;
    let unknown = p.owner.post("/billing/plan", &[("plan", "platinum")]).await;
    let before = plan(&p).await;
    let chosen = p.owner.post("/billing/plan", &[("plan", "starter")]).await;
    let after = p.owner.get("/billing").await;
    let back_to_trial = p.owner.post("/billing/plan", &[("plan", "trial")]).await;

    // Assert
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("1 of 100 AI replies used this month"), "{}", page.body);
    assert!(page.body.contains("99.00 SAR") && page.body.contains("113.85 SAR with VAT"), "{}", page.body);
    assert!(dashboard.body.contains("AI replies this month: 1 of 100"), "{}", dashboard.body);
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("Choose one of the plans listed."));
    assert_eq!(before, "trial", "a refused choice changes nothing");
    assert_eq!((chosen.status, chosen.location()), (StatusCode::SEE_OTHER, "/billing"));
    assert_eq!(plan(&p).await, "starter");
    assert!(after.body.contains("1 of 1000 AI replies used this month"), "{}", after.body);
    assert!(after.body.contains("Your plan is changed"), "{}", after.body);
    assert_eq!(back_to_trial.status, StatusCode::UNPROCESSABLE_ENTITY, "the trial is not chosen again");
    assert_eq!(plan(&p).await, "starter");
    let detail: serde_json::Value =
        sqlx::query_scalar("select detail from audit_log where action = 'plan_changed'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(detail, serde_json::json!({ "from": "trial", "to": "starter" }));
    // No plan sells more WhatsApp numbers than a business can connect (one).
    let most: i32 = sqlx::query_scalar("select max(numbers) from plans").fetch_one(&p.pool).await.unwrap();
    assert_eq!(most, 1);
    let more = sqlx::query("update plans set numbers = 3 where plan_id = 'pro'").execute(&p.pool).await;
    assert!(more.is_err(), "the database refuses a plan promising numbers that cannot be connected");
}
