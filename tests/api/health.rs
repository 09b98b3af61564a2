//! `/healthz` answers while the process lives; `/readyz` only when the database answers,
//! is fully migrated, and no queue's oldest due job waited past the limit.

use mujibak_jobs::{enqueue_at, prune_sessions::PruneSessions};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{migrated, spawn_app, TestApp};

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

#[sqlx::test(migrations = false)]
async fn readyz_reports_degraded_naming_the_queue_whose_oldest_due_job_waited_too_long(pool: PgPool) {
    // Arrange: a 60 s limit; a job due just now, one scheduled later, then one due 10 minutes ago.
    migrated(&pool).await;
    let addr = TestApp::new(pool.clone()).vars(&[("READYZ_MAX_QUEUE_AGE_SECS", "60")]).spawn().await;
    let push = |at: chrono::DateTime<chrono::Utc>| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            enqueue_at(&mut conn, &PruneSessions {}, at).await.unwrap();
        }
    };
    push(chrono::Utc::now()).await;
    push(chrono::Utc::now() + chrono::Duration::hours(1)).await;

    // Act + Assert: fresh work is not degraded.
    let fresh = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);

    // Act
    push(chrono::Utc::now() - chrono::Duration::minutes(10)).await;
    let stale = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();

    // Assert
    assert_eq!(stale.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = stale.text().await.unwrap();
    assert!(body.starts_with("degraded: queue prune_sessions has a job due 60"), "{body}");
    assert!(body.contains("(limit 60s)"), "{body}");
}
