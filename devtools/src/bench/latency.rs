//! Latency at a fixed offered load: one message a customer, 200 a second for 30 s:
//! webhook received → reply accepted by the Graph fake (p50, p99), and enqueue → job
//! start of every job (p50, p99, from the job rows). Baseline: a bare apalis-postgres
//! worker fed one no-op job at the same rate, push → start (one queue hop; a message
//! takes three). Also the paced load the fairness scenario reuses.

use std::time::Duration;

use super::{
    report::{quantile, Figure},
    stage::Stage,
    turns::{self, Turn},
    Options,
};

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let secs = if opts.quick { 1 } else { 30 };
    let stage = Stage::start(opts, "latency", 200, 1).await?;
    let customers: Vec<(usize, String)> = (0..200 * secs).map(|i| (i % 200, format!("9667{i:08}"))).collect();
    let mut ms = paced(&stage, &customers, 200.0, Duration::from_secs(secs as u64 + 120)).await?;
    stage.settle(Duration::from_secs(120)).await?;
    let waits: Vec<f64> = sqlx::query_scalar(
        "select extract(epoch from lock_at - run_at)::float8 * 1000 from apalis.jobs where lock_at is not null",
    )
    .fetch_all(&stage.db)
    .await?;
    let mut waits: Vec<f64> = waits.into_iter().map(|w| w.max(0.0)).collect();
    stage.stop().await?;
    let mut bare = super::baseline::apalis_paced(opts, 200.0, secs as u64).await?;
    let (bare_p50, bare_p99) = (quantile(&mut bare, 0.5), quantile(&mut bare, 0.99));
    Ok(vec![
        Figure::new("latency_200mps_p50_ms", quantile(&mut ms, 0.5), "ms", "≤ 25 ms").against(bare_p50),
        Figure::new("latency_200mps_p99_ms", quantile(&mut ms, 0.99), "ms", "≤ 100 ms").against(bare_p99),
        Figure::new("enqueue_to_start_p50_ms", quantile(&mut waits, 0.5), "ms", "≤ 5 ms").against(bare_p50),
        Figure::new("enqueue_to_start_p99_ms", quantile(&mut waits, 0.99), "ms", "-").against(bare_p99),
    ])
}

/// Posts one message for each `(business, customer)` at `rate` a second, then waits (up to
/// `limit`) until each customer's reply was sent; the latencies in ms, webhook posted →
/// send accepted (`turns::write` with one-message turns).
pub async fn paced(
    stage: &Stage,
    customers: &[(usize, String)],
    rate: f64,
    limit: Duration,
) -> anyhow::Result<Vec<f64>> {
    let turns: Vec<Turn> =
        customers.iter().map(|(b, c)| Turn { business: *b, customer: c.clone(), messages: 1 }).collect();
    Ok(turns::write(stage, &turns, rate, Duration::ZERO, limit).await?.into_iter().map(|a| a.ms).collect())
}
