//! A conversation is read in the order its messages reached us, never by Meta's
//! timestamp: Meta stamps a message in whole seconds (two sent within a second tie), and
//! a phone's clock or a retried delivery can stamp a later message earlier. The model
//! reads the turns, the reply answers the last one and the thread shows them in arrival
//! order, while each message keeps Meta's time for display; the order is taken when the
//! webhook stores the event, so two workers storing a customer's messages in the other
//! order change nothing. A turn still arriving (part of it delivered but waiting in a
//! backlog) is answered once, when all of it is stored.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use mujibak_jobs::{handle_inbound::HandleInbound, Job};

use crate::pipeline::{customer, user_turns, Options, Pipeline};

#[sqlx::test(migrations = false)]
async fn messages_50_ms_apart_keep_their_arrival_order_for_the_model_the_reply_and_the_thread(pool: PgPool) {
    // Arrange: a connected number with the bot on.
    let p = Pipeline::start(pool, "owner@order.sa", "PN1700").await;
    let from = "966500001700";
    let second = chrono::Utc::now().timestamp() - 1;

    // Act: three messages 50 ms apart; Meta stamps the first two with the same second and
    // the third with the second before.
    for (wamid, body, ts) in
        [("wamid.O1", "first", second), ("wamid.O2", "second", second), ("wamid.O3", "third", second - 1)]
    {
        let msg =
            json!({ "id": wamid, "timestamp": ts.to_string(), "type": "text", "text": { "body": body } });
        assert_eq!(p.deliver(&customer("PN1700", from, msg)).await, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    p.sends(1).await;

    // Assert: one reply, to the last message to arrive, written from the turns in order.
    let turns = user_turns(p.model.requests().last().unwrap());
    assert_eq!(turns, vec!["first", "second", "third"], "the model read them out of order");
    let answered: Option<String> = sqlx::query_scalar(
        "select q.wamid from messages r join messages q on q.message_id = r.reply_to where r.author = 'bot'",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!(answered.as_deref(), Some("wamid.O3"), "the reply links to the last message");
    let thread = p.owner.get(&format!("/inbox/{}/thread", p.conversation_id().await)).await;
    let at = |text: &str| thread.body.find(&format!(">{text}<")).unwrap_or_else(|| panic!("{text} shown"));
    assert!(at("first") < at("second") && at("second") < at("third"), "the thread shows arrival order");
    let stamped: i64 = sqlx::query_scalar(
        "select extract(epoch from created_at)::int8 from messages where wamid = 'wamid.O3'",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!(stamped, second - 1, "Meta's time is kept for display");
}

#[sqlx::test(migrations = false)]
async fn a_reply_waits_for_the_rest_of_a_turn_still_waiting_to_be_stored(pool: PgPool) {
    // Arrange: no inbound worker yet (a backlog); the reply debounce is 2 s.
    let opts = Options { hold_inbound: true, ..Options::default() };
    let mut p = Pipeline::start_opts(pool, "owner@backlog.sa", "PN1701", opts).await;
    let from = "966500001701";
    let now = chrono::Utc::now().timestamp().to_string();
    let message = |wamid: &str, body: &str| {
        customer(
            "PN1701",
            from,
            json!({ "id": wamid, "timestamp": now, "type": "text", "text": { "body": body } }),
        )
    };

    // Act: the first message is stored at once (its job run by hand); the second, sent a
    // moment later, waits in the backlog past the first one's debounce.
    assert_eq!(p.deliver(&message("wamid.B1", "I want to order")).await, StatusCode::OK);
    let job: Vec<u8> = sqlx::query_scalar("select job from apalis.jobs where job_type = 'handle_inbound'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    let first: HandleInbound = serde_json::from_slice(&job).unwrap();
    first.run(p.ctx()).await.unwrap();
    assert_eq!(p.deliver(&message("wamid.B2", "two coffees please")).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Assert: no reply to half a turn.
    assert_eq!(p.graph.sends().len(), 0, "the bot answered before the rest of the turn was stored");

    // Act: the backlog is worked off.
    p.start_inbound();

    // Assert: one reply, written from both messages, to the second.
    p.sends(1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(p.graph.sends().len(), 1, "one reply per turn");
    let turns = user_turns(p.model.requests().last().unwrap());
    assert_eq!(turns, vec!["I want to order", "two coffees please"]);
}

#[sqlx::test(migrations = false)]
async fn two_messages_stored_in_reverse_order_by_two_workers_keep_the_order_they_arrived_in(pool: PgPool) {
    // Arrange: no inbound worker yet; two messages of one customer arrive, 50 ms apart.
    let opts = Options { hold_inbound: true, ..Options::default() };
    let mut p = Pipeline::start_opts(pool, "owner@reverse.sa", "PN1702", opts).await;
    let from = "966500001702";
    for (wamid, body) in [("wamid.R1", "first"), ("wamid.R2", "second")] {
        let msg = json!({ "id": wamid, "type": "text", "text": { "body": body } });
        assert_eq!(p.deliver(&customer("PN1702", from, msg)).await, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Act: the second delivery's job is stored first (as when another worker got to it
    // first), then the first's.
    let jobs: Vec<Vec<u8>> = sqlx::query_scalar(
        "select job from apalis.jobs where job_type = 'handle_inbound' order by run_at desc, id desc",
    )
    .fetch_all(&p.pool)
    .await
    .unwrap();
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        let job: HandleInbound = serde_json::from_slice(job).unwrap();
        // Its own event only: no other delivery's job is taken over.
        sqlx::query("update apalis.jobs set status = 'Running' where job_type = 'handle_inbound'")
            .execute(&p.pool)
            .await
            .unwrap();
        job.run(p.ctx()).await.unwrap();
    }
    p.start_inbound();

    // Assert: the thread and the model read them in the order they arrived; the reply links
    // to the second.
    p.sends(1).await;
    let turns = user_turns(p.model.requests().last().unwrap());
    assert_eq!(turns, vec!["first", "second"], "the order the workers stored them in won");
    let order: Vec<String> =
        sqlx::query_scalar("select wamid from messages where direction = 'in' order by seq")
            .fetch_all(&p.pool)
            .await
            .unwrap();
    assert_eq!(order, vec!["wamid.R1", "wamid.R2"]);
    let answered: Option<String> = sqlx::query_scalar(
        "select q.wamid from messages r join messages q on q.message_id = r.reply_to where r.author = 'bot'",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!(answered.as_deref(), Some("wamid.R2"), "the reply links to the last message to arrive");
}
