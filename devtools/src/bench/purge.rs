//! Purge: a business with 200,000 messages (in 2,000 conversations) has its conversation
//! content purged (`mujibak_core::purge`, what an account deletion runs) while 50 other
//! businesses' deliveries keep arriving from 8 concurrent posters: how long the purge
//! takes, and the others' ingest p99 during it against the same load just before, same
//! run, same database.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use mujibak_core::{domain::TenantId, purge::purge_content};

use super::{
    report::{quantile, Figure},
    scale::seed,
    stage::Stage,
    Options,
};
use crate::harness::load;

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let (messages, conversations, before_secs) =
        if opts.quick { (10_000, 100, 2) } else { (200_000, 2_000, 10) };
    let stage = Stage::start(opts, "purge", 50, 0).await?;
    let tenant = TenantId::new();
    sqlx::query("insert into tenants (tenant_id, business_name) values ($1, 'Leaving Bakery')")
        .bind(tenant)
        .execute(&stage.db)
        .await?;
    seed(&stage, tenant, conversations, messages, 0, 0).await?;

    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(before_secs)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut before = post_with(stage.http.clone(), stage.businesses.clone(), next.clone(), stop).await;
    timer.await?;

    let stop = Arc::new(AtomicBool::new(false));
    let posting = tokio::spawn(post_with(stage.http.clone(), stage.businesses.clone(), next, stop.clone()));
    let started = std::time::Instant::now();
    let purged = purge_content(&stage.db, tenant).await;
    let took = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut during = posting.await?;
    let purged = purged?;
    let left: i64 = sqlx::query_scalar("select count(*) from messages where tenant_id = $1")
        .bind(tenant)
        .fetch_one(&stage.db)
        .await?;
    anyhow::ensure!(left == 0, "{left} messages were left after the purge");
    stage.stop().await?;
    println!(
        "purge: {} content rows of a business with {messages} messages in {took:.2} s; {} deliveries of others meanwhile",
        purged.content_rows,
        during.len()
    );
    Ok(vec![
        Figure::new("tenant_purge_ms", took * 1000.0, "ms", "≤ 60,000 ms (200k messages)"),
        Figure::new("ingest_p99_during_purge_ms", quantile(&mut during, 0.99), "ms", "≤ 2 × before")
            .against(quantile(&mut before, 0.99)),
    ])
}

/// Eight posters sending one text delivery after another to the businesses in turn until
/// `stop`; each accepted delivery's latency in ms.
async fn post_with(
    http: reqwest::Client,
    businesses: Vec<load::Business>,
    next: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> Vec<f64> {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut posters = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, businesses, next, stop, latencies) =
            (http.clone(), businesses.clone(), next.clone(), stop.clone(), latencies.clone());
        posters.spawn(async move {
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let b = &businesses[k % businesses.len()];
                let d = load::text_delivery(
                    b,
                    &format!("wamid.PURGE.{k}"),
                    &format!("9664{k:08}"),
                    "Are you open?",
                );
                let (ok, took) = load::post_once(&http, &d).await;
                if ok {
                    mine.push(took.as_secs_f64() * 1000.0);
                }
            }
            latencies.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
        });
    }
    while posters.join_next().await.is_some() {}
    let out = std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
    out
}
