//! The workers of one process ([`Workers`]) and what makes them safe to run N at a time:
//! unique worker names, concurrency that fits the connection pool (`fit`), jobs on every
//! core (`spawn`), restarts with a delay that resets after a healthy period, and a graceful
//! shutdown that writes kept outcomes, then hands unfinished jobs back at once (those never
//! started without spending their attempt). Which queues a process runs is the
//! application's registry; it adds each with [`Workers::add`] or [`Workers::register`].

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use apalis::prelude::{Monitor, MonitorError, WorkerBuilder, WorkerBuilderExt};
use apalis_core::worker::ext::parallelize::ParallelizeExt;
use futures::future::BoxFuture;
use sqlx::PgPool;

use crate::{
    backend::PgQueue,
    cron::Scheduler,
    execute::execute,
    fit::{plan, PoolFitError, Wanted},
    job::{Context, Job},
    settler::Settler,
    spawn::Running,
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
    /// and outcome writes, and any share of the pool the process uses otherwise.
    pub reserved_connections: u32,
    /// Jobs at once of each queue whose jobs wait outside (`Job::WAITS_OUTSIDE`), whatever
    /// the pool's size; 0 fits those queues to the pool like the others.
    pub outside_concurrency: usize,
    /// Each job runs as a task of its own on the runtime's worker threads (every core);
    /// `false`: every job future of the process is polled inside apalis' `Monitor`, on
    /// one thread.
    pub parallel: bool,
}

impl Default for WorkerOptions {
    /// 5 s heartbeat, dead after 6 missed (30 s), 1 s fallback poll, 25 s shutdown grace
    /// (inside Heroku's 30 s between SIGTERM and SIGKILL), 2 reserved connections, 1,024 jobs
    /// at once of a queue that waits outside, jobs on every core.
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 6,
            poll_interval: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(25),
            reserved_connections: 2,
            outside_concurrency: 1024,
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

/// How long a shutdown tries to write the outcomes kept during an outage before it hands
/// unfinished jobs back.
const KEPT_OUTCOMES_DEADLINE: Duration = Duration::from_secs(5);

/// A task that runs beside the workers until the shutdown (given the pool and the
/// shutdown signal): the application's periodic upkeep.
pub type Companion = Box<dyn FnOnce(PgPool, BoxFuture<'static, ()>) -> BoxFuture<'static, ()> + Send>;

/// The workers of one process: an apalis [`Monitor`] and the names its workers used.
pub struct Workers {
    monitor: Monitor,
    names: Arc<Mutex<Vec<String>>>,
    db: Option<PgPool>,
    /// The process's outcome writer, shared by every worker added.
    settler: Option<Arc<Settler>>,
    /// The places the occasional queues' jobs share (`fit::OCCASIONAL_CONNECTIONS`).
    occasional: Arc<tokio::sync::Semaphore>,
    companions: Vec<Companion>,
}

impl Default for Workers {
    fn default() -> Self {
        Self {
            monitor: Monitor::new(),
            names: Arc::default(),
            db: None,
            settler: None,
            occasional: Arc::new(tokio::sync::Semaphore::new(crate::fit::OCCASIONAL_CONNECTIONS)),
            companions: Vec::new(),
        }
    }
}

impl Workers {
    /// Adds a worker for job type `J`, with its concurrency planned for `ctx`'s pool
    /// (`fit::plan`).
    pub fn register<J: Job>(self, ctx: &J::Context, opts: &WorkerOptions) -> Result<Self, PoolFitError> {
        let pool = ctx.pool().options().get_max_connections();
        let wanted = Wanted {
            name: J::QUEUE,
            concurrency: J::CONCURRENCY,
            waits_outside: J::WAITS_OUTSIDE,
            occasional: J::OCCASIONAL,
        };
        let planned = plan(&[wanted], pool, opts.reserved_connections, opts.outside_concurrency)?;
        Ok(self.add::<J>(ctx, opts, planned.per_queue[0]))
    }

    /// How many jobs of the occasional queues added after this run at once, all of them
    /// together (`fit::Planned::occasional`; [`crate::fit::OCCASIONAL_CONNECTIONS`] unless set).
    pub fn occasional(mut self, places: usize) -> Self {
        self.occasional = Arc::new(tokio::sync::Semaphore::new(places.max(1)));
        self
    }

    /// Adds a worker for job type `J` running `concurrency` jobs at once (the caller planned
    /// it for the pool: `fit::plan`).
    pub fn add<J: Job>(self, ctx: &J::Context, opts: &WorkerOptions, concurrency: usize) -> Self {
        let db = ctx.pool().clone();
        let (ctx, opts, names) = (ctx.clone(), opts.clone(), self.names.clone());
        // Unique even if one process registers a queue twice (tests do: "another worker").
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let instance = instance_name();
        let restarts = Mutex::new(RestartPolicy::default());
        let settler = self.settler.clone().unwrap_or_else(|| Settler::new(db.clone()));
        let settler_kept = settler.clone();
        // One adaptive limit per queue of the process, kept across the worker's restarts.
        let throttle = J::WAITS_OUTSIDE.then(|| Arc::new(crate::throttle::Throttle::new(concurrency)));
        let gate = J::OCCASIONAL.then(|| self.occasional.clone());
        let monitor = self.monitor.register(move |restart: usize| {
            let delay = if restart == 0 {
                Duration::ZERO
            } else {
                restarts.lock().unwrap_or_else(|p| p.into_inner()).next_delay(Instant::now())
            };
            let name = format!("{instance}-{}-{seq}.{restart}", J::QUEUE);
            names.lock().unwrap_or_else(|p| p.into_inner()).push(name.clone());
            let pool = ctx.pool().clone();
            let wakeups = wake::wakeups(pool.clone(), J::QUEUE, opts.poll_interval);
            crate::announce::start(&pool);
            let backend = PgQueue::<J>::new(
                pool,
                opts.heartbeat,
                opts.dead_after(),
                wakeups,
                concurrency,
                throttle.clone(),
                settler.clone(),
            )
            .gated(gate.clone())
            .start_after(delay);
            let builder =
                WorkerBuilder::new(name).backend(backend).data(ctx.clone()).concurrency(concurrency);
            let parallel = opts.parallel;
            builder.parallelize(move |job| Running::new(job, parallel)).build(execute::<J>)
        });
        Self {
            monitor,
            names: self.names,
            db: Some(db),
            settler: Some(settler_kept),
            occasional: self.occasional,
            companions: self.companions,
        }
    }

    /// Runs `companion` beside the workers while they are supervised.
    pub fn alongside(mut self, companion: Companion) -> Self {
        self.companions.push(companion);
        self
    }

    /// Runs until dropped, with no shutdown handling (a test's stand-in for a process).
    pub async fn run(self) -> Result<(), MonitorError> {
        self.monitor.run().await
    }

    /// Runs the workers, `scheduler` and the companions until `shutdown`, restarting a
    /// worker that stops on an error. On shutdown: no new claims; in-flight jobs get
    /// `opts.shutdown_timeout` to finish (each one's outcome is recorded as it ends);
    /// outcomes kept during an outage are written (for up to [`KEPT_OUTCOMES_DEADLINE`]);
    /// then the jobs still unfinished are handed back to the queue at once, those claimed
    /// but never started without spending their attempt.
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
        let companions: Vec<_> = match &self.db {
            Some(db) => self
                .companions
                .into_iter()
                .map(|c| {
                    let stop: BoxFuture<'static, ()> = Box::pin(shutdown.clone());
                    tokio::spawn(c(db.clone(), stop))
                })
                .collect(),
            None => Vec::new(),
        };
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
        for companion in companions {
            let _ = companion.await;
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
            match crate::db::rescue::hand_back(db, &names, &unstarted).await {
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
