//! Each webhook event stands alone: a status for a message we do not know is parked (and
//! applied once that message gets its id), never a job failure; one failing event neither
//! delays nor loses the others of its delivery; the sweeper re-enqueues events whose job
//! died, and gives up (keeping them for staff) after a bounded number of sweeps.

use mujibak_devtools::sandbox::graph::GraphFault;
use mujibak_jobs::{
    sweep_inbound::{SweepInbound, MAX_SWEEPS},
    Job,
};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    helpers::eventually,
    pipeline::{envelope, text, Options, Pipeline},
};

/// Waits until the first attempt of every `handle_inbound` job has ended, whatever its outcome.
async fn first_attempts_ended(p: &Pipeline) {
    p.until_count(
        "select (count(*) = count(*) filter (where status in ('Done', 'Failed', 'Killed')) and count(*) > 0)::int::int8
         from apalis.jobs where job_type = 'handle_inbound'",
        1,
    )
    .await;
}

#[sqlx::test(migrations = false)]
async fn an_unknown_status_neither_delays_nor_loses_the_customer_message_after_it(pool: PgPool) {
    // Arrange: a status for a message sent from another tool, then a customer's text.
    let p = Pipeline::start(pool, "owner@unknown.sa", "PN1200").await;
    let status = envelope(
        "PN1200",
        json!({ "statuses": [{ "id": "wamid.UNKNOWN", "status": "delivered", "timestamp": "1", "recipient_id": "966500001200" }] }),
    );
    let message = text("PN1200", "wamid.AFTER", "966500001200", "Do you have dates?", 1);
    let mut delivery = status.clone();
    let second = message["entry"][0]["changes"][0].clone();
    delivery["entry"][0]["changes"].as_array_mut().unwrap().push(second);

    // Act
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    first_attempts_ended(&p).await;

    // Assert: the text was stored by the first attempt, and is answered.
    assert_eq!(
        p.count("select count(*) from messages where wamid = 'wamid.AFTER'").await,
        1,
        "the customer's message is stored at once, whatever the status before it; {}",
        p.diagnostics().await
    );
    p.sends(1).await;
    assert_eq!(p.count("select count(*) from job_errors where queue = 'handle_inbound'").await, 0);
    assert_eq!(
        p.count("select count(*) from parked_statuses where wamid = 'wamid.UNKNOWN'").await,
        1,
        "the unknown status is parked"
    );
    // Both events of this delivery are processed (the Graph fake's own status webhooks for
    // the reply may still be arriving: they are not this delivery's).
    let unprocessed = p
        .count(
            "select count(*) from inbound_events where processed_at is null
               and dedupe_key in ('message:wamid.AFTER', 'status:wamid.UNKNOWN:delivered')",
        )
        .await;
    assert_eq!(unprocessed, 0);
}

#[sqlx::test(migrations = false)]
async fn a_status_that_beats_the_send_answer_is_parked_and_applied_when_the_id_is_stored(pool: PgPool) {
    // Arrange: Meta takes the send and reports it delivered before answering the request.
    let vars = [("WHATSAPP_TIMEOUT_SECS", "10")];
    let p =
        Pipeline::start_opts(pool, "owner@early.sa", "PN1210", Options { vars: &vars, ..Options::default() })
            .await;
    p.graph.set_auto_statuses(false);
    p.graph.fail_next(GraphFault::AcceptThenHang { ms: 2_500 }, 1);
    p.deliver(&text("PN1210", "wamid.E1", "966500001210", "Where are you?", 1)).await;
    let sent = eventually(std::time::Duration::from_secs(20), "Meta to accept the send", || async {
        p.graph.sends().first().cloned()
    })
    .await;

    // Act: a status without callback data (as for sends made before callback data existed).
    let early = envelope(
        "PN1210",
        json!({ "statuses": [{ "id": sent.wamid, "status": "delivered", "timestamp": "1", "recipient_id": "966500001210" }] }),
    );
    assert_eq!(p.deliver(&early).await, StatusCode::OK);
    p.until_finished(&["send_message"]).await;
    p.until_count(
        "select count(*) from inbound_events where kind = 'status' and processed_at is not null",
        1,
    )
    .await;

    // Assert: handled at once (not retried until the id was stored), then applied.
    let handled_first: bool = sqlx::query_scalar(
        "select e.processed_at < m.sent_at from inbound_events e, messages m
         where e.kind = 'status' and m.direction = 'out'",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert!(handled_first, "the early status was parked at once, not retried; {}", p.diagnostics().await);
    assert_eq!(p.count("select count(*) from job_errors where queue = 'handle_inbound'").await, 0);
    p.until_count(
        &format!("select count(*) from messages where wamid = '{}' and status = 'delivered'", sent.wamid),
        1,
    )
    .await;
    assert_eq!(p.count("select count(*) from parked_statuses").await, 0, "applied, then removed");
}

#[sqlx::test(migrations = false)]
async fn one_failing_event_neither_delays_nor_loses_the_others_of_its_delivery(pool: PgPool) {
    // Arrange: the database refuses one message (a trigger stands in for any failure).
    let p = Pipeline::start(pool, "owner@poison.sa", "PN1220").await;
    for sql in [
        "create function refuse_poison() returns trigger language plpgsql as $$
         begin if new.wamid = 'wamid.POISON' then raise exception 'refused for the test'; end if; return new; end $$",
        "create trigger refuse_poison before insert on messages for each row execute function refuse_poison()",
    ] {
        sqlx::query(sql).execute(&p.pool).await.unwrap();
    }
    let ts = (chrono::Utc::now().timestamp() - 1).to_string();
    let message = |from: &str, id: &str| json!({ "from": from, "id": id, "timestamp": ts, "type": "text", "text": { "body": "Hello" } });
    let delivery = envelope(
        "PN1220",
        json!({
            "contacts": [{ "profile": { "name": "A" }, "wa_id": "966500001221" }, { "profile": { "name": "B" }, "wa_id": "966500001222" },
                         { "profile": { "name": "C" }, "wa_id": "966500001223" }],
            "messages": [message("966500001221", "wamid.FIRST"), message("966500001222", "wamid.POISON"),
                         message("966500001223", "wamid.LAST")]
        }),
    );

    // Act
    assert_eq!(p.deliver(&delivery).await, StatusCode::OK);
    first_attempts_ended(&p).await;

    // Assert: the events before and after the failing one are stored by the first attempt.
    assert_eq!(
        p.count("select count(*) from messages where wamid in ('wamid.FIRST', 'wamid.LAST')").await,
        2,
        "the other events of the delivery go through; {}",
        p.diagnostics().await
    );
    p.sends(2).await;
    let (attempts, error): (i32, Option<String>) = sqlx::query_as(
        "select attempts, error from inbound_events where dedupe_key = 'message:wamid.POISON' and processed_at is null",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert!(attempts >= 1 && error.unwrap_or_default().contains("refused for the test"));

    // Act: the cause goes away; the job's retry redoes only the failed event.
    sqlx::query("drop trigger refuse_poison on messages").execute(&p.pool).await.unwrap();
    p.until_count("select count(*) from messages where wamid = 'wamid.POISON'", 1).await;
    p.sends(3).await;
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 3);
}

#[sqlx::test(migrations = false)]
async fn an_event_whose_job_never_ran_is_swept_again_and_given_up_after_bounded_sweeps(pool: PgPool) {
    // Arrange: no handle_inbound worker, so the deliveries' jobs never run (as if dead).
    let opts = Options { hold_inbound: true, ..Options::default() };
    let mut p = Pipeline::start_opts(pool, "owner@sweep.sa", "PN1230", opts).await;
    p.deliver(&text("PN1230", "wamid.S1", "966500001231", "Anyone there?", 1)).await;
    p.deliver(&text("PN1230", "wamid.S2", "966500001232", "Hello?", 1)).await;
    let jobs = "select count(*) from apalis.jobs where job_type = 'handle_inbound'";
    let ctx = p.ctx().clone();
    let sweep = || SweepInbound {}.run(&ctx);

    // Act + Assert: fresh events are left to their jobs.
    sweep().await.unwrap();
    assert_eq!(p.count(jobs).await, 2);

    // Act + Assert: unprocessed for longer than the sweeper waits: one job for the tenant.
    sqlx::query("update inbound_events set received_at = now() - interval '10 minutes'")
        .execute(&p.pool)
        .await
        .unwrap();
    sweep().await.unwrap();
    assert_eq!(p.count(jobs).await, 3, "one new job for the tenant's stale events");
    assert_eq!(p.count("select count(*) from inbound_events where sweeps = 1").await, 2);

    // Act + Assert: S2 keeps being swept until the bound, then is given up, kept for staff.
    let backdate = "update inbound_events set swept_at = now() - interval '10 minutes'
                    where dedupe_key = 'message:wamid.S2'";
    for _ in 1..MAX_SWEEPS {
        sqlx::query(backdate).execute(&p.pool).await.unwrap();
        sweep().await.unwrap();
    }
    assert_eq!(p.count(jobs).await, 2 + MAX_SWEEPS as i64);
    sqlx::query(backdate).execute(&p.pool).await.unwrap();
    sweep().await.unwrap();
    assert_eq!(p.count(jobs).await, 2 + MAX_SWEEPS as i64, "no job after the bound");
    assert_eq!(
        p.count(
            "select count(*) from inbound_events where dead_at is not null and error like 'never processed%'"
        )
        .await,
        1
    );

    // Act + Assert: once a worker runs, nothing was lost.
    p.start_inbound();
    p.sends(2).await;
    assert_eq!(
        p.count(
            "select count(*) from inbound_events
             where kind = 'message' and (processed_at is null or dead_at is not null)"
        )
        .await,
        0
    );

    // Parked statuses older than 30 days are pruned by the sweep.
    let unknown = envelope(
        "PN1230",
        json!({ "statuses": [{ "id": "wamid.OLD", "status": "read", "timestamp": "1", "recipient_id": "966500001231" }] }),
    );
    p.deliver(&unknown).await;
    p.until_count("select count(*) from parked_statuses", 1).await;
    sqlx::query("update parked_statuses set parked_at = now() - interval '31 days'")
        .execute(&p.pool)
        .await
        .unwrap();
    sweep().await.unwrap();
    assert_eq!(p.count("select count(*) from parked_statuses").await, 0);
}
