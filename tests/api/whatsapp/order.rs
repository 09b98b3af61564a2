//! A conversation is read in the order its messages reached us, never by Meta's
//! timestamp: Meta stamps a message in whole seconds (two sent within a second tie), and
//! a phone's clock or a retried delivery can stamp a later message earlier. The model
//! reads the turns, the reply answers the last one and the thread shows them in arrival
//! order, while each message keeps Meta's time for display.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{customer, user_turns, Pipeline};

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
