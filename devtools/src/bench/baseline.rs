//! The same-run baselines figures are divided by: `pgbench` inserting one webhook-sized
//! row per transaction (ingest), and a bare apalis-postgres worker draining no-op jobs
//! (throughput) or fed one at a fixed rate (latency), all on the bench's own Postgres.

use std::{
    collections::HashMap,
    future::Future,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use apalis::prelude::{Data, TaskBuilder, WorkerBuilder, WorkerBuilderExt};
use apalis_postgres::{Config, PostgresStorage};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{report::quantile, Options};

/// What pgbench measured.
pub struct Pgbench {
    pub tps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The bytes of one stored webhook event, about what a text message's row holds.
pub const ROW: &str = r#"{"event":"message","raw":{"from":"966500000001","id":"wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTk4ODY4QkY5NTZDQzFENzhGRQA=","text":{"body":"مرحبا، متى تفتحون اليوم؟ Hello, when do you open today?"},"timestamp":"1764499000","type":"text"},"kind":"text","name":"Customer","wa_id":"966500000001","bsuid":null,"username":null,"timestamp":1764499000,"phone_number_id":"123456789012345","wamid":"wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTk4ODY4QkY5NTZDQzFENzhGRQA="}"#;

/// `pgbench -c 32` for `secs` seconds, each transaction inserting one row like a stored
/// webhook event (a uuid, the jsonb payload, a timestamp), into a scratch database.
pub async fn pgbench_insert(opts: &Options, secs: u64) -> anyhow::Result<Pgbench> {
    let admin = PgPool::connect(&format!("{}/postgres", opts.server_url)).await?;
    sqlx::query("drop database if exists mujibak_bench_pgbench with (force)").execute(&admin).await?;
    sqlx::query("create database mujibak_bench_pgbench").execute(&admin).await?;
    admin.close().await;
    let url = format!("{}/mujibak_bench_pgbench", opts.server_url);
    let db = PgPool::connect(&url).await?;
    sqlx::query(
        "create table rows (id uuid primary key, payload jsonb not null, received_at timestamptz not null default now())",
    )
    .execute(&db)
    .await?;
    db.close().await;
    let script = opts.logs.join("pgbench-insert.sql");
    let row = ROW.replace('\'', "''");
    std::fs::write(
        &script,
        format!("insert into rows (id, payload) values (gen_random_uuid(), '{row}');\n"),
    )?;
    let log_dir = opts.logs.join("pgbench-log");
    let _ = std::fs::remove_dir_all(&log_dir);
    std::fs::create_dir_all(&log_dir)?;
    let out = tokio::process::Command::new(opts.pg_bindir.join("pgbench"))
        .args(["-n", "-c", "32", "-j", "2", "-T", &secs.to_string(), "-l", "--log-prefix"])
        .arg(log_dir.join("tx"))
        .arg("-f")
        .arg(&script)
        .arg(&url)
        .stderr(Stdio::null())
        .output()
        .await
        .context("cannot run pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let number = |prefix: &str| -> Option<f64> {
        text.lines().find(|l| l.starts_with(prefix))?[prefix.len()..].split_whitespace().next()?.parse().ok()
    };
    let Some(tps) = number("tps = ") else { bail!("could not read pgbench's output: {text}") };
    // One line per transaction: client, transaction, latency in µs, ...
    let mut ms = Vec::new();
    for file in std::fs::read_dir(&log_dir)? {
        let log = std::fs::read_to_string(file?.path())?;
        ms.extend(
            log.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok())
                .map(|us| us / 1000.0),
        );
    }
    anyhow::ensure!(!ms.is_empty(), "pgbench wrote no per-transaction log");
    Ok(Pgbench { tps, p50_ms: quantile(&mut ms, 0.5), p99_ms: quantile(&mut ms, 0.99) })
}

/// A job that does nothing but note when it started.
#[derive(Debug, Serialize, Deserialize)]
struct Noop(u64);

type Starts = Arc<Mutex<HashMap<u64, Instant>>>;

async fn noop(job: Noop, starts: Data<Starts>) -> Result<(), apalis::prelude::BoxDynError> {
    starts.lock().unwrap_or_else(|p| p.into_inner()).insert(job.0, Instant::now());
    Ok(())
}

/// A fresh database with apalis' schema and a bare apalis-postgres worker on it (its own
/// fetch loop, LISTEN/NOTIFY, concurrency 16), not yet started.
async fn bare_worker(opts: &Options, starts: Starts) -> anyhow::Result<(PgPool, impl Future<Output = ()>)> {
    let admin = PgPool::connect(&format!("{}/postgres", opts.server_url)).await?;
    sqlx::query("drop database if exists mujibak_bench_drain with (force)").execute(&admin).await?;
    sqlx::query("create database mujibak_bench_drain").execute(&admin).await?;
    admin.close().await;
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(20)
        .connect(&format!("{}/mujibak_bench_drain", opts.server_url))
        .await?;
    PostgresStorage::setup(&db).await?;
    let config = Config::default()
        .queue("bench_noop")
        .batch_size(16)
        .heartbeat_interval(Duration::from_secs(5))
        .missed_heartbeats(6);
    let storage = PostgresStorage::<Noop>::new(&db).with_config(config).with_pubsub();
    let worker = WorkerBuilder::new("bench-drain").backend(storage).data(starts).concurrency(16).build(noop);
    Ok((db, async move {
        let _ = worker.run().await;
    }))
}

async fn push(db: &PgPool, from: u64, n: u64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let tasks = (from..from + n)
        .map(|i| TaskBuilder::new(serde_json::to_vec(&Noop(i)).unwrap_or_default()).max_attempts(1).build())
        .collect();
    apalis_postgres::queries::push_tasks(&mut *tx, "bench_noop", tasks).await?;
    tx.commit().await?;
    Ok(())
}

/// A bare apalis-postgres worker draining `n` no-op jobs pushed beforehand: jobs/s, the
/// clock stopped when the last of them is recorded `Done` (not when it started: apalis'
/// own loop writes its acks later).
pub async fn apalis_drain(opts: &Options, n: u64) -> anyhow::Result<f64> {
    let starts = Starts::default();
    let (db, worker) = bare_worker(opts, starts.clone()).await?;
    for from in (0..n).step_by(5_000) {
        push(&db, from, 5_000.min(n - from)).await?;
    }
    let started = Instant::now();
    let running = tokio::spawn(worker);
    loop {
        let done: i64 = sqlx::query_scalar(
            "select count(*) from apalis.jobs where job_type = 'bench_noop' and status = 'Done'",
        )
        .fetch_one(&db)
        .await?;
        if done as u64 >= n {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the bare apalis drain did not finish in 10 minutes ({done} of {n} done)");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    running.abort();
    db.close().await;
    Ok(rate)
}

/// A bare apalis-postgres worker fed one no-op job at a time at `rate` a second for
/// `secs`: the push → job start times in ms.
pub async fn apalis_paced(opts: &Options, rate: f64, secs: u64) -> anyhow::Result<Vec<f64>> {
    let starts = Starts::default();
    let (db, worker) = bare_worker(opts, starts.clone()).await?;
    let running = tokio::spawn(worker);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = (rate * secs as f64) as u64;
    let began = tokio::time::Instant::now();
    let mut pushed = HashMap::new();
    for i in 0..total {
        tokio::time::sleep_until(began + Duration::from_secs_f64(i as f64 / rate)).await;
        pushed.insert(i, Instant::now());
        push(&db, i, 1).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while (starts.lock().unwrap_or_else(|p| p.into_inner()).len() as u64) < total {
        anyhow::ensure!(Instant::now() < deadline, "the bare apalis worker did not start every paced job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.abort();
    db.close().await;
    let starts = std::mem::take(&mut *starts.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(starts.iter().map(|(i, at)| at.duration_since(pushed[i]).as_secs_f64() * 1000.0).collect())
}
