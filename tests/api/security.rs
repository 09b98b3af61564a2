//! The web security baseline: CSRF, rate limits across replicas, security headers on every
//! response, cookies (only the session and language cookies, with the right attributes),
//! body limits and `next=` redirects (the known bypasses are in `redirects.rs`).

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app, TestApp},
    web::{Browser, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn a_post_without_a_valid_csrf_token_gets_403_and_changes_nothing(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let b = Browser::new(addr);
    b.sign_up("Nora", "nora@example.sa", "Nora Books", "en").await;

    // Act
    let no_token =
        b.post_raw("/profile", &[("name", "Hacked"), ("email", "nora@example.sa"), ("locale", "en")]).await;
    let wrong_token = b
        .post_raw(
            "/profile",
            &[("name", "Hacked"), ("email", "nora@example.sa"), ("locale", "en"), ("csrf_token", "forged")],
        )
        .await;
    let stranger = Browser::new(addr);
    let signup = stranger
        .post_raw(
            "/signup",
            &[
                ("name", "X"),
                ("email", "x@example.sa"),
                ("business_name", "X"),
                ("password", PASSWORD),
                ("locale", "en"),
            ],
        )
        .await;

    // Assert
    for page in [&no_token, &wrong_token, &signup] {
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(page.body.contains("<html"), "a rendered error page");
    }
    let names: Vec<String> = sqlx::query_scalar("select name from users").fetch_all(&pool).await.unwrap();
    assert_eq!(names, vec!["Nora".to_owned()]);
}

#[sqlx::test(migrations = false)]
async fn the_sixth_rapid_failed_sign_in_gets_429_even_across_two_app_instances(pool: PgPool) {
    // Arrange: two replicas sharing one database.
    migrated(&pool).await;
    let (one, two) = (spawn_app(pool.clone()).await, spawn_app(pool.clone()).await);
    Browser::new(one).sign_up("Majed", "majed@example.sa", "Majed Auto", "en").await;
    let (a, b) = (Browser::new(one), Browser::new(two));
    a.get("/signin").await;
    b.get("/signin").await;

    // Act: five failures alternate between the replicas.
    for n in 0..5 {
        let browser = if n % 2 == 0 { &a } else { &b };
        let page = browser
            .post("/signin", &[("email", "majed@example.sa"), ("password", "wrong-password-00")])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {}", n + 1);
    }
    let sixth = b.post("/signin", &[("email", "majed@example.sa"), ("password", PASSWORD)]).await;

    // Assert: refused even with the right password, on either replica.
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = sixth.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        a.post("/signin", &[("email", "majed@example.sa"), ("password", PASSWORD)]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let other = Browser::new(one);
    other.get("/signup").await;
    assert_eq!(
        other.sign_in("someone@example.sa", "whatever-123456").await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "other emails unaffected"
    );
}

pub(crate) fn assert_security_headers(path: &str, headers: &reqwest::header::HeaderMap, https: bool) {
    let csp =
        headers.get("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP")).to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline"),
        "{path}: {csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    assert!(headers.contains_key("referrer-policy"), "{path}");
    assert_eq!(headers.contains_key("strict-transport-security"), https, "{path}: HSTS only under https");
}

#[sqlx::test(migrations = false)]
async fn security_headers_are_on_pages_error_pages_and_assets_and_hsts_only_under_https(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let b = Browser::new(addr);
    b.sign_up("Reem", "reem@example.sa", "Reem Salon", "ar").await;
    for path in [
        "/",
        "/signin",
        "/dashboard",
        "/privacy",
        "/healthz",
        "/readyz",
        "/static/app.css",
        "/no-such-page",
        "/team/x/remove",
    ] {
        let page = b.get(path).await;
        assert_security_headers(path, &page.headers, false);
    }
    let not_found = b.get("/no-such-page").await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert!(not_found.body.contains(r#"dir="rtl""#), "the 404 page is in the user's language");
    let forbidden = b.post_raw("/profile", &[]).await;
    assert_security_headers("403", &forbidden.headers, false);

    let https = TestApp::new(pool).vars(&[("BASE_URL", "https://app.mujibak.example")]).spawn().await;
    let page = Browser::new(https).get("/signin").await;
    assert_security_headers("https /signin", &page.headers, true);
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[sqlx::test(migrations = false)]
async fn signing_up_and_using_the_forms_sets_only_the_session_and_language_cookies(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let b = Browser::new(addr);

    // Act: every page signed out, every form, every page signed in.
    for path in
        ["/", "/signin", "/signup", "/forgot", "/privacy", "/reset/unknown", "/invite/unknown", "/nope"]
    {
        b.get(path).await;
    }
    b.post("/lang", &[("lang", "en"), ("next", "/")]).await;
    b.post("/forgot", &[("email", "x@example.sa")]).await;
    b.post("/signin", &[("email", "x@example.sa"), ("password", "wrong-wrong-1")]).await;
    b.sign_up("Amal", "amal@example.sa", "Amal Design", "en").await;
    for path in ["/", "/dashboard", "/profile", "/password", "/team", "/account/delete", "/privacy", "/nope"]
    {
        b.get(path).await;
    }
    b.post(
        "/profile",
        &[("name", "Amal"), ("email", "amal@example.sa"), ("business_name", "Amal"), ("locale", "ar")],
    )
    .await;
    b.post("/password", &[("current_password", "wrong-wrong-1"), ("new_password", "n-lantern-harbor-5")])
        .await;
    b.post("/team/invite", &[("email", "agent@example.sa")]).await;
    b.post("/lang", &[("lang", "ar"), ("next", "/dashboard")]).await;
    b.post("/signout", &[]).await;

    // Assert
    let cookies = b.set_cookies.lock().unwrap().clone();
    assert!(cookies.iter().any(|c| c.starts_with("mujibak_session=")));
    assert!(cookies.iter().any(|c| c.starts_with("lang=")));
    for c in &cookies {
        let name = c.split('=').next().unwrap();
        assert!(name == "mujibak_session" || name == "lang", "unexpected cookie: {c}");
        assert!(c.contains("; HttpOnly") && c.contains("; SameSite=Lax") && !c.contains("Secure"), "{c}");
    }
}

#[sqlx::test(migrations = false)]
async fn next_only_redirects_to_our_own_paths_and_oversized_bodies_get_413(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Saad", "saad@example.sa", "Saad Co", "en").await;
    let b = Browser::new(addr);
    b.get("/signin").await;
    let page = b
        .post(
            "/signin",
            &[("email", "saad@example.sa"), ("password", PASSWORD), ("next", "//evil.example/x")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "a next that is not our path is refused");
    b.get("/signin").await;
    let page = b.post("/signin", &[("email", "saad@example.sa"), ("password", PASSWORD)]).await;
    assert_eq!(page.location(), "/dashboard");
    b.post("/signout", &[]).await;
    b.get("/signin").await;
    let page = b
        .post("/signin", &[("email", "saad@example.sa"), ("password", PASSWORD), ("next", "/profile")])
        .await;
    assert_eq!(page.location(), "/profile");

    let huge = "x".repeat(300 * 1024);
    let page = b.post("/profile", &[("name", &huge)]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
}
