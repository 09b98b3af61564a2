//! Concurrency that follows the work, not the connection count. With Meta answering each
//! send in 3 s, forty replies queued at once are all sent, at production timings (5 s
//! heartbeats, a 5 s pool acquire timeout): at the default pool of 20 with the whole
//! registry running, and at a pool of 10. No attempt fails, no heartbeat is missed, no
//! worker restarts — a send holds no pooled connection while it waits for Meta. And since
//! it holds none, the sends (and the model calls of the replies) wait on the provider
//! together, not one per pooled connection: at the Procfile's worker pool of 15, where
//! every one of the 13 queues' share of the pool is one job, forty are in flight at once.

use std::time::Duration;

use mujibak_core::{config::DatabaseConfig, db};
use mujibak_jobs::{
    send_message::SendMessage,
    worker::{WorkerOptions, Workers},
    JobContext,
};
use secrecy::SecretString;
use sqlx::PgPool;

use crate::{
    helpers::{database_url, eventually},
    pipeline::{text, Options, Pipeline},
};

/// Forty customers' messages answered by the bot, the replies queued (no sender yet).
async fn forty_queued_replies(pool: PgPool) -> Pipeline {
    let opts = Options { hold_sends: true, vars: &[("WHATSAPP_TIMEOUT_SECS", "15")], ..Options::default() };
    let p = Pipeline::start_opts(pool, "owner@pool.sa", "PN-POOL", opts).await;
    for n in 0..40 {
        let from = format!("96650000{n:04}");
        p.deliver(&text("PN-POOL", &format!("wamid.POOL{n}"), &from, "When do you open?", 0)).await;
    }
    p.until_count("select count(*) from messages where author = 'bot' and status = 'queued'", 40).await;
    p.graph.set_latency(Duration::from_secs(3));
    p
}

/// Sends them with production worker options over a production pool of `size`.
async fn send_all(p: &Pipeline, size: u32, whole_registry: bool) {
    let config = DatabaseConfig {
        url: SecretString::from(database_url(&p.pool)),
        max_connections: size,
        timeouts: mujibak_core::config::DatabaseTimeouts::NONE,
    };
    let pool = db::connect(&config).await.unwrap();
    let ctx = JobContext { db: pool.clone(), ..p.ctx().clone() };
    let opts = WorkerOptions::default();
    let workers = if whole_registry {
        mujibak_jobs::worker::registry(&ctx, &opts).unwrap()
    } else {
        Workers::default().register::<mujibak_jobs::Queued<SendMessage>>(&ctx, &opts).unwrap()
    };
    let running = tokio::spawn(workers.run());

    eventually(Duration::from_secs(150), "all forty replies to be sent", || async {
        let sent = p.count("select count(*) from messages where author = 'bot' and status in ('sent', 'delivered', 'read')").await;
        (sent == 40).then_some(())
    })
    .await;

    assert_eq!(p.graph.sends().len(), 40, "each reply sent once");
    let errors = p.count("select count(*) from job_errors where queue = 'send_message'").await;
    assert_eq!(errors, 0, "no send attempt failed; {}", p.diagnostics().await);
    let workers = p.count("select count(*) from apalis.workers where worker_type = 'send_message'").await;
    assert_eq!(workers, 1, "the send worker never restarted (a restart registers a new name)");
    running.abort();
    pool.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_model_that_takes_four_at_once_slows_the_queue_instead_of_failing_the_customers(pool: PgPool) {
    // Arrange: the model answers in 1 s and refuses (429, as OpenAI does) any request that
    // arrives while it is answering four; the worker may run 1,024 replies at once.
    let opts = Options { vars: &[("OPENAI_TIMEOUT_SECS", "15")], ..Options::default() };
    let p = Pipeline::start_opts(pool, "owner@slow-down.sa", "PN-SLOW", opts).await;
    p.model.set_latency(Duration::from_secs(1));
    p.model.set_capacity(Some(4));

    // Act: sixty customers write at once.
    for n in 0..60 {
        let from = format!("96652000{n:04}");
        p.deliver(&text("PN-SLOW", &format!("wamid.SLOW{n}"), &from, "When do you open?", 0)).await;
    }

    // Assert: every customer got the model's answer, once; none the fallback a reply falls
    // back to when its attempts run out (the old worker kept sending sixty requests at a
    // time: each refused job retried into the same wall until its last attempt fell back).
    let bot = "select count(*) from messages where author = 'bot'";
    eventually(Duration::from_secs(120), "sixty replies", || async {
        (p.count(bot).await == 60).then_some(())
    })
    .await;
    p.sends(60).await;
    let answered =
        p.count("select count(*) from messages where author = 'bot' and body like '[simulated]%'").await;
    assert_eq!(answered, 60, "a customer got the fallback instead of the model's answer");
    assert_eq!(p.count("select count(*) from conversations where notice = 'model_failed'").await, 0);
    let refused = p.model.over_capacity();
    assert!(refused <= 120, "{refused} requests refused for sixty customers: the queue did not slow down");
    assert!(p.model.peak_in_flight() <= 64);
}

#[sqlx::test(migrations = false)]
async fn forty_replies_with_three_second_graph_latency_are_all_sent_at_the_default_pool(pool: PgPool) {
    let p = forty_queued_replies(pool).await;
    send_all(&p, 20, true).await;
}

#[sqlx::test(migrations = false)]
async fn forty_sends_wait_on_meta_together_at_the_procfile_worker_pool(pool: PgPool) {
    let p = forty_queued_replies(pool).await;
    send_all(&p, 15, true).await;
    let together = p.graph.peak_in_flight();
    assert!(together >= 32, "only {together} sends waited on Meta at once");
}

#[sqlx::test(migrations = false)]
async fn forty_customers_model_calls_wait_together_whatever_the_pool(pool: PgPool) {
    // Arrange: the model takes 2 s per answer.
    let opts = Options { vars: &[("OPENAI_TIMEOUT_SECS", "15")], ..Options::default() };
    let p = Pipeline::start_opts(pool, "owner@together.sa", "PN-TOGETHER", opts).await;
    p.model.set_latency(Duration::from_secs(2));

    // Act: forty customers write at once (their webhooks posted together, so how fast one
    // delivery after another is stored does not spread the model calls out).
    let deliveries: Vec<_> = (0..40)
        .map(|n| {
            text("PN-TOGETHER", &format!("wamid.TOG{n}"), &format!("96651000{n:04}"), "When do you open?", 0)
        })
        .collect();
    futures::future::join_all(deliveries.iter().map(|d| p.deliver(d))).await;

    // Assert: every one answered once, their model calls in flight together.
    p.sends(40).await;
    let together = p.model.peak_in_flight();
    assert!(together >= 32, "only {together} model calls were in flight at once");
    assert_eq!(p.count("select count(*) from messages where author = 'bot'").await, 40, "one reply each");
}

#[sqlx::test(migrations = false)]
async fn forty_replies_with_three_second_graph_latency_are_all_sent_at_a_pool_of_ten(pool: PgPool) {
    let p = forty_queued_replies(pool).await;
    send_all(&p, 10, false).await;
}
