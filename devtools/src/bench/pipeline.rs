//! Pipeline: customer messages, each from a new customer, through inbound → reply → send
//! with the three status callbacks Meta sends for every reply (the Graph fake posts them),
//! on one web and one worker process at production settings (debounce 0, the fakes
//! answering at once): messages/s until the last message is answered (distinct customers
//! answered, not sends), jobs/s until everything settled, and the processes' peak memory.
//! Baselines: a bare apalis-postgres worker draining as many no-op jobs, same run (for
//! messages/s too: one message costs six jobs); each process's idle memory at start.
//! It also prints how many rows `apalis.jobs` held at most and at the end: a finished job
//! that never failed is deleted a few minutes after the queues page's rollup counted it
//! (`JOB_DONE_RETENTION_MINUTES`), so the jobs done are the rollup's count.

use std::{collections::HashSet, sync::Arc, time::Duration};

use tokio::{sync::Semaphore, task::JoinSet};

use mujibak_core::ops::stats;

use super::{report::Figure, stage::Stage, statements::Counter, Options};
use crate::harness::load;

/// What one drive of the pipeline measured.
pub(super) struct Drive {
    pub messages: usize,
    /// Seconds from the first post to the last reply sent, and to everything settled.
    pub to_last_send: f64,
    pub settled: f64,
    /// Jobs done.
    pub jobs: i64,
    /// Peak and idle resident memory (KiB): web, the largest worker.
    pub peak_kib: (u64, u64),
    pub idle_kib: (u64, u64),
    /// Statements per message, where the server counts them.
    pub statements: Option<f64>,
    /// Rows of `apalis.jobs`: at most while the run went on (sampled each second), and at its end.
    pub job_rows: (i64, i64),
}

/// Sends `n` customer messages through a fresh stage `name` (its processes also getting
/// `env`) and waits until every reply is sent and everything settled.
pub(super) async fn drive(
    opts: &Options,
    name: &str,
    n: usize,
    env: &[(&str, &str)],
) -> anyhow::Result<Drive> {
    let stage = Stage::start_with(opts, name, 200, 1, env).await?;
    let deliveries: Vec<load::Delivery> = (0..n)
        .map(|k| {
            let b = &stage.businesses[k % stage.businesses.len()];
            load::text_delivery(
                b,
                &format!("wamid.PIPE.{k}"),
                &format!("9668{k:08}"),
                "Hello, when do you open?",
            )
        })
        .collect();
    let counter = Counter::start(&stage.db).await?;
    let rows = JobRows::sample(&stage.db);
    let started = std::time::Instant::now();
    let stats = Arc::new(load::PostStats::default());
    let slots = Arc::new(Semaphore::new(32));
    let mut posting = JoinSet::new();
    for d in deliveries {
        let permit = slots.clone().acquire_owned().await?;
        let (http, stats) = (stage.http.clone(), stats.clone());
        posting.spawn(async move {
            load::post(&http, &d, false, Duration::from_secs(300), &stats).await;
            drop(permit);
        });
    }
    while posting.join_next().await.is_some() {}
    let posted = started.elapsed().as_secs_f64();
    let limit = Duration::from_secs(if opts.quick { 180 } else { 1_800 });
    let deadline = tokio::time::Instant::now() + limit;
    // Distinct customers answered (each message is from a customer of its own), not sends.
    let answered = || {
        let sends = stage.graph.sends();
        sends.iter().filter_map(|s| s.body["to"].as_str().map(str::to_owned)).collect::<HashSet<_>>().len()
    };
    while answered() < n {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} messages answered",
            answered()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let to_last_send = started.elapsed().as_secs_f64();
    stage.settle(limit).await?;
    let settled = started.elapsed().as_secs_f64();
    let jobs = jobs_done(&stage.db).await?;
    let job_rows = rows.stop().await?;
    let statements = match &counter {
        Some(c) => Some(c.per_message(n).await?),
        None => None,
    };
    let (web_kib, workers_kib) = stage.fleet.peak_rss_kib();
    let idle_kib = stage.idle_kib;
    stage.stop().await?;
    println!("{name}: {n} messages posted in {posted:.1} s, last reply sent at {to_last_send:.1} s, settled at {settled:.1} s ({jobs} jobs)");
    println!(
        "{name}: apalis.jobs held at most {} rows, {} at the end (finished jobs kept {} min once counted)",
        job_rows.0,
        job_rows.1,
        env.iter().find(|(k, _)| *k == "JOB_DONE_RETENTION_MINUTES").map_or("5", |(_, v)| v)
    );
    Ok(Drive {
        messages: n,
        to_last_send,
        settled,
        jobs,
        peak_kib: (web_kib, workers_kib.iter().copied().max().unwrap_or(0)),
        idle_kib,
        statements,
        job_rows,
    })
}

/// Jobs done in the stage's database: the per-minute rollup's count (it holds the jobs
/// whose rows are already deleted), brought up to date first.
async fn jobs_done(db: &sqlx::PgPool) -> anyhow::Result<i64> {
    let now = chrono::Utc::now();
    // A worker's own rollup may hold the lock for a moment.
    while stats::rollup(db, now - chrono::Duration::hours(25), now + chrono::Duration::minutes(1))
        .await?
        .is_none()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(sqlx::query_scalar("select coalesce(sum(done), 0)::int8 from job_stats_minute").fetch_one(db).await?)
}

/// Samples the row count of `apalis.jobs` each second until stopped: (most, last).
struct JobRows {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(i64, i64), sqlx::Error>>,
}

impl JobRows {
    fn sample(db: &sqlx::PgPool) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let db = db.clone();
        let task = tokio::spawn(async move {
            let mut most = 0;
            loop {
                let n: i64 = sqlx::query_scalar("select count(*) from apalis.jobs").fetch_one(&db).await?;
                most = most.max(n);
                tokio::select! {
                    _ = &mut stopped => return Ok((most, n)),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        Self { stop, task }
    }

    async fn stop(self) -> anyhow::Result<(i64, i64)> {
        let _ = self.stop.send(());
        Ok(self.task.await??)
    }
}

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let n: usize = if opts.quick { 400 } else { 20_000 };
    // The shortest retention, so the run shows the rollup deleting what it counted.
    // `MUJIBAK_BENCH_PIPELINE_POOL`: the processes' pool (default 20), to ask whether the
    // pipeline waits on its connections.
    let pool = std::env::var("MUJIBAK_BENCH_PIPELINE_POOL").unwrap_or_else(|_| "20".into());
    let env = [("JOB_DONE_RETENTION_MINUTES", "1"), ("DATABASE_MAX_CONNECTIONS", pool.as_str())];
    let d = drive(opts, "pipeline", n, &env).await?;
    let drain = super::baseline::apalis_drain(opts, d.jobs as u64).await?;
    let mut figures = vec![
        Figure::new("pipeline_messages_per_s", d.messages as f64 / d.to_last_send, "msg/s", "≥ 1,000")
            .against(drain),
        Figure::new("pipeline_jobs_per_s", d.jobs as f64 / d.settled, "jobs/s", "-").against(drain),
        Figure::new("rss_peak_web_mb", mb(d.peak_kib.0), "MB", "≤ 100").against(mb(d.idle_kib.0)),
        Figure::new("rss_peak_worker_mb", mb(d.peak_kib.1), "MB", "≤ 100").against(mb(d.idle_kib.1)),
    ];
    figures.push(
        Figure::new(
            "jobs_table_rows_peak",
            d.job_rows.0 as f64,
            "rows",
            "small: jobs/s × (retention + ≤ 4 min)",
        )
        .against(d.jobs as f64),
    );
    if let Some(per) = d.statements {
        figures.push(Figure::new("pipeline_statements_per_message", per, "stmts", "≤ 12"));
    }
    Ok(figures)
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
