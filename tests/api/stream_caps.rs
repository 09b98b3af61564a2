//! Live streams cannot take the server down: one account opening more streams than the
//! whole server's connection bound keeps only a few open (the oldest of a session or user
//! is closed when another opens), and health checks, other visitors and Meta's signed
//! webhooks are still served meanwhile. A stream ends when its session or its access does:
//! sign-out, the member's removal, the account's suspension.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    live_inbox::Events,
    pipeline::{text, Pipeline},
    web::{link_path, mail_to, Browser, PASSWORD},
};

/// How many of `streams` are still open: a stream that ended reads to its end at once.
async fn still_open(streams: &mut [reqwest::Response]) -> usize {
    let mut open = 0;
    for s in streams.iter_mut() {
        // Skip what was already sent (ready, keep-alives); an ended stream says so.
        let alive = loop {
            match tokio::time::timeout(Duration::from_millis(300), s.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(_) => break false,
                Err(_) => break true,
            }
        };
        open += usize::from(alive);
    }
    open
}

#[sqlx::test(migrations = false)]
async fn one_account_opening_more_streams_than_the_server_holds_leaves_it_serving(pool: PgPool) {
    // Arrange: a business with its number connected; the owner signed in.
    let p = Pipeline::start(pool, "owner@streams.sa", "PN3201").await;

    // Act: the owner's session opens 600 streams at once (the server holds 512 connections).
    let attempts = futures::future::join_all((0..600).map(|_| p.owner.try_open("/inbox/events"))).await;
    let mut streams: Vec<_> =
        attempts.into_iter().filter_map(Result::ok).filter(|r| r.status() == StatusCode::OK).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Assert: only a few stay open.
    let open = still_open(&mut streams).await;
    assert!((1..=8).contains(&open), "{open} of the account's streams are open");

    // Assert: meanwhile a health check, another visitor and a signed webhook are served.
    let other = Browser::from_ip(p.addr, "127.0.0.2", &[]);
    assert_eq!(other.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(other.get("/signin").await.status, StatusCode::OK);
    let delivered = p.deliver(&text("PN3201", "wamid.S1", "966500003201", "Hello", 1)).await;
    assert_eq!(delivered, StatusCode::OK);
    p.until_count("select count(*) from messages where direction = 'in'", 1).await;
}

#[sqlx::test(migrations = false)]
async fn a_users_streams_are_capped_across_sessions_and_the_newest_are_kept(pool: PgPool) {
    // Arrange: the owner signed in from ten browsers (ten sessions, ten addresses).
    let p = Pipeline::start(pool, "owner@sessions.sa", "PN3202").await;
    let mut browsers = Vec::new();
    for i in 0..10 {
        let b = Browser::from_ip(p.addr, &format!("127.0.1.{}", i + 1), &[]);
        assert_eq!(b.sign_in("owner@sessions.sa", PASSWORD).await.status, StatusCode::SEE_OTHER);
        browsers.push(b);
    }

    // Act: each opens a stream, one after another.
    let mut streams = Vec::new();
    for b in &browsers {
        streams.push(Events::open(b).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Assert: the user keeps `PER_USER` streams, the newest; the older ones ended.
    let per_user = mujibak::web::streams::PER_USER;
    let mut ended = Vec::new();
    for s in &mut streams {
        ended.push(s.ended_within(Duration::from_millis(300)).await);
    }
    let expected: Vec<bool> = (0..10).map(|i| i < 10 - per_user).collect();
    assert_eq!(ended, expected, "which streams ended (oldest first)");
}

#[sqlx::test(migrations = false)]
async fn a_stream_ends_when_its_session_or_access_ends(pool: PgPool) {
    // Arrange: the owner with an agent (invited and joined), each with a stream open.
    let p = Pipeline::start(pool, "owner@ends.sa", "PN3203").await;
    p.owner.get("/team").await;
    p.owner.post("/team/invite", &[("email", "agent@ends.sa")]).await;
    let link = link_path(&mail_to(&p.mail, "agent@ends.sa", "/invite/").await.1, "/invite/");
    let agent = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    agent.get(&link).await;
    let joined = agent.post(&link, &[("name", "Agent"), ("password", PASSWORD), ("locale", "en")]).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let second = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    assert_eq!(second.sign_in("owner@ends.sa", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let mut owners = Events::open(&p.owner).await;
    let mut seconds = Events::open(&second).await;
    let mut agents = Events::open(&agent).await;

    // Act + Assert: the owner signs out in the first browser; that stream ends, not the other.
    p.owner.get("/dashboard").await;
    p.owner.post("/signout", &[]).await;
    assert!(owners.ended_within(Duration::from_secs(15)).await, "a signed-out session's stream went on");
    assert!(!seconds.ended_within(Duration::from_millis(500)).await);

    // Act + Assert: the agent is removed; their stream ends.
    let agent_id: String = sqlx::query_scalar("select user_id::text from users where role = 'agent'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    second.get("/team").await;
    let removed = second.post(&format!("/team/{agent_id}/remove"), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(agents.ended_within(Duration::from_secs(15)).await, "a removed member's stream went on");

    // Act + Assert: the account is suspended; the owner's other stream ends.
    let tenant: mujibak_core::domain::TenantId =
        sqlx::query_scalar("select tenant_id from tenants").fetch_one(&p.pool).await.unwrap();
    let mut conn = p.pool.acquire().await.unwrap();
    mujibak_core::accounts::suspend(&mut conn, tenant, &mujibak_core::db::audit::Actor::System, "abuse")
        .await
        .unwrap();
    assert!(seconds.ended_within(Duration::from_secs(15)).await, "a suspended account's stream went on");
}
