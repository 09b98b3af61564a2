//! Accounts end to end over HTTP: sign up → sign in → profile → sign out, password reset
//! through the real SMTP sink, argon2id hashes, no account enumeration, session rotation
//! and invalidation.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app},
    web::{link_path, Browser, Mailbox, PASSWORD},
};

fn session_cookie(b: &Browser) -> Option<String> {
    b.set_cookies
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c.starts_with("mujibak_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[sqlx::test(migrations = false)]
async fn sign_up_sign_in_edit_profile_and_sign_out(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let sara = Browser::new(addr);

    // Act + Assert: sign-up signs in and lands on the dashboard.
    let dashboard = sara.sign_up("Sara", "sara@alnoor.sa", "Alnoor Bakery", "en").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("Sara") && dashboard.body.contains("Alnoor Bakery"));

    let out = sara.post("/signout", &[]).await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/signin"));
    let gate = sara.get("/dashboard").await;
    assert_eq!(gate.status, StatusCode::SEE_OTHER);
    assert!(gate.location().starts_with("/signin?next=%2Fdashboard"));

    let signed_in = sara.sign_in("SARA@alnoor.sa", PASSWORD).await;
    assert_eq!((signed_in.status, signed_in.location()), (StatusCode::SEE_OTHER, "/dashboard"));

    sara.get("/profile").await;
    let saved = sara
        .post(
            "/profile",
            &[
                ("name", "Sara Al-Qahtani"),
                ("email", "sara@alnoor.sa"),
                ("business_name", "Alnoor"),
                ("locale", "ar"),
            ],
        )
        .await;
    assert_eq!((saved.status, saved.location()), (StatusCode::SEE_OTHER, "/profile"));
    let profile = sara.get("/profile").await;
    assert!(profile.body.contains("Sara Al-Qahtani") && profile.body.contains(r#"value="Alnoor""#));
    assert!(profile.body.contains(r#"<html lang="ar" dir="rtl">"#), "the user's locale now decides");

    let out = sara.post("/signout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(sara.get("/profile").await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test(migrations = false)]
async fn a_password_reset_link_arrives_by_email_works_once_and_expires(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Omar", "omar@souq.sa", "Souq", "ar").await;
    let omar = Browser::new(addr);

    // Act: ask for a link; it arrives over SMTP.
    omar.get("/forgot").await;
    let asked = omar.post("/forgot", &[("email", "omar@souq.sa")]).await;
    assert_eq!((asked.status, asked.location()), (StatusCode::SEE_OTHER, "/signin"));
    let (subject, text) = mailbox.to("omar@souq.sa", "/reset/").await;
    assert_eq!(subject, "إعادة تعيين كلمة المرور في مُجيب", "sent in the user's language");
    let link = link_path(&text, "/reset/");

    // Assert: the link works once.
    assert_eq!(omar.get(&link).await.status, StatusCode::OK);
    let reset = omar.post(&link, &[("password", "new-harbor-lantern-77")]).await;
    assert_eq!((reset.status, reset.location()), (StatusCode::SEE_OTHER, "/signin"));
    assert_eq!(omar.sign_in("omar@souq.sa", "new-harbor-lantern-77").await.status, StatusCode::SEE_OTHER);
    assert_eq!(omar.sign_in("omar@souq.sa", PASSWORD).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(omar.get(&link).await.status, StatusCode::GONE);
    assert_eq!(omar.post(&link, &[("password", "another-lantern-harbor-9")]).await.status, StatusCode::GONE);

    // Assert: an expired link is refused.
    let other = Browser::new(addr);
    other.get("/forgot").await;
    other.post("/forgot", &[("email", "omar@souq.sa")]).await;
    let second = crate::helpers::eventually(Duration::from_secs(15), "a second reset email", || async {
        let resets: Vec<String> = mailbox
            .sink
            .messages()
            .iter()
            .map(crate::web::read_mail)
            .map(|m| m.2)
            .filter(|t| t.contains("/reset/"))
            .collect();
        resets.get(1).cloned()
    })
    .await;
    let link = link_path(&second, "/reset/");
    sqlx::query("update user_tokens set expires_at = now() - interval '1 second' where used_at is null")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(other.get(&link).await.status, StatusCode::GONE);

    // Assert: the sent email's body (holding the link) is not kept.
    let kept: Option<String> =
        sqlx::query_scalar("select body_text from emails where status = 'sent' limit 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(kept.is_none());
}

#[sqlx::test(migrations = false)]
async fn unknown_email_asks_for_a_reset_like_a_known_one_and_sends_nothing(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Known", "known@souq.sa", "Souq", "en").await;
    let b = Browser::new(addr);
    b.get("/forgot").await;
    let page = b.post("/forgot", &[("email", "nobody@nowhere.sa")]).await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/signin"));
    // Requests are handled in order: once the known address's email is queued, the
    // unknown one's request is done.
    b.post("/forgot", &[("email", "known@souq.sa")]).await;
    let resets = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from emails where kind = 'password_reset'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    crate::helpers::eventually(Duration::from_secs(15), "the known address's reset email", || async {
        (resets().await == 1).then_some(())
    })
    .await;
    let unknown: i64 =
        sqlx::query_scalar("select count(*) from emails where to_address = 'nobody@nowhere.sa'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unknown, 0);
}

#[sqlx::test(migrations = false)]
async fn passwords_are_stored_as_argon2id_phc_strings(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Lina", "lina@example.sa", "Lina Flowers", "ar").await;
    let hash: String = sqlx::query_scalar("select password_hash from users").fetch_one(&pool).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

#[sqlx::test(migrations = false)]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer_in_similar_time(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Huda", "huda@example.sa", "Huda Cafe", "en").await;
    let b = Browser::with_headers(addr, &[("accept-language", "en")]);
    b.get("/signin").await;

    // Act
    let (mut known, mut unknown) = (Duration::ZERO, Duration::ZERO);
    let (mut wrong_page, mut unknown_page) = (None, None);
    for _ in 0..3 {
        let t = Instant::now();
        wrong_page = Some(
            b.post("/signin", &[("email", "huda@example.sa"), ("password", "not-her-password-1")]).await,
        );
        known += t.elapsed();
        let t = Instant::now();
        unknown_page = Some(
            b.post("/signin", &[("email", "ghost@example.sa"), ("password", "not-her-password-1")]).await,
        );
        unknown += t.elapsed();
    }

    // Assert
    let (wrong, ghost) = (wrong_page.unwrap(), unknown_page.unwrap());
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.status, ghost.status);
    assert_eq!(
        wrong.body.replace("huda@example.sa", "EMAIL"),
        ghost.body.replace("ghost@example.sa", "EMAIL")
    );
    assert!(wrong.body.contains("The email or password is wrong."));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!(ratio > 0.5, "unknown emails answer much faster ({unknown:?} vs {known:?}): a timing oracle");
}

#[sqlx::test(migrations = false)]
async fn sign_in_rotates_the_session_and_a_password_change_ends_the_other_sessions(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let laptop = Browser::new(addr);
    laptop.sign_up("Faisal", "faisal@example.sa", "Faisal Tech", "en").await;
    laptop.post("/signout", &[]).await;
    laptop.get("/signin").await;
    let before = session_cookie(&laptop);
    laptop.sign_in("faisal@example.sa", PASSWORD).await;
    let after = session_cookie(&laptop);
    let phone = Browser::new(addr);
    phone.sign_in("faisal@example.sa", PASSWORD).await;
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::OK);

    // Act
    laptop.get("/password").await;
    let changed = laptop
        .post("/password", &[("current_password", PASSWORD), ("new_password", "fresh-lantern-camel-88")])
        .await;

    // Assert
    assert_ne!(before, after, "the session id changes at sign-in");
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::OK, "this session stays");
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::SEE_OTHER, "the other session ended");
    let wrong = laptop
        .post(
            "/password",
            &[("current_password", "nope-nope-nope-1"), ("new_password", "x-lantern-camel-99")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrations = false)]
async fn idle_and_old_sessions_end_and_emails_are_unique_whatever_their_case(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let b = Browser::new(addr);
    b.sign_up("Jamal", "jamal@example.sa", "Jamal Tea", "en").await;
    assert_eq!(b.get("/dashboard").await.status, StatusCode::OK);

    // Idle past SESSION_IDLE_MINUTES (720 by default).
    sqlx::query("update sessions set last_seen_at = now() - interval '13 hours' where user_id is not null")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(b.get("/dashboard").await.status, StatusCode::SEE_OTHER);

    // Past the absolute expiry, however recently used.
    b.sign_in("jamal@example.sa", PASSWORD).await;
    assert_eq!(b.get("/dashboard").await.status, StatusCode::OK);
    sqlx::query("update sessions set expires_at = now() - interval '1 second' where user_id is not null")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(b.get("/dashboard").await.status, StatusCode::SEE_OTHER);

    let twin = Browser::new(addr);
    twin.get("/signup").await;
    let page = twin
        .post(
            "/signup",
            &[
                ("name", "J"),
                ("email", "JAMAL@Example.SA"),
                ("business_name", "Other"),
                ("password", PASSWORD),
                ("locale", "en"),
            ],
        )
        .await;
    // Answered like any sign-up (whether an address has an account is never told); no
    // second account was made.
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/signin"));
    let accounts: i64 =
        sqlx::query_scalar("select count(*) from users where lower(email) = 'jamal@example.sa'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(accounts, 1);
}
