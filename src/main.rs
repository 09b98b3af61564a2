//! The one binary, in the roles of the Procfile: `mujibak migrate | web | worker` (and
//! `dev` in builds with the `dev` feature),
//! and the operator's commands (`rotate-keys`, `staff-token`, `eval`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mujibak::roles;
use mujibak_core::{telemetry, Config};

/// Mujibak: WhatsApp customers answered by an AI model, reviewable in an inbox.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply apalis' and our database migrations (Procfile `release`).
    Migrate,
    /// Serve HTTP on $PORT (Procfile `web`).
    Web,
    /// Run every job queue and the cron scheduler (Procfile `worker`).
    Worker,
    /// Local development: migrate, then the sandbox, web and worker in one process
    /// (built only with the `dev` feature: `scripts/dev`).
    #[cfg(feature = "dev")]
    Dev,
    /// Re-encrypt every stored secret under the current key of ENCRYPTION_KEYS.
    RotateKeys,
    /// Manage the ops console's staff access tokens.
    #[command(subcommand)]
    StaffToken(mujibak::staff_cli::StaffToken),
    /// Score the model's answers to a question set against its knowledge base.
    Eval(mujibak::eval_cli::Eval),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log.format);
    let result = match cli.command {
        Command::Migrate => roles::migrate(&config).await,
        Command::Web => roles::web(config).await,
        Command::Worker => roles::worker(config).await,
        #[cfg(feature = "dev")]
        Command::Dev => roles::dev(config).await,
        Command::RotateKeys => roles::rotate_keys(&config).await,
        Command::StaffToken(command) => mujibak::staff_cli::run(&config, command).await,
        Command::Eval(args) => mujibak::eval_cli::run(&config, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
