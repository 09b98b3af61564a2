//! Fairness: 50 businesses' customers write 2 messages a second each while one business
//! floods 10,000 messages; their webhook → reply p99 against the same load without the
//! flood, same run (each case on a fresh database, one web and one worker process).

use std::{sync::Arc, time::Duration};

use tokio::{sync::Semaphore, task::JoinSet};

use super::{latency::paced, report::quantile, report::Figure, stage::Stage, Options};
use crate::harness::load;

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let quiet = others_p99(opts, false).await?;
    let flooded = others_p99(opts, true).await?;
    Ok(vec![Figure::new("fairness_others_p99_ms_under_flood", flooded, "ms", "≤ 2 × without").against(quiet)])
}

async fn others_p99(opts: &Options, flood: bool) -> anyhow::Result<f64> {
    let (secs, flood_n) = if opts.quick { (2, 150) } else { (30, 10_000) };
    let stage = Stage::start(opts, if flood { "fairness_flood" } else { "fairness_quiet" }, 51, 1).await?;
    let mut flooding = JoinSet::new();
    if flood {
        let slots = Arc::new(Semaphore::new(16));
        for k in 0..flood_n {
            let d = load::text_delivery(
                &stage.businesses[0],
                &format!("wamid.FLOOD.{k}"),
                &format!("9669{k:08}"),
                "Flood",
            );
            let (http, slots) = (stage.http.clone(), slots.clone());
            flooding.spawn(async move {
                let _permit = slots.acquire_owned().await;
                load::post_once(&http, &d).await
            });
        }
    }
    let customers: Vec<(usize, String)> =
        (0..100 * secs).map(|i| (1 + i % 50, format!("9666{i:08}"))).collect();
    let mut ms = paced(&stage, &customers, 100.0, Duration::from_secs(secs as u64 + 600)).await?;
    while flooding.join_next().await.is_some() {}
    stage.stop().await?;
    Ok(quantile(&mut ms, 0.99))
}
