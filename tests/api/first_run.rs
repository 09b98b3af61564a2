//! What a newcomer and an operator meet first: in `mujibak dev` the app accepts forms
//! whether it is opened at `127.0.0.1` or at `localhost` (production accepts only
//! `BASE_URL`).

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app_as},
    web::{Browser, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn in_dev_the_app_opened_at_127_0_0_1_or_at_localhost_accepts_sign_in(pool: PgPool) {
    // Arrange: the dev app (BASE_URL is its 127.0.0.1 address); an owner signs up there.
    migrated(&pool).await;
    let addr = spawn_app_as(pool, &[], true).await;
    let first = format!("http://127.0.0.1:{}", addr.port());
    let signed_up =
        Browser::at(&first, &[("origin", &first)]).sign_up("Noura", "noura@dev.sa", "Dev Bakery", "en").await;
    assert!(signed_up.status.is_success() && signed_up.body.contains("Dev Bakery"), "{}", signed_up.status);

    for host in ["127.0.0.1", "localhost"] {
        // Act: a browser that opened the app at this host signs in (its forms carry that Origin).
        let origin = format!("http://{host}:{}", addr.port());
        let page = Browser::at(&origin, &[("origin", &origin)]).sign_in("noura@dev.sa", PASSWORD).await;

        // Assert
        assert_eq!(page.status, StatusCode::SEE_OTHER, "signing in at {host}: {}", page.status);
        assert_eq!(page.location(), "/dashboard", "signing in at {host}");
    }
}

#[sqlx::test(migrations = false)]
async fn in_production_a_form_from_another_spelling_of_the_address_is_refused(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app_as(pool, &[], false).await;
    let other = format!("http://localhost:{}", addr.port());
    let page = Browser::at(&other, &[("origin", &other)]).sign_in("nobody@prod.sa", PASSWORD).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "BASE_URL is http://127.0.0.1:{}", addr.port());
}
