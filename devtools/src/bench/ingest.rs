//! Ingest: signed deliveries of real shapes (unique ids, 200 businesses, a status
//! delivery for every three message deliveries, as Meta sends them) at concurrency 32
//! against the web process alone; accepted/s, p50, p99. Baseline: `pgbench` inserting one
//! row of the same size per transaction at concurrency 32, for as long, on the same server.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use super::{
    report::{quantile, Figure},
    stage::Stage,
    Options,
};
use crate::harness::load;

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let secs = if opts.quick { 3 } else { 20 };
    let stage = Stage::start(opts, "ingest", 200, 0).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let started = std::time::Instant::now();
    let mut posters = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (http, businesses) = (stage.http.clone(), stage.businesses.clone());
        let (next, latencies, refused) = (next.clone(), latencies.clone(), refused.clone());
        posters.spawn(async move {
            let mut mine = Vec::new();
            while tokio::time::Instant::now() < deadline {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let b = &businesses[k % businesses.len()];
                let customer = format!("9665{:08}", k / 4);
                let delivery = if k % 4 == 3 {
                    let earlier = |s| (format!("wamid.BENCHOUT.{}.{s}", k / 4), s);
                    load::status_delivery(
                        b,
                        &[earlier("sent"), earlier("delivered"), earlier("read")],
                        &customer,
                    )
                } else {
                    load::text_delivery(b, &format!("wamid.BENCH.{k}"), &customer, "Hello, when do you open?")
                };
                let (ok, took) = load::post_once(&http, &delivery).await;
                if ok {
                    mine.push(took.as_secs_f64() * 1000.0);
                } else {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
        });
    }
    while posters.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let mut ms = std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
    let accepted = ms.len() as f64 / elapsed;
    let (p50, p99) = (quantile(&mut ms, 0.5), quantile(&mut ms, 0.99));
    stage.stop().await?;
    let baseline = super::baseline::pgbench_insert(opts, secs).await?;
    if refused.load(Ordering::Relaxed) > 0 {
        println!("ingest: {} deliveries were refused", refused.load(Ordering::Relaxed));
    }
    Ok(vec![
        Figure::new("ingest_accepted_per_s", accepted, "req/s", "≥ 0.8 × pgbench").against(baseline.tps),
        Figure::new("ingest_p50_ms", p50, "ms", "-").against(baseline.p50_ms),
        Figure::new("ingest_p99_ms", p99, "ms", "≤ 20 ms").against(baseline.p99_ms),
    ])
}
