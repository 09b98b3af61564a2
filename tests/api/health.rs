//! `/healthz` answers while the process lives; `/readyz` only when the database answers
//! and is fully migrated.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{migrated, spawn_app};

#[sqlx::test(migrations = false)]
async fn healthz_and_readyz_answer_on_a_migrated_database(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;

    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[sqlx::test(migrations = false)]
async fn readyz_is_unavailable_while_migrations_are_pending(pool: PgPool) {
    let addr = spawn_app(pool).await;

    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.text().await.unwrap().contains("pending migration"));
}
