//! THE registry: every queue a worker process consumes and every cron schedule, in one
//! place. A job type not listed in [`registry`] does not run. Also owns what makes apalis'
//! workers safe to run N at a time: unique worker names, short heartbeats, restarts with a
//! delay after a backend error, and a bounded graceful shutdown.

use std::{future::Future, time::Duration};

use apalis::prelude::{BackendExt, Monitor, MonitorError, StreamStrategy, WorkerBuilder, WorkerBuilderExt};
use apalis_postgres::{Config, PostgresStorage};
use chrono::Utc;
use mujibak_core::config::QueueConfig;

use crate::{
    cron::{Schedule, ScheduleError, Scheduler},
    execute::execute,
    generate_reply::GenerateReply,
    handle_inbound::HandleInbound,
    job::{Job, JobContext},
    prune_jobs::PruneJobs,
    prune_sessions::PruneSessions,
    reconcile_send::ReconcileSend,
    send_email::SendEmail,
    send_message::SendMessage,
    sweep_inbound::SweepInbound,
    wake,
};

/// Timing of every worker in a process.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Heartbeat period; also how often orphaned jobs of dead workers are re-enqueued.
    pub heartbeat: Duration,
    /// Heartbeats a worker may miss before its running jobs are taken from it.
    pub missed_heartbeats: usize,
    /// Fallback poll period when no NOTIFY arrives (retries, scheduled jobs, lost notifies).
    pub poll_interval: Duration,
    /// Time in-flight jobs get to finish after the shutdown signal.
    pub shutdown_timeout: Duration,
}

impl Default for WorkerOptions {
    /// 5 s heartbeat, dead after 6 missed (30 s), 1 s fallback poll, 25 s shutdown grace
    /// (inside Heroku's 30 s between SIGTERM and SIGKILL).
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 6,
            poll_interval: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(25),
        }
    }
}

/// Every queue this process consumes.
pub fn registry(monitor: Monitor, ctx: &JobContext, opts: &WorkerOptions) -> Monitor {
    let monitor = register::<HandleInbound>(monitor, ctx, opts);
    let monitor = register::<GenerateReply>(monitor, ctx, opts);
    let monitor = register::<SendMessage>(monitor, ctx, opts);
    let monitor = register::<ReconcileSend>(monitor, ctx, opts);
    let monitor = register::<SweepInbound>(monitor, ctx, opts);
    let monitor = register::<SendEmail>(monitor, ctx, opts);
    let monitor = register::<PruneSessions>(monitor, ctx, opts);
    register::<PruneJobs>(monitor, ctx, opts)
}

/// Every recurring task, with expressions from configuration.
pub fn schedules(config: &QueueConfig) -> Result<Vec<Schedule>, ScheduleError> {
    Ok(vec![
        Schedule::new("prune_jobs", &config.prune_schedule, |_| PruneJobs {})?.catch_up(1),
        Schedule::new("sweep_inbound", "0 * * * * *", |_| SweepInbound {})?.catch_up(1),
    ])
}

/// Adds a worker for job type `J` to `monitor`.
pub fn register<J: Job>(monitor: Monitor, ctx: &JobContext, opts: &WorkerOptions) -> Monitor {
    let ctx = ctx.clone();
    let opts = opts.clone();
    // Unique even if one process registers a queue twice (tests do: "another worker").
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let instance = instance_name();
    let config = Config::default()
        .queue(J::QUEUE)
        .heartbeat_interval(opts.heartbeat)
        .missed_heartbeats(opts.missed_heartbeats)
        .batch_size(J::CONCURRENCY.max(1));
    monitor.register(move |restart: usize| {
        let pool = ctx.db.clone();
        let wakeups = wake::wakeups(pool.clone(), J::QUEUE, opts.poll_interval);
        let backend = PostgresStorage::<J>::new(&pool)
            .with_config(config.clone())
            .poll_with_strategy(StreamStrategy::new(wakeups))
            .before_start(move |_| async move {
                if restart > 0 {
                    tokio::time::sleep(restart_delay(restart)).await;
                }
                Ok(())
            });
        WorkerBuilder::new(format!("{instance}-{}-{seq}.{restart}", J::QUEUE))
            .backend(backend)
            .data(ctx.clone())
            .concurrency(J::CONCURRENCY.max(1))
            .build(execute::<J>)
    })
}

/// Runs every registered queue and the cron scheduler until `shutdown` resolves, then
/// gives in-flight jobs `opts.shutdown_timeout` to finish (unstarted ones are re-queued).
pub async fn run<S>(
    ctx: JobContext,
    schedules: Vec<Schedule>,
    opts: WorkerOptions,
    shutdown: S,
) -> Result<(), MonitorError>
where
    S: Future<Output = ()> + Clone + Send + 'static,
{
    let scheduler = Scheduler::new(ctx.db.clone(), schedules, Utc::now());
    supervise(registry(Monitor::new(), &ctx, &opts), scheduler, &opts, shutdown).await
}

/// Runs `monitor`'s workers and `scheduler` until `shutdown`, restarting a worker that
/// stops on an error (a database blip must not silently end a queue).
pub async fn supervise<S>(
    monitor: Monitor,
    scheduler: Scheduler,
    opts: &WorkerOptions,
    shutdown: S,
) -> Result<(), MonitorError>
where
    S: Future<Output = ()> + Clone + Send + 'static,
{
    let cron = tokio::spawn(scheduler.run(shutdown.clone()));
    let monitor = monitor
        .should_restart(|worker, error| {
            tracing::warn!(worker = worker.name(), error = %error, "worker stopped on an error; restarting");
            true
        })
        .shutdown_timeout(opts.shutdown_timeout);
    tracing::info!("worker started");
    let result = monitor
        .run_with_signal(async move {
            shutdown.await;
            tracing::info!("shutdown signal received; finishing in-flight jobs");
            Ok(())
        })
        .await;
    let _ = cron.await;
    tracing::info!("worker stopped");
    result
}

/// Unique per process and stable for its life: host (or Heroku dyno), pid and a random
/// suffix, so two processes never share a heartbeat row (a crashed twin's jobs would
/// never be rescued).
fn instance_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::env::var("DYNO")
            .or_else(|_| std::env::var("HOSTNAME"))
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        let suffix = &ulid::Ulid::generate().to_string()[20..];
        format!("{host}-{}-{suffix}", std::process::id())
    })
    .clone()
}

/// 0.5 s, 1 s, 2 s … 30 s: a database that is down is not hammered by restarts.
fn restart_delay(restart: usize) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << restart.min(6))).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_stable_within_a_process_and_carry_the_pid() {
        assert_eq!(instance_name(), instance_name());
        assert!(instance_name().contains(&std::process::id().to_string()));
    }

    #[test]
    fn restarts_back_off_up_to_thirty_seconds() {
        assert_eq!(restart_delay(1), Duration::from_secs(1));
        assert_eq!(restart_delay(2), Duration::from_secs(2));
        assert_eq!(restart_delay(50), Duration::from_secs(30));
    }
}
