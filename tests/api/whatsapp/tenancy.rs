//! Tenants never see each other's WhatsApp data, and secrets never sit in the database in
//! plaintext (a `pg_dump` finds none; `rotate-keys` moves every secret to the new key).

use std::process::Command;

use mujibak_core::{
    connections::{rotate_keys, token_context, verify_context},
    crypto::Keyring,
    db::connections,
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::{database_url, pg_dump},
    pipeline::{text, Pipeline, APP_SECRET, TOKEN},
    web::{verify_email, Browser, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn a_delivery_to_tenant_a_never_creates_data_in_b_and_inbox_routes_404_across_tenants(pool: PgPool) {
    // Arrange: tenant A (the pipeline's owner) and tenant B with its own number.
    let p = Pipeline::start(pool, "a@tenant.sa", "PN-A").await;
    let b = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    b.sign_up("Owner B", "b@tenant.sa", "Tenant B", "en").await;
    verify_email(&b, &p.mail, "b@tenant.sa").await;
    p.graph.register_number("PN-B", "EAAG-b-token-000000", None, None);
    b.get("/settings/whatsapp").await;
    let fields = [
        ("phone_number_id", "PN-B"),
        ("waba_id", "WB"),
        ("display_number", "+966 50 000 0002"),
        ("access_token", "EAAG-b-token-000000"),
        ("app_secret", "b-secret"),
    ];
    assert_eq!(b.post("/settings/whatsapp", &fields).await.status, StatusCode::SEE_OTHER);

    // Act: A's webhook receives a payload naming B's number, then one naming A's.
    assert_eq!(p.deliver(&text("PN-B", "wamid.X1", "966500000099", "hello", 1)).await, StatusCode::OK);
    assert_eq!(p.deliver(&text("PN-A", "wamid.X2", "966500000099", "hello", 1)).await, StatusCode::OK);
    p.sends(1).await;

    // Assert: the data is A's (the URL decides the tenant, never the body); the payload
    // naming B's number is kept for A's staff as misfiled and never processed.
    let misfiled: Vec<String> = sqlx::query_scalar(
        "select t.business_name from inbound_events e join tenants t using (tenant_id) where e.kind = 'misfiled'",
    )
    .fetch_all(&p.pool)
    .await
    .unwrap();
    assert_eq!(misfiled, vec!["Alnoor Bakery".to_owned()]);
    assert_eq!(p.count("select count(*) from messages where wamid = 'wamid.X1'").await, 0);
    let owners: Vec<String> =
        sqlx::query_scalar("select t.business_name from contacts c join tenants t using (tenant_id)")
            .fetch_all(&p.pool)
            .await
            .unwrap();
    assert_eq!(owners, vec!["Alnoor Bakery".to_owned()]);
    assert_eq!(p.graph.sends()[0].authorization, format!("Bearer {TOKEN}"), "sent with A's token");
    let conversation = p.conversation_id().await;
    assert!(!b.get("/inbox").await.body.contains("966500000099"));
    assert_eq!(b.get(&format!("/inbox/{conversation}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get(&format!("/inbox/{conversation}/thread")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.post(&format!("/inbox/{conversation}/pause"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        b.post(&format!("/inbox/{conversation}/reply"), &[("text", "hijack")]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(p.count("select count(*) from messages where author = 'human'").await, 0);
    assert_eq!(p.count("select count(*) from conversations where bot_paused").await, 0);
    assert_eq!(p.owner.get(&format!("/inbox/{conversation}")).await.status, StatusCode::OK);
    assert_eq!(p.phone_number_id, "PN-A");
}

#[sqlx::test(migrations = false)]
async fn a_database_dump_holds_no_plaintext_secret_and_rotation_moves_every_secret_to_the_new_key(
    pool: PgPool,
) {
    // Arrange
    let p = Pipeline::start(pool, "owner@keys.sa", "PN-K").await;
    // Every secret the database keeps something of: the number's access token and app
    // secret, the webhook's verify token, the owner's password and session cookie.
    let verify_token = p.verify_token().await;
    assert!(verify_token.len() >= 32, "{verify_token:?}");
    let cookies = p.owner.set_cookies.lock().unwrap().clone();
    let session = cookies
        .iter()
        .rev()
        .find_map(|c| c.strip_prefix("mujibak_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();

    // Assert: pg_dump of the whole database.
    let dump =
        Command::new(pg_dump()).arg("--no-owner").arg(database_url(&p.pool)).output().expect("pg_dump runs");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("whatsapp_connections"), "the dump has the table");
    for (what, plain) in [
        ("access token", TOKEN),
        ("app secret", APP_SECRET),
        ("verify token", verify_token.as_str()),
        ("password", PASSWORD),
        ("session cookie", session.as_str()),
    ] {
        assert!(!dump.contains(plain), "the {what} is in the dump in plaintext");
    }

    // Act: a new current key; the old one kept for reading.
    let new = Keyring::generate_entry("k2");
    let both = Keyring::parse(&SecretString::from(format!("{new},{TEST_KEYS}"))).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mujibak"))
        .arg("rotate-keys")
        .env_clear()
        .env("DATABASE_URL", database_url(&p.pool))
        .env("ENCRYPTION_KEYS", format!("{new},{TEST_KEYS}"))
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();

    // Assert
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("re-encrypted the secrets of 1 connection(s) under key k2"));
    assert_eq!(rotate_keys(&p.pool, &both).await.unwrap(), 0, "nothing left under the old key");
    let only_new = Keyring::parse(&SecretString::from(new)).unwrap();
    for s in connections::all_secrets(&p.pool).await.unwrap() {
        assert_eq!(Keyring::key_id(&s.access_token_enc), Some("k2"));
        assert_eq!(Keyring::key_id(&s.app_secret_enc), Some("k2"));
        assert_eq!(Keyring::key_id(s.verify_token_enc.as_deref().unwrap()), Some("k2"));
        let token = only_new.open(&s.access_token_enc, &token_context(s.connection_id)).unwrap();
        assert_eq!(token.expose_secret(), TOKEN);
        let verify = only_new.open(s.verify_token_enc.as_deref().unwrap(), &verify_context(s.connection_id));
        assert_eq!(verify.unwrap().expose_secret(), verify_token);
    }
}

#[sqlx::test(migrations = false)]
async fn a_verify_token_stored_in_plaintext_before_sealing_is_sealed_by_the_release_phase(pool: PgPool) {
    // Arrange: a connection as a database from before sealed verify tokens holds it.
    let p = Pipeline::start(pool, "owner@legacy.sa", "PN-L").await;
    let legacy = "legacy-verify-token-0123456789abcdef";
    sqlx::query("update whatsapp_connections set verify_token = $1, verify_token_enc = null")
        .bind(legacy)
        .execute(&p.pool)
        .await
        .unwrap();
    assert_eq!(p.verify_token().await, legacy, "a legacy token still works before the release");

    // Act: the release phase.
    let out = Command::new(env!("CARGO_BIN_EXE_mujibak"))
        .arg("migrate")
        .env_clear()
        .env("DATABASE_URL", database_url(&p.pool))
        .env("ENCRYPTION_KEYS", TEST_KEYS)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();

    // Assert: only the ciphertext is left, and it is the same token to Meta and the owner.
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(p.count("select count(*) from whatsapp_connections where verify_token is not null").await, 0);
    assert_eq!(
        p.count("select count(*) from whatsapp_connections where verify_token_enc is not null").await,
        1
    );
    assert_eq!(p.verify_token().await, legacy);
    let handshake = reqwest::get(format!(
        "{}?hub.mode=subscribe&hub.verify_token={legacy}&hub.challenge=77",
        p.webhook_url
    ))
    .await
    .unwrap();
    assert_eq!(handshake.status(), StatusCode::OK);
}
