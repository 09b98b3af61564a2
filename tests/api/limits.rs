//! Rate limits keyed by the real client and by account: one client's failures never limit
//! another (the real binary, as the Procfile runs it, and behind Heroku's router), a check
//! and its count are one statement (parallel guesses get no extra tries), and the current
//! password, invitations, email changes and reset emails are limited per account.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::{database_url, eventually, free_port, migrated, spawn_app, TestApp},
    web::{verify_email, Browser, Mailbox, PASSWORD},
};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn mujibak(url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mujibak"));
    cmd.env_clear().current_dir(std::env::temp_dir()).env("DATABASE_URL", url).env("RUST_LOG", "warn");
    cmd
}

const WRONG: &str = "wrong-password-00";

#[sqlx::test(migrations = false)]
async fn one_clients_failures_never_limit_another_client_of_the_real_server(pool: PgPool) {
    // Arrange: `mujibak web` as the Procfile runs it (TRUST_PROXY unset: the socket's peer).
    let url = database_url(&pool);
    let migrate = mujibak(&url).arg("migrate").output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let port = free_port();
    let child = mujibak(&url)
        .arg("web")
        .env("ENCRYPTION_KEYS", TEST_KEYS)
        .env("PORT", port.to_string())
        .env("BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("ALLOW_LOOPBACK_HTTP", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _web = Running(child);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually(Duration::from_secs(20), "mujibak web to listen", || async {
        reqwest::get(format!("http://{addr}/healthz")).await.ok().filter(|r| r.status().is_success())
    })
    .await;
    let victim = Browser::new(addr);
    victim.sign_up("Victim", "victim@example.sa", "Victim Shop", "en").await;
    victim.post("/signout", &[]).await;

    // Act: another machine fails six sign-ins, asks for eleven resets, fails eleven sign-ups.
    let attacker = Browser::from_ip(addr, "127.0.0.2", &[]);
    attacker.get("/signin").await;
    let mut last = None;
    for _ in 0..6 {
        last = Some(attacker.post("/signin", &[("email", "victim@example.sa"), ("password", WRONG)]).await);
    }
    assert_eq!(last.take().unwrap().status, StatusCode::TOO_MANY_REQUESTS, "the attacker is limited");
    for n in 0..11 {
        last = Some(attacker.post("/forgot", &[("email", &format!("x{n}@example.sa"))]).await);
    }
    assert_eq!(last.take().unwrap().status, StatusCode::TOO_MANY_REQUESTS);
    for n in 0..11 {
        let email = format!("y{n}@example.sa");
        let form =
            [("name", "Y"), ("email", &email), ("business_name", "Y"), ("password", "x"), ("locale", "en")];
        last = Some(attacker.post("/signup", &form).await);
    }
    assert_eq!(last.take().unwrap().status, StatusCode::TOO_MANY_REQUESTS);

    // Assert: the victim's machine signs in, asks for a reset and signs up another account.
    let signed_in = victim.sign_in("victim@example.sa", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "the real user was locked out by another machine");
    victim.post("/signout", &[]).await;
    victim.get("/forgot").await;
    assert_eq!(victim.post("/forgot", &[("email", "victim@example.sa")]).await.status, StatusCode::SEE_OTHER);
    Browser::new(addr).sign_up("Other", "other@example.sa", "Other Shop", "en").await;
}

#[sqlx::test(migrations = false)]
async fn behind_the_proxy_the_last_forwarded_hop_names_the_client(pool: PgPool) {
    migrated(&pool).await;
    let addr = TestApp::new(pool).vars(&[("TRUST_PROXY", "true")]).spawn().await;
    Browser::new(addr).sign_up("Rana", "rana@example.sa", "Rana Shop", "en").await;
    // The attacker writes the victim's address first; Heroku's router appends the real one.
    let attacker = Browser::with_headers(addr, &[("x-forwarded-for", "203.0.113.7, 198.51.100.9")]);
    attacker.get("/signin").await;
    for _ in 0..5 {
        attacker.post("/signin", &[("email", "rana@example.sa"), ("password", WRONG)]).await;
    }
    let sixth = attacker.post("/signin", &[("email", "rana@example.sa"), ("password", WRONG)]).await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    let rana = Browser::with_headers(addr, &[("x-forwarded-for", "203.0.113.7")]);
    assert_eq!(rana.sign_in("rana@example.sa", PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test(migrations = false)]
async fn thirty_parallel_wrong_passwords_get_at_most_five_password_checks(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    Browser::new(addr).sign_up("Hind", "hind@example.sa", "Hind Shop", "en").await;
    let attacker = Browser::new(addr);
    attacker.get("/signin").await;

    let guesses =
        (0..30).map(|_| attacker.post("/signin", &[("email", "hind@example.sa"), ("password", WRONG)]));
    let pages = futures::future::join_all(guesses).await;

    // Every password checked and found wrong is counted against the account (its bucket).
    let bucket = format!("signin-account:{}", mujibak::web::limits::email_key("hind@example.sa"));
    let checked: i32 = sqlx::query_scalar("select coalesce(max(hits), 0) from rate_limits where bucket = $1")
        .bind(&bucket)
        .fetch_one(&pool)
        .await
        .unwrap();
    let wrong = pages.iter().filter(|p| p.status == StatusCode::UNPROCESSABLE_ENTITY).count();
    let refused = pages.iter().filter(|p| p.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(checked >= 1, "no password was checked at all");
    assert!(checked <= 5, "{checked} of 30 parallel wrong passwords were checked against a limit of 5");
    assert_eq!(wrong as i32, checked, "each 422 is a checked password, and only those");
    assert_eq!(wrong + refused, 30);
}

#[sqlx::test(migrations = false)]
async fn wrong_current_passwords_are_refused_after_five_even_before_the_right_one(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    let b = Browser::new(addr);
    b.sign_up("Ola", "ola@example.sa", "Ola Shop", "en").await;
    b.get("/password").await;
    let new = "fresh-lantern-camel-88";

    let mut refused_at = None;
    for n in 0..40 {
        let page = b
            .post("/password", &[("current_password", &format!("guess-{n}-lantern")), ("new_password", new)])
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(n);
            break;
        }
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "guess {n}");
    }
    let right = b.post("/password", &[("current_password", PASSWORD), ("new_password", new)]).await;

    assert_eq!(refused_at, Some(5), "the sixth wrong current password must be refused");
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "then the right one waits for the window too");
}

#[sqlx::test(migrations = false)]
async fn email_changes_and_reset_emails_are_limited_per_account(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let b = Browser::new(addr);
    b.sign_up("Dana", "dana@example.sa", "Dana Shop", "en").await;
    Browser::new(addr).sign_up("Sentinel", "sentinel@example.sa", "Sentinel", "en").await;

    // Act: four email changes in an hour; four resets asked from four machines.
    b.get("/profile").await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        let email = format!("dana{n}@example.sa");
        let form = [
            ("name", "Dana"),
            ("email", email.as_str()),
            ("business_name", "Dana Shop"),
            ("locale", "en"),
            ("current_password", PASSWORD),
        ];
        statuses.push(b.post("/profile", &form).await.status);
    }
    for n in 2..6 {
        let machine = Browser::from_ip(addr, &format!("127.0.0.{n}"), &[]);
        machine.get("/forgot").await;
        assert_eq!(
            machine.post("/forgot", &[("email", "dana@example.sa")]).await.status,
            StatusCode::SEE_OTHER
        );
    }
    // Requests are handled in order: once the sentinel's reset is queued, Dana's are done.
    let last = Browser::from_ip(addr, "127.0.0.9", &[]);
    last.get("/forgot").await;
    last.post("/forgot", &[("email", "sentinel@example.sa")]).await;
    let count = |to: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from emails where kind = 'password_reset' and to_address = $1",
            )
            .bind(to)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    eventually(Duration::from_secs(15), "the sentinel's reset email", || async {
        (count("sentinel@example.sa").await == 1).then_some(())
    })
    .await;

    // Assert
    assert_eq!(statuses[..3], [StatusCode::SEE_OTHER; 3], "three email changes an hour are allowed");
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS, "the fourth email change in an hour is refused");
    assert_eq!(count("dana@example.sa").await, 3, "at most three reset emails an hour reach one account");
}

#[sqlx::test(migrations = false)]
async fn an_owner_can_send_ten_invitations_an_hour(pool: PgPool) {
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let owner = Browser::new(addr);
    owner.sign_up("Maha", "maha@example.sa", "Maha Shop", "en").await;
    verify_email(&owner, &mailbox.sink, "maha@example.sa").await;
    owner.get("/team").await;

    let mut statuses = Vec::new();
    for n in 0..11 {
        statuses
            .push(owner.post("/team/invite", &[("email", &format!("stranger{n}@example.sa"))]).await.status);
    }

    assert_eq!(statuses[..10], [StatusCode::SEE_OTHER; 10]);
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS, "the eleventh invitation in an hour is refused");
    let queued: i64 = sqlx::query_scalar("select count(*) from user_tokens where purpose = 'invitation'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(queued, 10);
}
