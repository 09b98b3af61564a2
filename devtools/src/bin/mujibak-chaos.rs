//! `mujibak-chaos`: the chaos run `scripts/chaos` drives (see `mujibak_devtools::chaos`).

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;

/// Run the real binary under worker kills, a Postgres restart, a partition of one worker and
/// provider faults, then check that no customer message was lost and no reply or email was
/// sent twice.
#[derive(Parser)]
#[command(about)]
struct Args {
    /// The `mujibak` binary.
    #[arg(long)]
    bin: PathBuf,
    /// The run's own database; Postgres is restarted during the run.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Shell command that restarts that Postgres.
    #[arg(long)]
    pg_restart: Option<String>,
    #[arg(long, default_value_t = 5000)]
    messages: usize,
    #[arg(long, default_value_t = 100)]
    businesses: usize,
    #[arg(long, default_value_t = 5)]
    customers: usize,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Seconds over which the deliveries are spread.
    #[arg(long, default_value_t = 120)]
    load_secs: u64,
    /// Seconds between worker SIGKILLs.
    #[arg(long, default_value_t = 5)]
    kill_every_secs: u64,
    /// At most this many SIGKILLs.
    #[arg(long, default_value_t = 1000)]
    kills: usize,
    /// Seconds the system may take to finish after the load.
    #[arg(long, default_value_t = 300)]
    settle_secs: u64,
    /// Seconds worker 0 is cut off from Postgres (a frozen proxy), halfway through the
    /// load; 0: no partition. Longer than the orphan window (30 s) by default.
    #[arg(long, default_value_t = 40)]
    partition_secs: u64,
    /// Folder for the processes' logs.
    #[arg(long, default_value = "target/chaos")]
    logs: PathBuf,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The providers at their real speed, as in the bench's burst: the model answers in a
    /// log-normal time (p50 1.5 s, p99 8 s), the Graph API in 300 ms, the reply debounce
    /// is the production 3 s; and the kills go on after the load while work is in flight.
    #[arg(long)]
    burst: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let opts = mujibak_devtools::chaos::Options {
        bin: a.bin,
        database_url: a.database_url,
        pg_restart: a.pg_restart,
        messages: a.messages,
        businesses: a.businesses,
        customers: a.customers,
        workers: a.workers,
        load_for: Duration::from_secs(a.load_secs),
        kill_every: Duration::from_secs(a.kill_every_secs),
        kills: a.kills,
        settle_within: Duration::from_secs(a.settle_secs),
        partition: (a.partition_secs > 0).then(|| Duration::from_secs(a.partition_secs)),
        logs: a.logs,
        seed: a.seed,
        burst: a.burst,
    };
    match mujibak_devtools::chaos::run(opts).await {
        Ok(true) => {
            println!("chaos: every promise held");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("chaos: a promise was broken (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("chaos: the run itself failed: {e:#}");
            ExitCode::from(2)
        }
    }
}
