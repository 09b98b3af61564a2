//! What the queue keeps of a conversation: job rows hold ids only, so neither the
//! customer's words, number and name nor the reply are in `apalis.jobs` (finished rows
//! are kept for days; raw webhook events, which do repeat them, are pruned after
//! `INBOUND_RETENTION_DAYS`: `prune::raw_webhook_events_done_with_…`).

use sqlx::PgPool;

use crate::pipeline::{text, Pipeline};

#[sqlx::test(migrations = false)]
async fn job_payloads_hold_ids_only_never_message_text_numbers_or_names(pool: PgPool) {
    // Arrange + Act: a customer writes, the bot answers, Meta reports the reply read.
    let p = Pipeline::start(pool, "owner@ids.sa", "PN1600").await;
    let said = "My order number is 4417 and my address is 12 Olaya Street";
    p.deliver(&text("PN1600", "wamid.IDS1", "966500001600", said, 1)).await;
    let reply = p.sends(1).await[0].body["text"]["body"].as_str().unwrap_or_default().to_owned();
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;

    // Assert: every job row, finished or not, carries none of it.
    let payloads: Vec<String> = sqlx::query_scalar("select convert_from(job, 'UTF8') from apalis.jobs")
        .fetch_all(&p.pool)
        .await
        .unwrap();
    assert!(payloads.len() >= 3, "the conversation ran through jobs: {payloads:?}");
    assert!(!reply.is_empty());
    for payload in &payloads {
        for secret in [said, "Olaya", "966500001600", "500001600", "Sara", reply.as_str()] {
            assert!(!payload.contains(secret), "a job payload holds {secret:?}: {payload}");
        }
    }
}
