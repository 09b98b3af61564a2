//! Concurrency that fits the connection pool. With Meta answering each send in 3 s, forty
//! replies queued at once are all sent, at production timings (5 s heartbeats, a 5 s
//! pool acquire timeout): at the default pool of 20 with the whole registry running, and
//! at a pool of 10. No attempt fails, no heartbeat is missed, no worker restarts — a send
//! holds no pooled connection while it waits for Meta.

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
async fn forty_replies_with_three_second_graph_latency_are_all_sent_at_the_default_pool(pool: PgPool) {
    let p = forty_queued_replies(pool).await;
    send_all(&p, 20, true).await;
}

#[sqlx::test(migrations = false)]
async fn forty_replies_with_three_second_graph_latency_are_all_sent_at_a_pool_of_ten(pool: PgPool) {
    let p = forty_queued_replies(pool).await;
    send_all(&p, 10, false).await;
}
