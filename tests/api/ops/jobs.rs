//! Staff actions on real jobs in real queues (the pipeline's worker runs them): retry now,
//! cancel and discard, each audited with the staff token's id; and a cancel racing the
//! worker never lets a job run after the cancel answered success.

use std::time::Duration;

use mujibak_core::{db::emails::NewEmail, domain::EmailId};
use mujibak_devtools::sandbox::mail::MailSink;
use mujibak_jobs::send_email::SendEmail;
use mujibak_queue::db::push as job_push;
use reqwest::StatusCode;
use sqlx::PgPool;

use super::{audited, token, Api};
use crate::{
    helpers::eventually,
    pipeline::{Options, Pipeline},
};

/// Queues an email (its outbox row and its `send_email` job), to run after `delay`.
async fn queue_email(pool: &PgPool, to: &str, delay: Option<Duration>) -> (String, EmailId) {
    let email = NewEmail {
        email_id: EmailId::new(),
        tenant_id: None,
        kind: "ops_test".into(),
        to_address: to.into(),
        subject: "Ops test".into(),
        body_text: "Hello".into(),
        body_html: "<p>Hello</p>".into(),
    };
    let mut tx = pool.begin().await.unwrap();
    mujibak_core::db::emails::insert(&mut tx, &email).await.unwrap();
    let job = SendEmail { email_id: email.email_id };
    let id = match delay {
        Some(d) => mujibak_jobs::enqueue_in(&mut tx, &job, d).await.unwrap(),
        None => mujibak_jobs::enqueue(&mut tx, &job).await.unwrap(),
    };
    tx.commit().await.unwrap();
    (id, email.email_id)
}

async fn status(pool: &PgPool, job: &str) -> Option<String> {
    sqlx::query_scalar("select status from apalis.jobs where id = $1")
        .bind(job)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn email_status(pool: &PgPool, email: EmailId) -> String {
    sqlx::query_scalar("select status from emails where email_id = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Emails the sink received for `to`.
fn delivered(mail: &MailSink, to: &str) -> usize {
    mail.messages().iter().filter(|m| m.to.iter().any(|t| t.contains(to))).count()
}

async fn staff_id(pool: &PgPool, name: &str) -> String {
    sqlx::query_scalar("select token_id::text from staff_tokens where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn retry_cancel_and_discard_act_on_real_jobs_and_each_writes_an_audit_row(pool: PgPool) {
    let p = Pipeline::start_opts(pool.clone(), "owner@ops.example", "PN-OPS", Options::default()).await;
    let api = Api::new(p.addr, Some(&token(&pool, "ops-oncall", "ops:read,ops:write").await));
    let staff = staff_id(&pool, "ops-oncall").await;

    // Cancel a scheduled job: it becomes dead and never runs.
    let (cancelled, email) = queue_email(&pool, "cancel@ops.example", Some(Duration::from_secs(3600))).await;
    let answer = api.post(&format!("/ops/jobs/{cancelled}/cancel"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(status(&pool, &cancelled).await.as_deref(), Some("Killed"));
    let detail = api.get(&format!("/ops/jobs/{cancelled}")).await.json();
    assert_eq!(detail["dead"], true);
    assert_eq!(detail["errors"][0]["kind"], "cancelled", "{detail}");
    // Cancelling again, or a job that is not waiting, is a conflict that changes nothing.
    assert_eq!(api.post(&format!("/ops/jobs/{cancelled}/cancel"), &[]).await.status, StatusCode::CONFLICT);

    // Retry the cancelled (dead) job now: it runs once more and sends its email.
    assert_eq!(api.post(&format!("/ops/jobs/{cancelled}/retry"), &[]).await.status, StatusCode::OK);
    eventually(Duration::from_secs(20), "the retried job to send", || async {
        (email_status(&pool, email).await == "sent").then_some(())
    })
    .await;
    assert_eq!(delivered(&p.mail, "cancel@ops.example"), 1);
    // The email is marked sent inside the job; the job's own outcome is written just after.
    eventually(Duration::from_secs(10), "the retried job to be done", || async {
        (status(&pool, &cancelled).await.as_deref() == Some("Done")).then_some(())
    })
    .await;

    // Retry a scheduled job now: it runs at once instead of in an hour.
    let (scheduled, email) = queue_email(&pool, "early@ops.example", Some(Duration::from_secs(3600))).await;
    assert_eq!(api.post(&format!("/ops/jobs/{scheduled}/retry"), &[]).await.status, StatusCode::OK);
    eventually(Duration::from_secs(20), "the scheduled job to run now", || async {
        (email_status(&pool, email).await == "sent").then_some(())
    })
    .await;

    // Discard a dead job (an undecodable payload the worker gave up on): its row is gone.
    let dead = "ops-undecodable-1".to_owned();
    let mut tx = pool.begin().await.unwrap();
    let garbage = job_push::NewJob {
        id: dead.clone(),
        payload: b"not json".to_vec(),
        max_attempts: 3,
        tenant: None,
        run_at: None,
    };
    job_push::push(&mut tx, "send_email", &[garbage]).await.unwrap();
    tx.commit().await.unwrap();
    eventually(Duration::from_secs(20), "the worker to give up on the garbage job", || async {
        (status(&pool, &dead).await.as_deref() == Some("Killed")).then_some(())
    })
    .await;
    assert_eq!(api.post(&format!("/ops/jobs/{scheduled}/discard"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(api.post(&format!("/ops/jobs/{dead}/discard"), &[]).await.status, StatusCode::OK);
    assert_eq!(status(&pool, &dead).await, None);
    assert_eq!(api.post(&format!("/ops/jobs/{dead}/discard"), &[]).await.status, StatusCode::NOT_FOUND);

    // One audit row per action that happened, none for the refused ones, each naming the staff token.
    for (action, jobs) in [
        ("job_cancelled", vec![&cancelled]),
        ("job_retried", vec![&cancelled, &scheduled]),
        ("job_discarded", vec![&dead]),
    ] {
        let rows = audited(&pool, action).await;
        let named: Vec<String> = rows.iter().map(|r| r.2["job"].as_str().unwrap().to_owned()).collect();
        assert_eq!(named, jobs.iter().map(|j| j.to_string()).collect::<Vec<_>>(), "{action}");
        for (kind, actor, detail) in rows {
            assert_eq!((kind.as_str(), actor.as_deref()), ("staff", Some(staff.as_str())), "{action}");
            assert_eq!(detail["queue"], "send_email");
        }
    }
    // The API listed the dead job before it was discarded and lists the done ones now.
    let done = api.get("/ops/jobs?queue=send_email&state=done").await.json();
    let ids: Vec<&str> = done["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&cancelled.as_str()) && ids.contains(&scheduled.as_str()), "{ids:?}");
}

#[sqlx::test(migrations = false)]
async fn a_cancel_racing_the_worker_never_lets_the_job_run_after_it_answered_success(pool: PgPool) {
    // Arrange: the pipeline's worker consumes send_email; each job sends one email.
    let p = Pipeline::start_opts(pool.clone(), "owner@ops.example", "PN-OPS", Options::default()).await;
    let api = Api::new(p.addr, Some(&token(&pool, "racer", "ops:write").await));

    // Act: queue a job due now and cancel it 0 to 42 ms later, 40 times (the worker takes
    // a due email as soon as it is announced, a few milliseconds after its commit: up to 64
    // run together), so some cancels come first and some find the job taken.
    let mut outcomes = Vec::new();
    for i in 0..40u64 {
        let to = format!("race{i}@ops.example");
        let (job, email) = queue_email(&pool, &to, None).await;
        tokio::time::sleep(Duration::from_millis((i % 8) * 6)).await;
        let answer = api.post(&format!("/ops/jobs/{job}/cancel"), &[]).await;
        assert!(
            [StatusCode::OK, StatusCode::CONFLICT].contains(&answer.status),
            "{}: {}",
            answer.status,
            answer.body
        );
        outcomes.push((job, email, to, answer.status == StatusCode::OK));
    }

    // Assert: every job the cancel lost to ran; none the cancel won ever ran, even after
    // the worker has had time to pick up anything left.
    for (_, email, _, won) in &outcomes {
        if !won {
            eventually(Duration::from_secs(30), "a job the cancel lost to to send", || async {
                (email_status(&pool, *email).await == "sent").then_some(())
            })
            .await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let won = outcomes.iter().filter(|o| o.3).count();
    for (job, email, to, won) in &outcomes {
        let delivered = delivered(&p.mail, to);
        if *won {
            assert_eq!(status(&pool, job).await.as_deref(), Some("Killed"), "{to}");
            assert_eq!(email_status(&pool, *email).await, "queued", "{to}: ran after its cancel succeeded");
            assert_eq!(delivered, 0, "{to}: mailed after its cancel succeeded");
        } else {
            assert_eq!(delivered, 1, "{to}");
        }
    }
    assert!(won > 0, "no cancel won the race: the test proved nothing");
    assert!(won < outcomes.len(), "every cancel won: no job was cancelled while the worker had it");
    assert_eq!(super::audited(&pool, "job_cancelled").await.len(), won);
}

#[sqlx::test(migrations = false)]
async fn a_worker_rolls_up_finished_jobs_for_the_queues_page_within_seconds_and_stops_on_shutdown(
    pool: PgPool,
) {
    // Arrange: a message flows through inbound → reply → send.
    let p = Pipeline::start_opts(pool.clone(), "owner@ops.example", "PN-OPS", Options::default()).await;
    let text = crate::pipeline::text("PN-OPS", "wamid.R1", "966500000007", "Hello", 1);
    assert_eq!(p.deliver(&text).await, StatusCode::OK);
    p.sends(1).await;
    let api = Api::new(p.addr, Some(&token(&pool, "watcher", "ops:read").await));
    assert_eq!(api.get("/ops/queues").await.json()["queues"][0]["hour"]["done"], 0, "nothing rolled up yet");

    // Act: a worker process's rollup loop.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let rollup =
        tokio::spawn(mujibak_jobs::stats_rollup::run(pool.clone(), Duration::from_secs(600), async move {
            let _ = stopped.await;
        }));

    // Assert: the page shows each queue's finished job with its timings.
    let queues = eventually(Duration::from_secs(20), "the rollup to count the finished jobs", || async {
        let page = api.get("/ops/queues").await.json();
        let queues = page["queues"].as_array().unwrap().clone();
        let done =
            |q: &str| queues.iter().find(|v| v["queue"] == q).map(|v| v["hour"]["done"].as_i64().unwrap());
        ["handle_inbound", "generate_reply", "send_message"]
            .iter()
            .all(|q| done(q).unwrap_or(0) >= 1)
            .then_some(queues)
    })
    .await;
    let send = queues.iter().find(|v| v["queue"] == "send_message").unwrap();
    assert!(send["hour"]["run_p50_ms"].as_f64().is_some(), "{send}");
    assert_eq!(
        send["per_minute"].as_array().unwrap().iter().map(|n| n.as_i64().unwrap()).sum::<i64>(),
        send["hour"]["done"].as_i64().unwrap()
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), rollup)
        .await
        .expect("the rollup stops on shutdown")
        .unwrap();
}
