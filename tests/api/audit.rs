//! The audit log: append-only in the database itself, a row for each sensitive action of
//! an owner or member (with who did it, never their email or password), and rows that
//! outlive the tenant they name.

use mujibak_core::{
    db::audit::{self, Actor},
    domain::{TenantId, UserId},
};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    helpers::migrated,
    pipeline::Pipeline,
    web::{Browser, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn the_audit_log_refuses_update_delete_and_truncate(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    audit::record(&mut conn, None, &Actor::System, "secrets_rekeyed", json!({ "connections": 0 }))
        .await
        .unwrap();

    // Act + Assert: every way of changing or removing rows fails, even one touching none.
    for sql in [
        "update audit_log set action = 'nothing happened'",
        "delete from audit_log",
        "delete from audit_log where false",
        "truncate audit_log",
    ] {
        let refused = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        assert!(refused.to_string().contains("append-only"), "{sql}: {refused}");
    }
    let rows: i64 = sqlx::query_scalar("select count(*) from audit_log").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 1);
}

#[sqlx::test(migrations = false)]
async fn an_owners_sensitive_actions_are_audited_with_who_did_them_and_outlive_the_tenant(pool: PgPool) {
    // Arrange: an owner signed up and connected a number (through the web).
    let email = "owner@audit.sa";
    let p = Pipeline::start(pool, email, "PN1700").await;
    let (tenant, user): (TenantId, UserId) =
        sqlx::query_as("select tenant_id, user_id from users").fetch_one(&p.pool).await.unwrap();

    // Act: signs in on another device, changes the password, disconnects the number.
    let phone = Browser::new(p.addr);
    assert_eq!(phone.sign_in(email, PASSWORD).await.status, StatusCode::SEE_OTHER);
    p.owner.get("/password").await;
    let changed = p
        .owner
        .post("/password", &[("current_password", PASSWORD), ("new_password", "fresh-lantern-camel-88")])
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    p.owner.get("/settings/whatsapp").await;
    assert_eq!(p.owner.post("/settings/whatsapp/disconnect", &[]).await.status, StatusCode::SEE_OTHER);

    // Assert: one row each, in order, by the owner.
    let rows = audit::for_tenant(&p.pool, tenant, 50).await.unwrap();
    let actions: Vec<&str> = rows.iter().rev().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "account_created",
            "signed_in",
            "connection_connected",
            "signed_in",
            "password_changed",
            "connection_disconnected"
        ]
    );
    for row in &rows {
        assert_eq!(
            (row.actor_kind.as_str(), row.actor_id.as_deref()),
            ("user", Some(user.to_string().as_str()))
        );
        let detail = row.detail.0.to_string();
        assert!(!detail.contains(email) && !detail.contains(PASSWORD), "{detail}");
    }

    // The rows outlive the tenant.
    sqlx::query("delete from tenants where tenant_id = $1").bind(tenant).execute(&p.pool).await.unwrap();
    assert_eq!(audit::for_tenant(&p.pool, tenant, 50).await.unwrap().len(), 6);
}
