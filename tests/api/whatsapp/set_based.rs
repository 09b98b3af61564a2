//! A backlog is stored set-based: a `handle_inbound` job, once its own events are
//! processed, takes over up to 50 other pending deliveries in one transaction (its
//! business's first, then a few of every other business's), and marks their jobs done in
//! it; each customer is still answered once. A batch in which
//! one event fails is rolled back whole: its jobs run on their own, one event per
//! transaction, so the failing event fails alone and every other is stored once. An event
//! another transaction holds is skipped, and its job stays to run on its own.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::PgPool;

use mujibak_jobs::{
    handle_inbound::{HandleInbound, TAKE_PER_OTHER},
    Job,
};

use crate::pipeline::{text, Options, Pipeline};

/// Delivers one text per `(wamid, from)`, in order.
pub(super) async fn deliver_all(p: &Pipeline, messages: &[(String, String)]) {
    for (wamid, from) in messages {
        let delivery = text(&p.phone_number_id, wamid, from, "Do you deliver to Olaya?", 1);
        assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    }
}

/// The oldest `handle_inbound` job, run by hand (no inbound worker runs yet).
pub(super) async fn run_first_job(p: &Pipeline) {
    let job: Vec<u8> = sqlx::query_scalar(
        "select job from apalis.jobs where job_type = 'handle_inbound' order by run_at, id limit 1",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    let first: HandleInbound = serde_json::from_slice(&job).unwrap();
    first.run(p.ctx()).await.unwrap();
}

#[sqlx::test(migrations = false)]
async fn one_job_stores_its_business_backlog_in_batches_and_each_customer_is_answered_once(pool: PgPool) {
    // Arrange: 25 customers write twice each; 50 deliveries wait, no inbound worker runs.
    let opts = Options { hold_inbound: true, ..Options::default() };
    let mut p = Pipeline::start_opts(pool, "owner@backlog-batch.sa", "PN1800", opts).await;
    let messages: Vec<(String, String)> = (0..25)
        .flat_map(|c| (0..2).map(move |k| (format!("wamid.SB.{c}.{k}"), format!("9665000018{c:02}"))))
        .collect();
    deliver_all(&p, &messages).await;

    // Act: the oldest delivery's job runs.
    run_first_job(&p).await;

    // Assert: that one run stored every message of the backlog and finished every job.
    assert_eq!(
        p.count("select count(*) from inbound_events where kind = 'message' and processed_at is not null")
            .await,
        50,
        "one job processed only its own delivery"
    );
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 50);
    assert_eq!(
        p.count("select count(*) from apalis.jobs where job_type = 'handle_inbound' and status <> 'Done'")
            .await,
        0,
        "every delivery's job is done"
    );

    // Assert: once the workers run, every customer gets one reply (a burst, one turn).
    p.start_inbound();
    p.sends(25).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(p.graph.sends().len(), 25, "each customer answered once; {}", p.diagnostics().await);
}

#[sqlx::test(migrations = false)]
async fn one_job_takes_over_its_business_backlog_and_a_few_of_every_other_business(pool: PgPool) {
    // Arrange: two businesses; ten customers of the first and five of the second wait, no
    // inbound worker runs.
    let opts = || Options { hold_inbound: true, hold_sends: true, ..Options::default() };
    let mut a = Pipeline::start_opts(pool.clone(), "owner@batch-a.sa", "PN1803", opts()).await;
    a.stop_email().await;
    let b = Pipeline::start_opts(pool, "owner@batch-b.sa", "PN1804", opts()).await;
    let customers = |tag: u32, n: u32| -> Vec<(String, String)> {
        (0..n).map(|c| (format!("wamid.SX.{tag}.{c}"), format!("96650000{tag}{c:02}"))).collect()
    };
    deliver_all(&a, &customers(21, 10)).await;
    deliver_all(&b, &customers(22, 5)).await;

    // Act: the oldest delivery's job (the first business's) runs.
    run_first_job(&a).await;

    // Assert: that one run stored its business's whole backlog and the other business's
    // oldest few (a flood of one business takes only a few places of another's batch),
    // finished those jobs, and asked for one reply per conversation stored.
    let stored = |tag: &str| {
        format!("select count(*) from messages where direction = 'in' and wamid like 'wamid.SX.{tag}.%'")
    };
    let per_other = TAKE_PER_OTHER as i64;
    assert_eq!(a.count(&stored("21")).await, 10);
    assert_eq!(a.count(&stored("22")).await, per_other, "one job stored only its own business's backlog");
    assert_eq!(
        a.count("select count(*) from messages where direction = 'in' and wamid in ('wamid.SX.22.0', 'wamid.SX.22.1')")
            .await,
        per_other,
        "the other business's oldest first"
    );
    assert_eq!(
        a.count("select count(*) from apalis.jobs where job_type = 'handle_inbound' and status <> 'Done'")
            .await,
        5 - per_other,
        "every job taken is done, the rest wait"
    );
    let replies = "select count(distinct (metadata -> 'tenant', convert_from(job, 'UTF8')::jsonb ->> 'conversation_id'))
                     from apalis.jobs where job_type = 'generate_reply'";
    assert_eq!(a.count(replies).await, 10 + per_other, "one reply asked for per conversation");
}

#[sqlx::test(migrations = false)]
async fn a_failing_event_rolls_back_its_batch_and_every_other_delivery_is_stored_once(pool: PgPool) {
    // Arrange: ten customers' deliveries wait; storing the sixth fails.
    let opts = Options { hold_inbound: true, ..Options::default() };
    let mut p = Pipeline::start_opts(pool, "owner@batch-fail.sa", "PN1801", opts).await;
    sqlx::raw_sql(
        "create function test_refuse_f5() returns trigger language plpgsql as
           $$ begin raise exception 'disk full'; end $$;
         create trigger refuse_f5 before insert on messages
           for each row when (new.wamid = 'wamid.SF.5') execute function test_refuse_f5();",
    )
    .execute(&p.pool)
    .await
    .unwrap();
    let messages: Vec<(String, String)> =
        (0..10).map(|c| (format!("wamid.SF.{c}"), format!("9665000019{c:02}"))).collect();
    deliver_all(&p, &messages).await;

    // Act: the oldest delivery's job runs.
    run_first_job(&p).await;

    // Assert: its own message is stored; the batch it took failed and was rolled back whole,
    // so no job is done and the other nine wait to run on their own.
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 1);
    assert_eq!(
        p.count("select count(*) from apalis.jobs where job_type = 'handle_inbound' and status = 'Done'")
            .await,
        0,
        "a rolled-back batch left its jobs done"
    );

    // Act: the workers run.
    p.start_inbound();

    // Assert: every other message is stored once and answered; the failing one fails alone,
    // kept unprocessed with its error for a retry.
    p.until_count("select count(*) from messages where direction = 'in'", 9).await;
    p.until_count(
        "select count(*) from inbound_events where payload #>> '{raw,id}' = 'wamid.SF.5' and attempts > 0 and processed_at is null",
        1,
    )
    .await;
    p.sends(9).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(p.graph.sends().len(), 9, "each stored customer answered once");
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 9);
}

#[sqlx::test(migrations = false)]
async fn an_event_another_transaction_holds_is_left_to_its_own_job(pool: PgPool) {
    // Arrange: five customers' deliveries wait; another transaction holds the fourth's event
    // (as a message deletion scrubbing it, or the sweeper, would for a moment).
    let opts = Options { hold_inbound: true, ..Options::default() };
    let mut p = Pipeline::start_opts(pool, "owner@batch-held.sa", "PN1802", opts).await;
    let messages: Vec<(String, String)> =
        (0..5).map(|c| (format!("wamid.SH.{c}"), format!("9665000020{c:02}"))).collect();
    deliver_all(&p, &messages).await;
    let mut holder = p.pool.begin().await.unwrap();
    sqlx::query("select 1 from inbound_events where payload #>> '{raw,id}' = 'wamid.SH.3' for update")
        .execute(&mut *holder)
        .await
        .unwrap();

    // Act: the oldest delivery's job runs.
    run_first_job(&p).await;

    // Assert: the batch stored the others and skipped the held one, whose job is not done.
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 4);
    let held_job: i64 = sqlx::query_scalar(
        "select count(*) from apalis.jobs j join inbound_events e
            on position(e.event_id::text in convert_from(j.job, 'UTF8')) > 0
         where j.job_type = 'handle_inbound' and j.status = 'Pending' and e.payload #>> '{raw,id}' = 'wamid.SH.3'",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!(held_job, 1, "the held event's job was marked done without it");

    // Act: the holder lets go; the workers run.
    holder.commit().await.unwrap();
    p.start_inbound();

    // Assert: the held message is stored too, and every customer is answered once.
    p.until_count("select count(*) from messages where direction = 'in'", 5).await;
    p.sends(5).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(p.graph.sends().len(), 5, "each customer answered once; {}", p.diagnostics().await);
}

#[sqlx::test(migrations = false)]
async fn a_business_another_batch_is_taking_from_is_skipped_not_waited_for(pool: PgPool) {
    // Arrange: two businesses with three customers waiting each; another transaction is
    // taking from the second business (it holds the batch's lock for that business).
    let opts = || Options { hold_inbound: true, hold_sends: true, ..Options::default() };
    let mut a = Pipeline::start_opts(pool.clone(), "owner@batch-c.sa", "PN1805", opts()).await;
    a.stop_email().await;
    let b = Pipeline::start_opts(pool, "owner@batch-d.sa", "PN1806", opts()).await;
    let customers = |tag: u32| -> Vec<(String, String)> {
        (0..3).map(|c| (format!("wamid.SK.{tag}.{c}"), format!("96650000{tag}{c:02}"))).collect()
    };
    deliver_all(&a, &customers(31)).await;
    deliver_all(&b, &customers(32)).await;
    let mut other = a.pool.begin().await.unwrap();
    sqlx::query(
        "select pg_advisory_xact_lock(hashtextextended('mujibak.take.handle_inbound.' || tenant_id::text, 0))
           from whatsapp_connections where phone_number_id = 'PN1806'",
    )
    .execute(&mut *other)
    .await
    .unwrap();

    // Act: the oldest delivery's job (the first business's) runs, while that lock is held.
    tokio::time::timeout(Duration::from_secs(10), run_first_job(&a))
        .await
        .expect("the batch waited for the lock");

    // Assert: its own business's backlog is stored, none of the second's, whose jobs wait.
    let stored = |tag: &str| {
        format!("select count(*) from messages where direction = 'in' and wamid like 'wamid.SK.{tag}.%'")
    };
    assert_eq!(a.count(&stored("31")).await, 3);
    assert_eq!(a.count(&stored("32")).await, 0, "a batch took from a business another batch holds");
    assert_eq!(
        a.count("select count(*) from apalis.jobs where job_type = 'handle_inbound' and status = 'Pending'")
            .await,
        3
    );
    other.commit().await.unwrap();
}
