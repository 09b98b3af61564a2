//! Taking over accounts: an account must prove its email before it can connect a number or
//! invite anyone (so an attacker who signs up with someone else's address cannot plant a
//! member the real owner would not see go); an email change takes the current password,
//! is confirmed by a POST from the new inbox, tells the old address with a way back, and
//! ends the other sessions; every outstanding link dies when the password or email changes.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::{migrated, spawn_app, TestApp},
    web::{link_path, Browser, Mailbox, PASSWORD},
};

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn an_unverified_account_cannot_invite_or_connect_and_a_reset_takes_it_back(pool: PgPool) {
    // Arrange: the attacker signs up with the victim's address (no inbox needed).
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let graph = mujibak_devtools::sandbox::graph::GraphFake::start("127.0.0.1:0").await.unwrap();
    graph.register_number("PN-V", "victim-token", None, None);
    let graph_url = graph.base_url();
    let addr = TestApp::new(pool.clone())
        .vars(&[("ENCRYPTION_KEYS", TEST_KEYS), ("WHATSAPP_GRAPH_URL", &graph_url)])
        .spawn()
        .await;
    let attacker = Browser::with_headers(addr, &[("accept-language", "en")]);
    attacker.sign_up("Victim", "victim@example.sa", "Victim Bakery", "en").await;

    // Act: the attacker invites their own agent and connects a number.
    attacker.get("/team").await;
    let invited = attacker.post("/team/invite", &[("email", "mole@attacker.example")]).await;
    attacker.get("/settings/whatsapp").await;
    let connect = [
        ("phone_number_id", "PN-V"),
        ("waba_id", "W"),
        ("display_number", "+966 50 000 0009"),
        ("access_token", "victim-token"),
        ("app_secret", "s3cret"),
    ];
    let connected = attacker.post("/settings/whatsapp", &connect).await;

    // Assert: refused, nothing queued for the agent, no connection.
    assert_eq!(invited.status, StatusCode::FORBIDDEN, "an unverified account invited an agent");
    assert!(invited.body.contains("Confirm your email address"), "{}", invited.body);
    assert_eq!(connected.status, StatusCode::FORBIDDEN, "an unverified account connected a number");
    assert_eq!(count(&pool, "select count(*) from user_tokens where purpose = 'invitation'").await, 0);
    assert_eq!(count(&pool, "select count(*) from whatsapp_connections").await, 0);

    // Act: the victim takes the account back with "forgot password".
    let victim = Browser::new(addr);
    victim.get("/forgot").await;
    victim.post("/forgot", &[("email", "victim@example.sa")]).await;
    let (_, text) = mailbox.to("victim@example.sa", "/reset/").await;
    let link = link_path(&text, "/reset/");
    victim.get(&link).await;
    assert_eq!(
        victim.post(&link, &[("password", "victims-own-lantern-7")]).await.status,
        StatusCode::SEE_OTHER
    );

    // Assert: the attacker is out; the victim's reset proved the address.
    assert_eq!(
        attacker.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "the attacker's session ended"
    );
    victim.sign_in("victim@example.sa", "victims-own-lantern-7").await;
    victim.get("/team").await;
    let invited = victim.post("/team/invite", &[("email", "agent@victim.example")]).await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER, "the reset proved the address");
}

#[sqlx::test(migrations = false)]
async fn changing_the_email_takes_the_password_tells_the_old_address_and_ends_other_sessions(pool: PgPool) {
    // Arrange: two sessions, and a reset link mailed to the old address before the change.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let laptop = Browser::with_headers(addr, &[("accept-language", "en")]);
    laptop.sign_up("Reem", "reem@old.example", "Reem Shop", "en").await;
    let phone = Browser::new(addr);
    phone.sign_in("reem@old.example", PASSWORD).await;
    let stranger = Browser::new(addr);
    stranger.get("/forgot").await;
    stranger.post("/forgot", &[("email", "reem@old.example")]).await;
    let old_reset = link_path(&mailbox.to("reem@old.example", "/reset/").await.1, "/reset/");
    laptop.get("/profile").await;
    let form = |password: &'static str| {
        [
            ("name", "Reem"),
            ("email", "reem@new.example"),
            ("business_name", "Reem Shop"),
            ("locale", "en"),
            ("current_password", password),
        ]
    };

    // Act + Assert: no password, or a wrong one, changes nothing.
    let without = laptop
        .post(
            "/profile",
            &[
                ("name", "Reem"),
                ("email", "reem@new.example"),
                ("business_name", "Reem Shop"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(without.status, StatusCode::UNPROCESSABLE_ENTITY, "an email change without the password");
    assert_eq!(
        laptop.post("/profile", &form("not-my-password-1")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(count(&pool, "select count(*) from emails where to_address = 'reem@new.example'").await, 0);

    // Act: with the password; the link from the new inbox is shown, then confirmed by a POST.
    assert_eq!(laptop.post("/profile", &form(PASSWORD)).await.status, StatusCode::SEE_OTHER);
    let confirm = link_path(&mailbox.to("reem@new.example", "/profile/email/").await.1, "/profile/email/");
    assert_eq!(laptop.get(&confirm).await.status, StatusCode::OK);
    assert_eq!(
        count(&pool, "select count(*) from users where email = 'reem@old.example'").await,
        1,
        "a GET changed it"
    );
    assert_eq!(laptop.post(&confirm, &[]).await.status, StatusCode::SEE_OTHER);

    // Assert
    assert_eq!(count(&pool, "select count(*) from users where email = 'reem@new.example'").await, 1);
    let (_, notice) = mailbox.to("reem@old.example", "/profile/email/revert/").await;
    assert!(notice.contains("r***@new.example"), "the old address is told where it went: {notice}");
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::SEE_OTHER, "the other session ended");
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::OK, "this session stays");
    assert_eq!(
        stranger.get(&old_reset).await.status,
        StatusCode::GONE,
        "a reset link to the old address died"
    );

    // Act + Assert: the old address takes the account back.
    let revert = link_path(&notice, "/profile/email/revert/");
    let owner = Browser::new(addr);
    assert_eq!(owner.get(&revert).await.status, StatusCode::OK);
    let back = owner.post(&revert, &[("password", "reclaimed-lantern-55")]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&pool, "select count(*) from users where email = 'reem@old.example'").await, 1);
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::SEE_OTHER, "every session ended");
    assert_eq!(owner.sign_in("reem@old.example", "reclaimed-lantern-55").await.status, StatusCode::SEE_OTHER);
    assert_eq!(owner.get(&revert).await.status, StatusCode::GONE, "the way back works once");
}

#[sqlx::test(migrations = false)]
async fn reset_links_die_with_a_password_change_and_with_a_used_sibling(pool: PgPool) {
    // Arrange: two reset links.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let owner = Browser::new(addr);
    owner.sign_up("Nada", "nada@example.sa", "Nada Shop", "en").await;
    let b = Browser::new(addr);
    let mut links = Vec::new();
    for n in 1..=2 {
        b.get("/forgot").await;
        b.post("/forgot", &[("email", "nada@example.sa")]).await;
        let link =
            crate::helpers::eventually(std::time::Duration::from_secs(15), "a reset email", || async {
                let all: Vec<_> = mailbox
                    .sink
                    .messages()
                    .iter()
                    .map(crate::web::read_mail)
                    .filter(|m| m.2.contains("/reset/"))
                    .collect();
                (all.len() == n).then(|| link_path(&all[n - 1].2, "/reset/"))
            })
            .await;
        links.push(link);
    }

    // Act: the first is used.
    b.get(&links[0]).await;
    assert_eq!(
        b.post(&links[0], &[("password", "first-lantern-harbor-1")]).await.status,
        StatusCode::SEE_OTHER
    );

    // Assert: its sibling is void.
    assert_eq!(b.get(&links[1]).await.status, StatusCode::GONE, "a sibling of a used reset link still works");

    // Arrange + Act: a new link, then the owner changes the password while signed in.
    b.get("/forgot").await;
    b.post("/forgot", &[("email", "nada@example.sa")]).await;
    let third =
        crate::helpers::eventually(std::time::Duration::from_secs(15), "a third reset email", || async {
            let all: Vec<_> = mailbox
                .sink
                .messages()
                .iter()
                .map(crate::web::read_mail)
                .filter(|m| m.2.contains("/reset/"))
                .collect();
            (all.len() == 3).then(|| link_path(&all[2].2, "/reset/"))
        })
        .await;
    owner.sign_in("nada@example.sa", "first-lantern-harbor-1").await;
    owner.get("/password").await;
    let changed = owner
        .post(
            "/password",
            &[("current_password", "first-lantern-harbor-1"), ("new_password", "second-lantern-harbor-2")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);

    // Assert
    assert_eq!(
        b.get(&third).await.status,
        StatusCode::GONE,
        "a reset link issued before a password change works"
    );
}
