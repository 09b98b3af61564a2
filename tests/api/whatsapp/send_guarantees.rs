//! Effectively-once sends: every send carries our message id as callback data; an outcome
//! that may have reached Meta (accepted then no answer, a timeout, a crash before the id
//! was stored) is `uncertain`, settled by Meta's status webhook, or sent once more (never
//! twice more) when no status arrives within the reconcile window. Counted on the Graph
//! fake's own record of accepted sends.

use mujibak_devtools::sandbox::graph::GraphFault;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    helpers::eventually,
    pipeline::{envelope, text, Options, Pipeline},
};

async fn reply_id(p: &Pipeline) -> String {
    sqlx::query_scalar("select message_id::text from messages where direction = 'out'")
        .fetch_one(&p.pool)
        .await
        .unwrap()
}

async fn thread(p: &Pipeline) -> String {
    p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await.body
}

#[sqlx::test(migrations = false)]
async fn a_send_meta_accepted_but_never_answered_reaches_the_customer_once(pool: PgPool) {
    // Arrange: Meta takes the send (and reports it) but its answer never reaches us.
    let p = Pipeline::start(pool, "owner@hang.sa", "PN1100").await;
    p.graph.fail_next(GraphFault::AcceptThenHang { ms: 4_000 }, 1);

    // Act
    p.deliver(&text("PN1100", "wamid.H1", "966500001100", "Are you open today?", 1)).await;
    p.until_finished(&["send_message", "reconcile_send"]).await;

    // Assert: counted by another process's view of the fake (its JSON listing).
    let listing: Value = reqwest::get(format!("{}/_sandbox/graph/sends", p.graph.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sends = listing["sends"].as_array().unwrap().clone();
    assert_eq!(sends.len(), 1, "the customer got the reply once: {sends:?}");
    let id = reply_id(&p).await;
    assert_eq!(sends[0]["callback"], json!(id), "the send carries our message id as callback data");
    let wamid = sends[0]["wamid"].as_str().unwrap().to_owned();
    p.until_count(&format!("select count(*) from messages where wamid = '{wamid}' and status = 'read'"), 1)
        .await;
    assert!(thread(&p).await.contains("Confirmed by WhatsApp after an interrupted send."));
}

#[sqlx::test(migrations = false)]
async fn a_send_that_never_reached_meta_is_sent_once_more_after_the_window_and_the_inbox_says_so(
    pool: PgPool,
) {
    // Arrange: the first send times out and Meta never got it (no status will come).
    let p = Pipeline::start(pool, "owner@timeout.sa", "PN1110").await;
    p.graph.fail_next(GraphFault::Timeout { ms: 4_000 }, 1);

    // Act
    p.deliver(&text("PN1110", "wamid.T1", "966500001110", "Do you deliver?", 1)).await;
    p.until_finished(&["send_message", "reconcile_send"]).await;

    // Assert: one send reached Meta, after the window, with the same callback data.
    let sends = p.graph.sends();
    assert_eq!(sends.len(), 1, "{}", p.diagnostics().await);
    let id = reply_id(&p).await;
    assert_eq!(sends[0].callback(), Some(id.as_str()), "the resend carries the same callback data");
    assert_eq!(p.count("select count(*) from apalis.jobs where job_type = 'reconcile_send'").await, 1);
    p.until_count("select count(*) from messages where direction = 'out' and status = 'read'", 1).await;
    assert!(thread(&p)
        .await
        .contains("Sent again: WhatsApp did not confirm the first send within 2 seconds."));
    p.owner.post("/lang", &[("lang", "ar"), ("next", "/inbox")]).await;
    let arabic = "أُرسلت مرة أخرى: لم يؤكد واتساب الإرسال الأول خلال 2 ثانية.";
    assert!(thread(&p).await.contains(arabic), "the note in Arabic");
}

#[sqlx::test(migrations = false)]
async fn a_second_interrupted_send_is_not_repeated_again(pool: PgPool) {
    // Arrange: Meta takes both sends but neither answer arrives, nor any status.
    let p = Pipeline::start(pool, "owner@twice.sa", "PN1120").await;
    p.graph.set_auto_statuses(false);
    p.graph.fail_next(GraphFault::AcceptThenHang { ms: 4_000 }, 2);

    // Act
    p.deliver(&text("PN1120", "wamid.W1", "966500001120", "Hello?", 1)).await;
    p.until_finished(&["send_message", "reconcile_send"]).await;

    // Assert: the first send and one resend; then it stays uncertain and the inbox says so.
    let sends = p.graph.sends();
    assert_eq!(sends.len(), 2, "one send and at most one resend: {}", p.diagnostics().await);
    assert_eq!(
        p.count("select count(*) from messages where direction = 'out' and status = 'uncertain'").await,
        1
    );
    let page = thread(&p).await;
    assert!(page.contains("WhatsApp confirmed neither the send nor the resend"), "{page}");
    assert!(page.contains("A reply may or may not have reached the customer"));
}

#[sqlx::test(migrations = false)]
async fn a_send_interrupted_by_a_crash_is_settled_by_meta_status_not_recorded_failed(pool: PgPool) {
    // Arrange: Meta takes the send; the worker dies before it can store Meta's answer.
    let vars = [("WHATSAPP_TIMEOUT_SECS", "60"), ("SEND_RECONCILE_SECS", "5")];
    let mut p =
        Pipeline::start_opts(pool, "owner@crash.sa", "PN1130", Options { vars: &vars, ..Options::default() })
            .await;
    p.graph.set_auto_statuses(false);
    p.graph.fail_next(GraphFault::AcceptThenHang { ms: 60_000 }, 1);
    p.deliver(&text("PN1130", "wamid.C1", "966500001130", "Is the cake ready?", 1)).await;
    let sent = eventually(std::time::Duration::from_secs(20), "Meta to accept the send", || async {
        p.graph.sends().first().cloned()
    })
    .await;

    // Act: the worker is killed; another one picks the orphaned job up.
    p.kill_sending().await;
    p.start_sending();
    p.until_finished(&["send_message"]).await;

    // Assert: not `failed` (the customer may have it) but uncertain, until Meta's status.
    let status: String = sqlx::query_scalar("select status from messages where direction = 'out'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    assert_eq!(status, "uncertain", "{}", p.diagnostics().await);
    let id = reply_id(&p).await;
    let late = envelope(
        "PN1130",
        json!({ "statuses": [{ "id": sent.wamid, "status": "delivered", "timestamp": "1",
            "recipient_id": "966500001130", "biz_opaque_callback_data": id }] }),
    );
    assert_eq!(p.deliver(&late).await, StatusCode::OK);
    p.until_finished(&["send_message", "reconcile_send"]).await;
    assert_eq!(
        p.count(&format!(
            "select count(*) from messages where wamid = '{}' and status = 'delivered'",
            sent.wamid
        ))
        .await,
        1,
        "settled with Meta's id by the callback data"
    );
    assert_eq!(p.graph.sends().len(), 1, "a settled message is not sent again");
    assert!(thread(&p).await.contains("Confirmed by WhatsApp after an interrupted send."));
}

#[sqlx::test(migrations = false)]
async fn a_first_send_confirmed_only_after_its_resend_is_shown_as_possibly_received_twice(pool: PgPool) {
    // Arrange: Meta takes the first send, its answer is lost and its status comes late.
    let p = Pipeline::start(pool, "owner@late.sa", "PN1140").await;
    p.graph.set_auto_statuses(false);
    p.graph.fail_next(GraphFault::AcceptThenHang { ms: 4_000 }, 1);
    p.deliver(&text("PN1140", "wamid.L1", "966500001140", "Still open?", 1)).await;
    p.until_finished(&["send_message", "reconcile_send"]).await;
    let sends = p.graph.sends();
    assert_eq!(sends.len(), 2, "sent, then sent once more: {}", p.diagnostics().await);

    // Act: the first send's status finally arrives, carrying our callback data.
    let id = reply_id(&p).await;
    let late = envelope(
        "PN1140",
        json!({ "statuses": [{ "id": sends[0].wamid, "status": "delivered", "timestamp": "1",
            "recipient_id": "966500001140", "biz_opaque_callback_data": id }] }),
    );
    assert_eq!(p.deliver(&late).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;

    // Assert: the message keeps the resend's id; the inbox says the customer may have it twice.
    assert_eq!(
        p.count(&format!(
            "select count(*) from messages where wamid = '{}' and status = 'sent'",
            sends[1].wamid
        ))
        .await,
        1
    );
    assert!(thread(&p).await.contains("WhatsApp confirmed both the send and the resend"));
}
