//! The webhook's hot path: a delivery is stored with its job in one statement, a status
//! is applied before the 200 (no job for it), a status that cannot be applied is kept for
//! the job instead, and connections are read from a cache that follows a change within
//! its TTL.

use std::time::Duration;

use mujibak_core::{connections::secret_context, crypto::Keyring};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    pipeline::{envelope, text, Pipeline},
};

/// A reply sent to a customer: its wamid, once Meta took it and the send stored it.
async fn sent_reply(p: &Pipeline, number: &str, from: &str) -> String {
    p.graph.set_auto_statuses(false);
    assert_eq!(p.deliver(&text(number, "wamid.HOT1", from, "When do you open?", 1)).await, StatusCode::OK);
    let wamid = p.sends(1).await[0].wamid.clone();
    p.until_count(&format!("select count(*) from messages where wamid = '{wamid}' and status = 'sent'"), 1)
        .await;
    wamid
}

fn delivered(number: &str, wamid: &str, from: &str) -> serde_json::Value {
    envelope(
        number,
        json!({ "statuses": [{ "id": wamid, "status": "delivered", "timestamp": "1", "recipient_id": from }] }),
    )
}

async fn inbound_jobs(p: &Pipeline) -> i64 {
    p.count("select count(*) from apalis.jobs where job_type = 'handle_inbound'").await
}

#[sqlx::test(migrations = false)]
async fn a_status_is_applied_before_the_webhook_answers_and_costs_no_job(pool: PgPool) {
    // Arrange: a reply Meta took.
    let p = Pipeline::start(pool, "owner@hot.sa", "PN1500").await;
    let wamid = sent_reply(&p, "PN1500", "966500001500").await;
    let jobs_before = inbound_jobs(&p).await;

    // Act
    assert_eq!(p.deliver(&delivered("PN1500", &wamid, "966500001500")).await, StatusCode::OK);

    // Assert: applied and recorded as processed when the 200 came; no job was queued.
    let sql = format!("select count(*) from messages where wamid = '{wamid}' and status = 'delivered'");
    assert_eq!(p.count(&sql).await, 1, "{}", p.diagnostics().await);
    assert_eq!(
        p.count("select count(*) from inbound_events where kind = 'status' and processed_at is not null")
            .await,
        1
    );
    assert_eq!(inbound_jobs(&p).await, jobs_before, "a status needs no job");
}

#[sqlx::test(migrations = false)]
async fn a_status_that_cannot_be_applied_at_once_is_kept_and_applied_by_the_job(pool: PgPool) {
    // Arrange: a reply Meta took, and a database that refuses to change message statuses.
    let p = Pipeline::start(pool, "owner@hotfail.sa", "PN1510").await;
    let wamid = sent_reply(&p, "PN1510", "966500001510").await;
    sqlx::raw_sql(
        "create function refuse_status() returns trigger language plpgsql as
           $$ begin raise exception 'statuses are refused for a while'; end $$;
         create trigger refuse_status before update of status on messages
           for each row execute function refuse_status();",
    )
    .execute(&p.pool)
    .await
    .unwrap();

    // Act: Meta's status arrives while it cannot be applied; later it can.
    assert_eq!(p.deliver(&delivered("PN1510", &wamid, "966500001510")).await, StatusCode::OK);
    let kept = p.count("select count(*) from inbound_events where kind = 'status'").await;
    sqlx::raw_sql("drop trigger refuse_status on messages").execute(&p.pool).await.unwrap();

    // Assert: stored (the 200 lost nothing) and applied by handle_inbound once possible.
    assert_eq!(kept, 1, "the status is stored even though applying it failed");
    let sql = format!("select count(*) from messages where wamid = '{wamid}' and status = 'delivered'");
    p.until_count(&sql, 1).await;
}

#[sqlx::test(migrations = false)]
async fn a_new_app_secret_is_used_within_the_connection_caches_ttl(pool: PgPool) {
    // Arrange: the connection was used (so it is cached), then its app secret changes.
    let p = Pipeline::start(pool, "owner@rotate.sa", "PN1520").await;
    assert_eq!(p.deliver(&text("PN1520", "wamid.R1", "966500001520", "Hello", 1)).await, StatusCode::OK);
    let keyring = Keyring::parse(&SecretString::from(TEST_KEYS)).unwrap();
    let connection_id: mujibak_core::domain::ConnectionId =
        sqlx::query_scalar("select connection_id from whatsapp_connections")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    let sealed = keyring.seal("a-new-app-secret", &secret_context(connection_id));
    sqlx::query("update whatsapp_connections set app_secret_enc = $1")
        .bind(&sealed)
        .execute(&p.pool)
        .await
        .unwrap();

    // Act: a delivery signed with the new secret, until it is accepted.
    let raw = text("PN1520", "wamid.R2", "966500001520", "Hello again", 1).to_string();
    let signature = mujibak_core::domain::whatsapp::signature("a-new-app-secret", raw.as_bytes());
    let started = std::time::Instant::now();
    while p.post_raw(&p.webhook_url, raw.clone(), Some(&signature)).await != StatusCode::OK {
        assert!(started.elapsed() < Duration::from_secs(15), "the new secret was never accepted");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Assert: within the cache's TTL (plus the retries' pace), and the delivery was kept.
    let waited = started.elapsed();
    assert!(waited <= mujibak::web::connection_cache::TTL + Duration::from_secs(2), "took {waited:?}");
    assert_eq!(p.count("select count(*) from inbound_events where dedupe_key like '%wamid.R2%'").await, 1);
}
