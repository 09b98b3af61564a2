//! THE registry: every queue a worker process consumes and every cron schedule, in one
//! place. A job type not listed in [`QUEUES`] does not run; a recurring job not listed in
//! [`schedules`] is never enqueued. Also owns what makes workers safe to run N at a time:
//! unique worker names, concurrency that fits the connection pool, restarts with a delay
//! that resets after a healthy period, and a graceful shutdown that hands unfinished jobs
//! back at once.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use apalis::prelude::{Monitor, MonitorError, WorkerBuilder, WorkerBuilderExt};
use apalis_core::worker::ext::parallelize::ParallelizeExt;
use chrono::Utc;
use mujibak_core::{billing::run::period_before, config::QueueConfig};

use crate::{
    backend::PgQueue,
    billing::Billing,
    cron::{Schedule, ScheduleError, Scheduler},
    delete_account::DeleteAccount,
    execute::execute,
    export_data::ExportData,
    fetch_media::FetchMedia,
    fit::{fit_concurrency, PoolFitError},
    generate_reply::GenerateReply,
    handle_inbound::HandleInbound,
    job::{Job, JobContext},
    notify_breach::NotifyBreach,
    prune_jobs::PruneJobs,
    prune_sessions::PruneSessions,
    reconcile_send::ReconcileSend,
    send_email::SendEmail,
    send_message::SendMessage,
    settler::Settler,
    spawn::Running,
    stats_rollup,
    sweep_inbound::SweepInbound,
    wake,
};

/// Timing of every worker in a process.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Heartbeat period; also how often the jobs of dead workers are looked for.
    pub heartbeat: Duration,
    /// Heartbeats a worker may miss before its running jobs are taken from it.
    pub missed_heartbeats: usize,
    /// Fallback poll period when no NOTIFY arrives (retries, scheduled jobs, lost notifies).
    pub poll_interval: Duration,
    /// Time in-flight jobs get to finish after the shutdown signal.
    pub shutdown_timeout: Duration,
    /// Pool connections not available to jobs: the shared LISTEN connection, heartbeats
    /// and outcome writes, and (in `mujibak dev`) the web server's share.
    pub reserved_connections: u32,
    /// Each job runs as a task of its own on the runtime's worker threads (every core);
    /// `false`: every job future of the process is polled inside apalis' `Monitor`, on
    /// one thread.
    pub parallel: bool,
}

impl Default for WorkerOptions {
    /// 5 s heartbeat, dead after 6 missed (30 s), 1 s fallback poll, 25 s shutdown grace
    /// (inside Heroku's 30 s between SIGTERM and SIGKILL), 2 reserved connections, jobs on
    /// every core.
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 6,
            poll_interval: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(25),
            reserved_connections: 2,
            parallel: true,
        }
    }
}

impl WorkerOptions {
    /// How long a worker may stay silent before its jobs are rescued.
    pub fn dead_after(&self) -> Duration {
        self.heartbeat * self.missed_heartbeats.max(1) as u32
    }
}

/// One queue of the registry.
#[derive(Clone, Copy)]
pub struct QueueSpec {
    pub name: &'static str,
    pub concurrency: usize,
    add: fn(Workers, &JobContext, &WorkerOptions, usize) -> Workers,
}

const fn spec<J: Job>() -> QueueSpec {
    QueueSpec { name: J::QUEUE, concurrency: J::CONCURRENCY, add: Workers::add::<J> }
}

/// How long a shutdown tries to write the outcomes kept during an outage before it hands
/// unfinished jobs back.
const KEPT_OUTCOMES_DEADLINE: Duration = Duration::from_secs(5);

/// Every queue a worker process consumes.
pub const QUEUES: &[QueueSpec] = &[
    spec::<HandleInbound>(),
    spec::<FetchMedia>(),
    spec::<GenerateReply>(),
    spec::<SendMessage>(),
    spec::<ReconcileSend>(),
    spec::<SweepInbound>(),
    spec::<SendEmail>(),
    spec::<PruneSessions>(),
    spec::<PruneJobs>(),
    spec::<DeleteAccount>(),
    spec::<ExportData>(),
    spec::<NotifyBreach>(),
    spec::<Billing>(),
];

/// Every recurring task, with expressions from configuration, in Asia/Riyadh time.
pub fn schedules(config: &QueueConfig) -> Result<Vec<Schedule>, ScheduleError> {
    Ok(vec![
        Schedule::new("prune_jobs", &config.prune_schedule, |_| PruneJobs {})?.catch_up(1),
        Schedule::new("prune_sessions", "0 7 * * * *", |_| PruneSessions {})?.catch_up(1),
        Schedule::new("sweep_inbound", "0 * * * * *", |_| SweepInbound {})?.catch_up(1),
        // Daily at 03:23 Riyadh; a missed day is caught up at start-up.
        Schedule::new("sweep_deletions", "0 23 3 * * *", |_| DeleteAccount::Sweep)?.catch_up(1),
        Schedule::new("expire_exports", "0 17 * * * *", |_| ExportData::Expire)?.catch_up(1),
        // 00:10 Riyadh on the 1st; a worker down over the 1st catches the run up at start-up.
        Schedule::new("invoice_run", "0 10 0 1 * *", |tick| Billing::Run { period: period_before(tick) })?
            .catch_up(3),
        // Hourly: a paid invoice whose webhook was lost is found within the hour.
        Schedule::new("reconcile_payments", "0 41 * * * *", |_| Billing::Reconcile)?.catch_up(1),
        // Daily at 09:00 Riyadh: reminders and pauses for unpaid invoices.
        Schedule::new("dunning", "0 0 9 * * *", |_| Billing::Dunning)?.catch_up(1),
    ])
}

/// The workers of one process: an apalis [`Monitor`] and the names its workers used.
pub struct Workers {
    monitor: Monitor,
    names: Arc<Mutex<Vec<String>>>,
    db: Option<sqlx::PgPool>,
    /// The process's outcome writer, shared by every worker added.
    settler: Option<Arc<Settler>>,
}

impl Default for Workers {
    fn default() -> Self {
        Self { monitor: Monitor::new(), names: Arc::default(), db: None, settler: None }
    }
}

impl Workers {
    /// Every queue of [`QUEUES`], with concurrency fitted to `ctx.db`'s pool.
    pub fn registry(ctx: &JobContext, opts: &WorkerOptions) -> Result<Self, PoolFitError> {
        let pool = ctx.db.options().get_max_connections();
        let wanted: Vec<_> = QUEUES.iter().map(|q| (q.name, q.concurrency)).collect();
        let fitted = fit_concurrency(&wanted, pool, opts.reserved_connections)?;
        Ok(QUEUES.iter().zip(fitted).fold(Self::default(), |w, (q, n)| (q.add)(w, ctx, opts, n)))
    }

    /// Adds a worker for job type `J` (tests run single queues this way).
    pub fn register<J: Job>(self, ctx: &JobContext, opts: &WorkerOptions) -> Result<Self, PoolFitError> {
        let pool = ctx.db.options().get_max_connections();
        let fitted = fit_concurrency(&[(J::QUEUE, J::CONCURRENCY)], pool, opts.reserved_connections)?;
        Ok(self.add::<J>(ctx, opts, fitted[0]))
    }

    fn add<J: Job>(self, ctx: &JobContext, opts: &WorkerOptions, concurrency: usize) -> Self {
        let db = ctx.db.clone();
        let (ctx, opts, names) = (ctx.clone(), opts.clone(), self.names.clone());
        // Unique even if one process registers a queue twice (tests do: "another worker").
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let instance = instance_name();
        let restarts = Mutex::new(RestartPolicy::default());
        let settler = self.settler.clone().unwrap_or_else(|| Settler::new(db.clone()));
        let settler_kept = settler.clone();
        let monitor = self.monitor.register(move |restart: usize| {
            let delay = if restart == 0 {
                Duration::ZERO
            } else {
                restarts.lock().unwrap_or_else(|p| p.into_inner()).next_delay(Instant::now())
            };
            let name = format!("{instance}-{}-{seq}.{restart}", J::QUEUE);
            names.lock().unwrap_or_else(|p| p.into_inner()).push(name.clone());
            let wakeups = wake::wakeups(ctx.db.clone(), J::QUEUE, opts.poll_interval);
            let backend = PgQueue::<J>::new(
                ctx.db.clone(),
                opts.heartbeat,
                opts.dead_after(),
                wakeups,
                concurrency,
                settler.clone(),
            )
            .start_after(delay);
            let builder =
                WorkerBuilder::new(name).backend(backend).data(ctx.clone()).concurrency(concurrency);
            let parallel = opts.parallel;
            builder.parallelize(move |job| Running::new(job, parallel)).build(execute::<J>)
        });
        Self { monitor, names: self.names, db: Some(db), settler: Some(settler_kept) }
    }

    /// Runs until dropped, with no shutdown handling (a test's stand-in for a process).
    pub async fn run(self) -> Result<(), MonitorError> {
        self.monitor.run().await
    }

    /// Runs the workers, `scheduler` and the queue statistics' rollup (`stats_rollup`)
    /// until `shutdown`, restarting a worker that stops on an error. On shutdown: no new claims; in-flight jobs get `opts.shutdown_timeout`
    /// to finish (each one's outcome is recorded as it ends); the jobs still unfinished
    /// then are handed back to the queue at once.
    pub async fn supervise<S>(
        self,
        scheduler: Scheduler,
        opts: &WorkerOptions,
        shutdown: S,
    ) -> Result<(), MonitorError>
    where
        S: Future<Output = ()> + Clone + Send + 'static,
    {
        let cron = tokio::spawn(scheduler.run(shutdown.clone()));
        let rollup = self.db.clone().map(|db| tokio::spawn(stats_rollup::run(db, shutdown.clone())));
        let monitor = self
            .monitor
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
        if let Some(rollup) = rollup {
            let _ = rollup.await;
        }
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let (Some(db), Some(settler)) = (&self.db, &self.settler) {
            // Outcomes kept during an outage first: a finished job is never handed back.
            let kept = settler.flush_within(KEPT_OUTCOMES_DEADLINE).await;
            if kept > 0 {
                tracing::error!(
                    outcomes = kept,
                    "outcomes still not recorded at shutdown; their jobs will run again"
                );
            }
            let unstarted = settler.unstarted();
            match mujibak_core::db::rescue::hand_back(db, &names, &unstarted).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(jobs = n, "handed unfinished jobs back to the queue"),
                Err(e) => {
                    tracing::error!(error = %e, "could not hand unfinished jobs back; they will be rescued")
                }
            }
        }
        tracing::info!("worker stopped");
        result
    }
}

/// Runs every registered queue and the cron scheduler until `shutdown` resolves.
pub async fn run<S>(
    ctx: JobContext,
    schedules: Vec<Schedule>,
    opts: WorkerOptions,
    shutdown: S,
) -> anyhow::Result<()>
where
    S: Future<Output = ()> + Clone + Send + 'static,
{
    let workers = Workers::registry(&ctx, &opts)?;
    let scheduler = Scheduler::new(ctx.db.clone(), schedules, Utc::now());
    Ok(workers.supervise(scheduler, &opts, shutdown).await?)
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
        instance_name_for(&host, std::process::id(), &ulid::Ulid::generate().to_string())
    })
    .clone()
}

fn instance_name_for(host: &str, pid: u32, random: &str) -> String {
    format!("{host}-{pid}-{}", &random[random.len().saturating_sub(6)..])
}

/// Delays between restarts of one worker: 0.5 s, 1 s, 2 s … 30 s while it keeps failing;
/// back to the shortest after it ran healthily for [`HEALTHY_FOR`].
#[derive(Debug, Default)]
struct RestartPolicy {
    consecutive: u32,
    last_restart: Option<Instant>,
}

const HEALTHY_FOR: Duration = Duration::from_secs(60);

impl RestartPolicy {
    fn next_delay(&mut self, now: Instant) -> Duration {
        let healthy = self.last_restart.is_none_or(|at| now.duration_since(at) >= HEALTHY_FOR);
        self.consecutive = if healthy { 1 } else { self.consecutive.saturating_add(1) };
        self.last_restart = Some(now);
        Duration::from_millis(500u64.saturating_mul(1 << (self.consecutive - 1).min(6)))
            .min(Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_processes_on_one_host_with_one_pid_still_get_different_names() {
        let a = instance_name_for("web.1", 7, &ulid::Ulid::generate().to_string());
        let b = instance_name_for("web.1", 7, &ulid::Ulid::generate().to_string());
        assert_ne!(a, b, "the random part must tell two processes apart");
        assert!(a.starts_with("web.1-7-"));
        assert_eq!(instance_name(), instance_name(), "stable within a process");
    }

    #[test]
    fn restarts_back_off_up_to_thirty_seconds_and_reset_after_a_healthy_minute() {
        let mut p = RestartPolicy::default();
        let t0 = Instant::now();
        let quick: Vec<_> = (0..8).map(|n| p.next_delay(t0 + Duration::from_secs(n)).as_millis()).collect();
        assert_eq!(quick, vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(p.next_delay(t0 + Duration::from_secs(7 + 61)), Duration::from_millis(500));
    }
}
