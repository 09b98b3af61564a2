//! A burst at a provider's real speed (#28's first target): 2,000 customers of 200
//! businesses write within 10 s (20 of 20 with `quick`) while the model answers in a
//! log-normal time (p50 1.5 s, p99 8 s) and the Graph API in 300 ms, with the production
//! reply debounce (3 s) and the Procfile's pools (web 3 connections, worker 15). Figures:
//! the time from each customer's message to their answer, the last of them and p50/p99
//! (webhook posted → reply accepted by the Graph API), against one customer alone on the
//! same stage just before (what no queue adds: debounce, model and Graph time); and the
//! most model calls in flight at once. Not yet: a tenth of the customers writing three
//! messages in a row. `MUJIBAK_BENCH_PROVIDER_CONCURRENCY` sets the worker's
//! `WORKER_PROVIDER_CONCURRENCY` (0: those queues share the pool, as before #28).

use std::time::Duration;

use super::{
    latency::paced,
    report::{quantile, Figure},
    stage::Stage,
    Options,
};

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let (n, businesses) = if opts.quick { (20, 20) } else { (2_000, 200) };
    let provider = std::env::var("MUJIBAK_BENCH_PROVIDER_CONCURRENCY").unwrap_or_else(|_| "64".into());
    let web =
        [("REPLY_DEBOUNCE_SECS", "3"), ("DATABASE_MAX_CONNECTIONS", "3"), ("OPENAI_TIMEOUT_SECS", "30")];
    let worker = [("DATABASE_MAX_CONNECTIONS", "15"), ("WORKER_PROVIDER_CONCURRENCY", provider.as_str())];
    let stage = Stage::start_formation(opts, "burst", businesses, 1, &web, &worker).await?;
    stage.model.set_latency_spread(Duration::from_millis(1_500), Duration::from_secs(8));
    stage.graph.set_latency(Duration::from_millis(300));
    println!(
        "bench: burst of {n} customers in 10 s; model p50 1.5 s p99 8 s, Graph 300 ms, debounce 3 s, \
         provider concurrency {provider}"
    );

    let alone = paced(&stage, &[(0, "966700000000".into())], 1.0, Duration::from_secs(60)).await?[0];
    let customers: Vec<(usize, String)> = (1..=n).map(|i| (i % businesses, format!("9667{i:08}"))).collect();
    let mut ms = paced(&stage, &customers, n as f64 / 10.0, Duration::from_secs(900)).await?;
    let peak = stage.model.peak_in_flight() as f64;
    stage.settle(Duration::from_secs(60)).await?;
    stage.stop().await?;

    let last = ms.iter().copied().fold(0.0, f64::max) / 1000.0;
    let alone = alone / 1000.0;
    Ok(vec![
        Figure::new(format!("burst_{n}_slowest_answer_s"), last, "s", "≤ 30 s").against(alone),
        Figure::new(format!("burst_{n}_p50_s"), quantile(&mut ms, 0.5) / 1000.0, "s", "-").against(alone),
        Figure::new(format!("burst_{n}_p99_s"), quantile(&mut ms, 0.99) / 1000.0, "s", "-").against(alone),
        Figure::new(format!("burst_{n}_peak_model_calls"), peak, "calls", "-"),
    ])
}
