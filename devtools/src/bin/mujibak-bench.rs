//! `mujibak-bench`: the benchmark `scripts/bench` runs (see `mujibak_devtools::bench`).

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;

/// Measure ingest, pipeline throughput, latency, fairness, memory and pages at scale, each
/// against a baseline from the same run.
#[derive(Parser)]
#[command(about)]
struct Args {
    /// The release-built `mujibak` binary.
    #[arg(long)]
    bin: PathBuf,
    /// A Postgres server the bench may create databases on (no database name).
    #[arg(long)]
    server_url: String,
    /// Folder holding `pgbench`.
    #[arg(long)]
    pg_bindir: PathBuf,
    /// Every scenario, small: a smoke test of the bench itself.
    #[arg(long)]
    quick: bool,
    /// Run only these scenarios (ingest, pipeline, parallel, latency, burst, fairness, scale, purge).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[arg(long, default_value = "target/bench")]
    logs: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let opts = mujibak_devtools::bench::Options {
        bin: a.bin,
        server_url: a.server_url.trim_end_matches('/').to_owned(),
        pg_bindir: a.pg_bindir,
        quick: a.quick,
        logs: a.logs,
        only: a.only,
    };
    match mujibak_devtools::bench::run(&opts).await {
        Ok(figures) => {
            mujibak_devtools::bench::report::print(&figures);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: the run failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
