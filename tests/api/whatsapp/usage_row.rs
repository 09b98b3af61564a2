//! A business's usage counts are one row per day, which every send of the business also
//! writes: storing customer messages holds it only at the end of the transaction (a batch
//! of many events counts them all in one statement, as its last write), never while the
//! batch works, and every message stored is counted once. Recording a send Meta accepted
//! counts it (and the month's AI reply) in the same way: as the last statement before the
//! commit, never while the record waits for anything else.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};

use mujibak_jobs::{send_message::SendMessage, Job};

use super::set_based::{deliver_all, run_first_job};
use crate::{
    helpers::eventually,
    pipeline::{Options, Pipeline},
};

const RETURNING: &str = "966500003001";

/// Once a statement like `query` waits for a lock, how many usage rows another transaction
/// can lock (as a send of the business would); then `holder` ends, letting it go on.
async fn usage_rows_free_while_waiting(p: &Pipeline, query: &str, holder: Transaction<'_, Postgres>) -> i64 {
    eventually(Duration::from_secs(10), "a statement to wait at the held lock", || async {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock' and query like $1",
        )
        .bind(query)
        .fetch_one(&p.pool)
        .await
        .unwrap();
        (waiting > 0).then_some(())
    })
    .await;
    let free: i64 =
        sqlx::query_scalar("select count(*) from (select 1 from usage_daily for update skip locked) u")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    holder.commit().await.unwrap();
    free
}

#[sqlx::test(migrations = false)]
async fn a_batch_holds_no_business_usage_row_while_it_works_and_counts_every_message(pool: PgPool) {
    // Arrange: a returning customer wrote before (their conversation and today's usage row
    // exist); then two new customers and the returning one write (three deliveries wait),
    // and another transaction holds the returning customer's conversation, as a reply
    // being stored for them would for a moment.
    let opts = Options { hold_inbound: true, hold_sends: true, ..Options::default() };
    let p = Pipeline::start_opts(pool, "owner@usage-row.sa", "PN1810", opts).await;
    let first = [("wamid.UR.0".to_owned(), RETURNING.to_owned())];
    deliver_all(&p, &first).await;
    run_first_job(&p).await;
    let later = [
        ("wamid.UR.1".to_owned(), "966500003002".to_owned()),
        ("wamid.UR.2".to_owned(), "966500003003".to_owned()),
        ("wamid.UR.3".to_owned(), RETURNING.to_owned()),
    ];
    deliver_all(&p, &later).await;
    let mut holder = p.pool.begin().await.unwrap();
    sqlx::query(
        "select 1 from conversations where contact_id = (select contact_id from contacts where wa_id = $1)
            for update",
    )
    .bind(RETURNING)
    .execute(&mut *holder)
    .await
    .unwrap();

    // Act: the oldest waiting delivery's job runs: its own event alone, then a batch of
    // the other two, which waits at the returning customer's conversation. Meanwhile the
    // usage row is tried as a send of the business would.
    let probe = usage_rows_free_while_waiting(&p, "%", holder);
    let ((), free) = tokio::join!(run_first_job(&p), probe);

    // Assert: the usage row was free while the batch waited; all four messages counted.
    assert_eq!(free, 1, "the batch held the business's usage row while it worked");
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 4);
    assert_eq!(p.count("select coalesce(sum(inbound), 0)::bigint from usage_daily").await, 4);
}

#[sqlx::test(migrations = false)]
async fn a_send_being_recorded_holds_no_business_usage_row_until_its_last_statement(pool: PgPool) {
    // Arrange: a customer wrote and was counted (today's usage row exists); the bot's reply
    // is stored and its send waits (no send worker runs). Another transaction holds the
    // parked statuses, as a status being parked for the reply's Meta id would hold them.
    let opts = Options { hold_sends: true, ..Options::default() };
    let p = Pipeline::start_opts(pool, "owner@usage-send.sa", "PN1811", opts).await;
    deliver_all(&p, &[("wamid.US.0".to_owned(), "966500003101".to_owned())]).await;
    p.until_count("select count(*) from apalis.jobs where job_type = 'send_message'", 1).await;
    let job: Vec<u8> = sqlx::query_scalar("select job from apalis.jobs where job_type = 'send_message'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    let send: SendMessage = serde_json::from_slice(&job).unwrap();
    let mut holder = p.pool.begin().await.unwrap();
    sqlx::query("lock table parked_statuses in share mode").execute(&mut *holder).await.unwrap();

    // Act: the send runs; Meta accepts it, and its record waits at the parked statuses.
    // Meanwhile the usage row is tried as another send of the business would.
    let probe = usage_rows_free_while_waiting(&p, "%parked_statuses%", holder);
    let (sent, free) = tokio::join!(send.run(p.ctx()), probe);
    sent.unwrap();

    // Assert: the usage row was free while the record waited; the send is recorded with
    // Meta's id and counted once, as a message and as an AI reply.
    assert_eq!(free, 1, "the send's record held the business's usage row while it waited");
    assert_eq!(
        p.count(
            "select count(*) from messages where direction = 'out' and status = 'sent' and wamid is not null"
        )
        .await,
        1
    );
    assert_eq!(p.count("select coalesce(sum(outbound), 0)::bigint from usage_daily").await, 1);
    assert_eq!(p.count("select coalesce(sum(replies), 0)::bigint from ai_usage_monthly").await, 1);
}
