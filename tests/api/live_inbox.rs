//! The live inbox: an open page hears of every change to its business's conversations
//! through `/inbox/events`, whichever web or worker process made it (each web process
//! LISTENs to the database), and never of another business's; unread counts and the
//! "unread", "needs a person" and "bot failed" filters follow the conversations; a deploy
//! ends open streams at once instead of waiting out the drain.

use std::time::{Duration, Instant};

use mujibak_core::{
    db::inbox,
    domain::{TenantId, UserId},
};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::TestApp,
    pipeline::{text, Pipeline},
    web::{Browser, PASSWORD},
};

/// One Server-Sent Event: its type and data.
type Event = (String, String);

/// Reads an open event stream.
pub(crate) struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    pub(crate) async fn open(browser: &Browser) -> Self {
        let response = browser.open("/inbox/events").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut events = Self { response, buffer: String::new() };
        assert_eq!(events.next(Duration::from_secs(10)).await.map(|e| e.0), Some("ready".into()));
        events
    }

    /// The next event (keep-alive comments skipped) within `limit`; `None` if none came or
    /// the stream ended.
    async fn next(&mut self, limit: Duration) -> Option<Event> {
        let until = Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim_start().to_owned())
                };
                match field("event:") {
                    Some(kind) => return Some((kind, field("data:").unwrap_or_default())),
                    None => continue,
                }
            }
            let left = until.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(_) | Err(_) => return None,
            }
        }
    }

    /// Whether the server ends the stream within `limit` (events before the end are skipped).
    pub(crate) async fn ended_within(&mut self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            let Some(left) = until.checked_duration_since(Instant::now()) else { return false };
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) | Ok(Err(_)) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Events until one of type `kind` naming `conversation` (15 s at most).
    async fn until(&mut self, kind: &str, conversation: &str) -> Vec<Event> {
        let mut seen = Vec::new();
        while let Some(e) = self.next(Duration::from_secs(15)).await {
            let done = e.0 == kind && e.1 == conversation;
            seen.push(e);
            if done {
                return seen;
            }
        }
        panic!("no {kind} event for {conversation}; saw {seen:?}");
    }
}

#[sqlx::test(migrations = false)]
async fn a_change_reaches_open_pages_on_another_web_process_and_never_another_business(pool: PgPool) {
    // Arrange: the business's pipeline, a second web process, its owner signed in there,
    // and another business with its own page open on it.
    let p = Pipeline::start(pool, "owner@live.sa", "PN1501").await;
    let second = TestApp::new(p.pool.clone()).vars(&[("ENCRYPTION_KEYS", TEST_KEYS)]).spawn().await;
    let owner = Browser::new(second);
    assert_eq!(owner.sign_in("owner@live.sa", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let stranger = Browser::new(second);
    stranger.sign_up("Other", "owner@elsewhere.sa", "Elsewhere", "en").await;
    let mut mine = Events::open(&owner).await;
    // The process starts listening with its first page, and says so (pages re-read).
    mine.until("resync", "-").await;
    let mut theirs = Events::open(&stranger).await;

    // Act: a customer writes (webhook on the first process, worker writes the message).
    p.deliver(&text("PN1501", "wamid.L1", "966500001501", "When do you open?", 1)).await;
    p.until_count("select count(*) from conversations", 1).await;
    let conversation = p.conversation_id().await;

    // Assert: the page hears of it, by id alone.
    let seen = mine.until("change", &conversation).await;
    for (kind, data) in &seen {
        assert!(
            data == "-" || data.parse::<uuid::Uuid>().is_ok(),
            "an event carries ids only, never text or numbers: {kind} {data}"
        );
    }

    // Act: the customer asks for a person.
    p.deliver(&text("PN1501", "wamid.L2", "966500001501", "أبغى أكلم موظف", 1)).await;

    // Assert: a handoff event (the page's sound and badge), and nothing for the stranger.
    mine.until("handoff", &conversation).await;
    while let Some((kind, data)) = theirs.next(Duration::from_millis(500)).await {
        assert_ne!(data, conversation, "another business heard of it ({kind})");
    }
}

#[sqlx::test(migrations = false)]
async fn unread_counts_and_the_filters_follow_the_conversations(pool: PgPool) {
    // Arrange
    let p = Pipeline::start(pool, "owner@unread.sa", "PN1502").await;

    // Act: one customer writes twice; another wrote 25 hours ago (the bot cannot answer).
    p.deliver(&text("PN1502", "wamid.U1", "966500001502", "Hello", 1)).await;
    p.deliver(&text("PN1502", "wamid.U2", "966500001502", "Are you there?", 1)).await;
    p.deliver(&text("PN1502", "wamid.U3", "966500001503", "Open today?", 25 * 3600)).await;
    p.until_count("select count(*) from conversations where notice = 'window_closed'", 1).await;
    p.until_count("select count(*) from messages where direction = 'in'", 3).await;

    // Assert: both unread, counted; the failed one under "bot failed" only.
    let list = p.owner.get("/inbox").await.body;
    assert!(list.contains(r#"id="unread-count">2<"#), "{list}");
    assert!(list.contains(r#"id="bot-failed">1<"#));
    assert!(list.contains(r#"<span class="sr-only">Unread messages: </span>2</span>"#));
    let failed = p.owner.get("/inbox?filter=failed").await.body;
    assert!(failed.contains("+966500001503") && !failed.contains("+966500001502"));
    assert!(failed.contains("Bot failed"));

    // Act: the team opens the first conversation.
    let first: String = sqlx::query_scalar(
        "select c.conversation_id::text from conversations c join contacts k using (contact_id) where k.wa_id = '966500001502'",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    p.owner.get(&format!("/inbox/{first}")).await;

    // Assert: read; the unread filter holds only the other, and the live part agrees.
    let unread = p.owner.get("/inbox?filter=unread").await.body;
    assert!(unread.contains(r#"id="unread-count">1<"#));
    assert!(unread.contains("+966500001503") && !unread.contains("+966500001502"));
    let rows = p.owner.get("/inbox/rows?filter=unread").await;
    assert_eq!(rows.status, StatusCode::OK);
    assert!(rows.body.contains(r#"id="unread-count">1<"#) && !rows.body.contains("<html"));

    // Act: a new message in the opened conversation.
    p.deliver(&text("PN1502", "wamid.U4", "966500001502", "Hello?", 1)).await;
    p.until_count("select count(*) from messages where direction = 'in'", 4).await;

    // Assert: unread again, one message.
    assert!(p.owner.get("/inbox").await.body.contains(r#"id="unread-count">2<"#));
}

#[sqlx::test(migrations = false)]
async fn the_unread_count_reads_the_conversations_not_their_messages(pool: PgPool) {
    // Arrange: three customers wrote; the team opened two conversations, then the first
    // customer wrote again.
    let p = Pipeline::start(pool, "owner@unread-rows.sa", "PN1504").await;
    for (n, from) in ["966500001504", "966500001505", "966500001506"].iter().enumerate() {
        p.deliver(&text("PN1504", &format!("wamid.R{n}"), from, "Hello", 1)).await;
    }
    p.until_count("select count(*) from messages where direction = 'in'", 3).await;
    let (tenant, owner): (TenantId, UserId) =
        sqlx::query_as("select tenant_id, user_id from users where email = 'owner@unread-rows.sa'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    let conversation = |wa: &'static str| {
        let pool = p.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select c.conversation_id::text from conversations c join contacts k using (contact_id) where k.wa_id = $1",
            )
            .bind(wa)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    p.owner.get(&format!("/inbox/{}", conversation("966500001504").await)).await;
    p.owner.get(&format!("/inbox/{}", conversation("966500001505").await)).await;
    p.deliver(&text("PN1504", "wamid.R9", "966500001504", "Still there?", 1)).await;
    p.until_count("select count(*) from messages where direction = 'in'", 4).await;

    // Act: the counts, between two readings of the session's table statistics (scans of
    // `messages`; the readings can include earlier work of the pooled connection, so the
    // difference is what the counts did), then the unread filter.
    let mut tx = p.pool.begin().await.unwrap();
    let scans = "select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) from pg_stat_xact_user_tables where relname = 'messages'";
    let before: i64 = sqlx::query_scalar(scans).fetch_one(&mut *tx).await.unwrap();
    let counts = inbox::counts(&mut tx, tenant, owner).await.unwrap();
    let after: i64 = sqlx::query_scalar(scans).fetch_one(&mut *tx).await.unwrap();
    let probes = after - before;
    let filter = inbox::InboxFilter { show: inbox::Show::Unread, ..Default::default() };
    let unread = inbox::list(&mut tx, tenant, filter, None, 50).await.unwrap();

    // Assert: the two conversations with news are unread, counted without reading a single
    // message (the old count probed `messages` once per conversation); the one the team
    // read and nobody wrote to since is not.
    assert_eq!(counts.unread, 2);
    assert_eq!(probes, 0, "counting what is unread read the messages table");
    let mut numbers: Vec<_> =
        unread.iter().map(|r| (r.wa_id.clone().unwrap_or_default(), r.unread)).collect();
    numbers.sort();
    assert_eq!(numbers, [("966500001504".to_owned(), 1), ("966500001506".to_owned(), 1)]);
}

#[sqlx::test(migrations = false)]
async fn a_deploy_ends_open_event_streams_at_once(pool: PgPool) {
    // Arrange: the app served with production's drain (20 s), a page's stream open.
    crate::helpers::migrated(&pool).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mujibak_core::Config::from_lookup(|n| match n {
        "DATABASE_URL" => Some("postgres://unused".into()),
        "ENCRYPTION_KEYS" => Some(TEST_KEYS.into()),
        "BASE_URL" => Some(format!("http://{addr}")),
        _ => None,
    })
    .unwrap();
    let state = mujibak::AppState::new(pool, config, false).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(mujibak::web::serve_app(
        listener,
        state,
        mujibak::web::ServeLimits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let page = Browser::new(addr);
    page.sign_up("Owner", "owner@deploy.sa", "Deploy", "en").await;
    let mut events = Events::open(&page).await;

    // Act: SIGTERM.
    let asked = Instant::now();
    stop.send(()).unwrap();

    // Assert: the stream ends (at most a resync from the listener starting comes first)
    // and the server stops well within the drain period.
    while let Some(event) = events.next(Duration::from_secs(10)).await {
        assert_eq!(event, ("resync".to_owned(), "-".to_owned()));
    }
    tokio::time::timeout(Duration::from_secs(10), served).await.expect("stopped").unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(5), "took {:?}", asked.elapsed());
}
