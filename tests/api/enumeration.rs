//! What a page may give away: whether an address has an account (invitations, email
//! changes, reset requests answer alike, in content and in time), signed-in pages kept in a
//! cache, and session rows made for visitors without a cookie.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{eventually, migrated, spawn_app},
    web::{verify_email, Browser, Mailbox, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn inviting_or_moving_to_an_address_with_an_account_answers_like_any_other(pool: PgPool) {
    // Arrange: someone else's account exists.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Other", "taken@example.sa", "Other Shop", "en").await;
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.sign_up("Lama", "lama@example.sa", "Lama Shop", "en").await;
    verify_email(&owner, &mailbox.sink, "lama@example.sa").await;

    // Act
    owner.get("/team").await;
    let fresh = owner.post("/team/invite", &[("email", "fresh@example.sa")]).await;
    let taken = owner.post("/team/invite", &[("email", "taken@example.sa")]).await;
    let (fresh_page, taken_page) = (owner.follow(&fresh).await, owner.follow(&taken).await);
    owner.get("/profile").await;
    let change = |email: &'static str| {
        [
            ("name", "Lama"),
            ("email", email),
            ("business_name", "Lama Shop"),
            ("locale", "en"),
            ("current_password", PASSWORD),
        ]
    };
    let moved_fresh = owner.post("/profile", &change("fresh2@example.sa")).await;
    let moved_fresh_page = owner.follow(&moved_fresh).await;
    owner.get("/profile").await;
    let moved_taken = owner.post("/profile", &change("taken@example.sa")).await;
    let moved_taken_page = owner.follow(&moved_taken).await;

    // Assert: the same answers (the team page lists both as open invitations).
    assert_eq!(
        (fresh.status, taken.status),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER),
        "{}",
        taken.body
    );
    assert!(taken_page.body.contains("taken@example.sa") && fresh_page.body.contains("fresh@example.sa"));
    assert_eq!(moved_fresh.status, StatusCode::SEE_OTHER);
    assert_eq!(moved_taken.status, moved_fresh.status, "{}", moved_taken.body);
    assert_eq!(moved_taken_page.body, moved_fresh_page.body, "the profile page tells the addresses apart");
    // The holder of the taken address hears about it; nobody gets a link that could work.
    let (_, note) = mailbox.to("taken@example.sa", "already").await;
    assert!(!note.contains("/invite/") && !note.contains("/profile/email/"), "{note}");
}

#[sqlx::test(migrations = false)]
async fn the_answer_to_a_reset_request_does_not_wait_for_the_account(pool: PgPool) {
    // Arrange: the account's row is locked, so any work on it waits.
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Wafa", "wafa@example.sa", "Wafa Shop", "en").await;
    let b = Browser::new(addr);
    b.get("/forgot").await;
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("select 1 from users where email = 'wafa@example.sa' for update")
        .execute(&mut *lock)
        .await
        .unwrap();

    // Act
    let answer =
        tokio::time::timeout(Duration::from_secs(5), b.post("/forgot", &[("email", "wafa@example.sa")]))
            .await;
    let unknown = b.post("/forgot", &[("email", "ghost@example.sa")]).await;
    lock.rollback().await.unwrap();

    // Assert: answered at once, like an unknown address; the email follows once the row is free.
    let answer = answer.expect("the answer for a known address waited for work on the account");
    assert_eq!((answer.status, answer.location()), (unknown.status, unknown.location()));
    eventually(Duration::from_secs(15), "the reset email to be queued", || async {
        let n: i64 = sqlx::query_scalar("select count(*) from emails where kind = 'password_reset'")
            .fetch_one(&pool)
            .await
            .unwrap();
        (n == 1).then_some(())
    })
    .await;
}

#[sqlx::test(migrations = false)]
async fn signed_in_pages_tell_caches_not_to_store_them(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    let b = Browser::new(addr);
    b.sign_up("Sama", "sama@example.sa", "Sama Shop", "en").await;
    for path in
        ["/dashboard", "/inbox", "/profile", "/password", "/team", "/settings/bot", "/settings/whatsapp"]
    {
        let page = b.get(path).await;
        let cache = page.headers.get("cache-control").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(cache.as_deref(), Some("no-store"), "{path}");
    }
}

#[sqlx::test(migrations = false)]
async fn requests_without_a_cookie_store_no_session_and_forms_still_work(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let sessions = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from sessions").fetch_one(&pool).await.unwrap()
    };

    for n in 0..20 {
        let page = reqwest::get(format!("http://{addr}/no-such-page-{n}")).await.unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
    }
    reqwest::get(format!("http://{addr}/signin")).await.unwrap();
    assert_eq!(sessions().await, 0, "anonymous requests without a cookie stored sessions");

    // A visitor's form still carries a CSRF token the server accepts.
    let b = Browser::new(addr);
    b.get("/signin").await;
    let page = b.post("/signin", &[("email", "x@example.sa"), ("password", "whatever-123456")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrations = false)]
async fn a_reset_request_left_by_a_stopped_web_process_is_handled_by_the_next_one(pool: PgPool) {
    // Arrange: an owner, and a reset request kept by a web process that stopped before
    // handling it: no web process runs while it waits.
    use mujibak_core::{
        accounts,
        domain::{DisplayName, EmailAddress, Locale, NewPassword},
    };
    migrated(&pool).await;
    let sign_up = accounts::SignUp {
        name: DisplayName::parse("Reem", 80).unwrap(),
        email: EmailAddress::parse("reem@example.sa").unwrap(),
        business_name: DisplayName::parse("Reem Shop", 80).unwrap(),
        password: NewPassword::parse("a long and private phrase", &[]).unwrap(),
        locale: Locale::En,
    };
    accounts::sign_up(&mut pool.acquire().await.unwrap(), sign_up).await.unwrap();
    mujibak_core::db::reset_requests::insert(&pool, "reem@example.sa").await.unwrap();
    let waiting = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from password_reset_requests")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(waiting().await, 1, "nothing handles it while no web process runs");

    // Act: the next web process starts.
    let _next = spawn_app(pool.clone()).await;

    // Assert: the email is queued once and the request is gone.
    eventually(Duration::from_secs(15), "the kept request to be handled", || async {
        (waiting().await == 0).then_some(())
    })
    .await;
    let sent: i64 = sqlx::query_scalar("select count(*) from emails where kind = 'password_reset'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sent, 1);
}

#[sqlx::test(migrations = false)]
async fn signing_up_with_an_address_that_has_an_account_answers_like_a_new_address(pool: PgPool) {
    // Arrange: someone's account.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Owner", "taken@signup.sa", "Owner Shop", "en").await;
    let form = |email: &'static str| {
        [
            ("name", "Probe"),
            ("email", email),
            ("business_name", "Probe"),
            ("password", PASSWORD),
            ("locale", "en"),
        ]
    };

    // Act: one visitor signs up with a new address, another with the taken one.
    let english = [("accept-language", "en")];
    let (fresh_b, taken_b) = (Browser::with_headers(addr, &english), Browser::with_headers(addr, &english));
    fresh_b.get("/signup").await;
    taken_b.get("/signup").await;
    let fresh = fresh_b.post("/signup", &form("new@signup.sa")).await;
    let taken = taken_b.post("/signup", &form("taken@signup.sa")).await;

    // Assert: the same answer, the same cookies, the same next page; neither is signed in.
    assert_eq!((fresh.status, fresh.location()), (taken.status, taken.location()), "{}", taken.body);
    let names = |b: &Browser| -> Vec<String> {
        b.set_cookies.lock().unwrap().iter().map(|c| c.split('=').next().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&fresh_b), names(&taken_b));
    let (fresh_next, taken_next) = (fresh_b.follow(&fresh).await, taken_b.follow(&taken).await);
    assert_eq!(fresh_next.status, taken_next.status);
    assert!(fresh_next.body.contains("Check your email") && taken_next.body.contains("Check your email"));
    for b in [&fresh_b, &taken_b] {
        assert_eq!(b.get("/dashboard").await.status, StatusCode::SEE_OTHER, "signed in by sign-up");
    }

    // Assert: the address's owner is told by email; the new address gets its link.
    mailbox.to("taken@signup.sa", "It already has an account, so nothing was created").await;
    mailbox.to("new@signup.sa", "/verify/").await;
}
