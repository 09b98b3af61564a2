//! The benchmark (`scripts/bench`, binary `mujibak-bench`): the release-built binary as
//! `web` and `worker` processes against the bench's Postgres, the sandbox fakes answering
//! at once in this process, and a load generator that signs real delivery shapes. Every
//! figure is printed beside a baseline measured in the same run on the same Postgres
//! (absolute times on a shared 2-core machine are noise): ingest against `pgbench`, the
//! pipeline's jobs/s against a bare apalis-postgres drain, jobs on every core against jobs
//! on one thread, fairness against the same load without the flood, a burst at the
//! provider's real speed against one customer alone (and the same burst with 1, 2 and 4
//! worker processes: the scale-out curve). `quick` runs every scenario small but the
//! scale-out (a smoke test, not a measurement).

mod baseline;
mod burst;
mod fairness;
mod ingest;
mod latency;
mod parallel;
mod pipeline;
mod purge;
pub mod report;
mod scale;
mod stage;
mod statements;
mod turns;

use std::path::PathBuf;

pub use report::Figure;

/// Where and how big.
#[derive(Debug, Clone)]
pub struct Options {
    /// The release-built `mujibak` binary.
    pub bin: PathBuf,
    /// `postgres://user@host:port` of a server the bench may create databases on.
    pub server_url: String,
    /// Folder of `pgbench`.
    pub pg_bindir: PathBuf,
    pub quick: bool,
    /// Folder for the processes' logs and scratch files.
    pub logs: PathBuf,
    /// Scenarios to run (all when empty): ingest, pipeline, parallel, latency, burst,
    /// scaleout (not with `quick` unless named: three more bursts), fairness, scale, purge.
    pub only: Vec<String>,
}

/// Runs the scenarios in turn; the figures of each. The databases the run created
/// (`mujibak_bench_*`) are dropped at the end, whether it succeeded or not.
pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let figures = scenarios(opts).await;
    let dropped = drop_databases(opts).await;
    let figures = figures?;
    dropped?;
    Ok(figures)
}

/// Drops every database of the bench's own names on the server.
async fn drop_databases(opts: &Options) -> anyhow::Result<()> {
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", opts.server_url)).await?;
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like 'mujibak\\_bench\\_%'")
            .fetch_all(&admin)
            .await?;
    for name in &names {
        let sql = format!("drop database if exists \"{}\" with (force)", name.replace('"', "\"\""));
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await?;
    }
    admin.close().await;
    println!("bench: dropped the {} databases it created", names.len());
    Ok(())
}

async fn scenarios(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    std::fs::create_dir_all(&opts.logs)?;
    let wanted = |name: &str| opts.only.is_empty() || opts.only.iter().any(|o| o == name);
    let mut figures = Vec::new();
    // Every scenario but the burst's runs the reply debounce at 0 and the model, Graph and
    // SMTP fakes answering at once; the burst says its own latencies.
    const INSTANT: &str = "debounce 0, model and Graph answering at once";
    if wanted("ingest") {
        println!("bench: ingest ({INSTANT})");
        figures.extend(ingest::run(opts).await?);
    }
    if wanted("pipeline") {
        println!("bench: pipeline ({INSTANT})");
        figures.extend(pipeline::run(opts).await?);
    }
    if wanted("parallel") {
        println!("bench: jobs on one thread, then on every core ({INSTANT})");
        figures.extend(parallel::run(opts).await?);
    }
    if wanted("latency") {
        println!("bench: latency at 200 messages/s ({INSTANT})");
        figures.extend(latency::run(opts).await?);
    }
    if wanted("burst") {
        println!("bench: a burst at the provider's speed");
        figures.extend(burst::run(opts).await?);
    }
    if opts.only.iter().any(|o| o == "scaleout") || (opts.only.is_empty() && !opts.quick) {
        println!("bench: the burst with 1, 2 and 4 worker processes");
        figures.extend(burst::scale_out(opts).await?);
    }
    if wanted("fairness") {
        println!("bench: fairness under a flood ({INSTANT})");
        figures.extend(fairness::run(opts).await?);
    }
    if wanted("scale") {
        println!("bench: pages at scale");
        figures.extend(scale::run(opts).await?);
    }
    if wanted("purge") {
        println!("bench: purging a business while others' deliveries arrive ({INSTANT})");
        figures.extend(purge::run(opts).await?);
    }
    Ok(figures)
}
