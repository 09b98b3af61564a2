//! Test support: migrated databases, the app on a real port, workers for test job types,
//! and a run log the test jobs write to (so tests see what actually ran, and when).

use std::{future::Future, net::SocketAddr, time::Duration};

use chrono::{DateTime, Utc};
use mujibak::AppState;
use mujibak_core::Config;
use mujibak_jobs::{
    schema,
    worker::{WorkerOptions, Workers},
    Job, JobContext,
};
use sqlx::PgPool;
use tokio::task::JoinHandle;

/// Applies apalis' and our migrations (what `mujibak migrate` does) and creates the run log.
pub async fn migrated(pool: &PgPool) {
    schema::migrate(pool).await.expect("migrations apply");
    sqlx::query(
        "create table if not exists test_runs (key text not null, attempt_at timestamptz not null default clock_timestamp())",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// Called by test jobs: records that the job with `key` ran, now. Returns the run count.
pub async fn log_run(pool: &PgPool, key: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("insert into test_runs (key) values ($1)").bind(key).execute(pool).await?;
    sqlx::query_scalar("select count(*) from test_runs where key = $1").bind(key).fetch_one(pool).await
}

/// When each run of `key` started, in order.
pub async fn runs(pool: &PgPool, key: &str) -> Vec<DateTime<Utc>> {
    sqlx::query_scalar("select attempt_at from test_runs where key = $1 order by attempt_at")
        .bind(key)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// A migrated pool of `size` connections to the test's database (the test harness's own
/// pool is small; production-sized pools and several workers need more).
pub async fn sized_pool(pool: &PgPool, size: u32) -> PgPool {
    let sized = sqlx::postgres::PgPoolOptions::new()
        .max_connections(size)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    migrated(&sized).await;
    sized
}

pub fn job_context(pool: &PgPool) -> JobContext {
    JobContext {
        db: pool.clone(),
        job_retention: Duration::from_secs(3600),
        done_job_retention: Duration::from_secs(600),
        dead_job_retention: Duration::from_secs(7200),
        inbound_retention: Duration::from_secs(30 * 24 * 3600),
        mailer: None,
        session_idle: Duration::from_secs(3600),
        whatsapp: None,
        base_url: "http://127.0.0.1".into(),
        seller: None,
        payments: mujibak_jobs::PaymentsContext::default(),
    }
}

/// Fast timings for tests: 1 s heartbeat, dead after 2 missed, 100 ms fallback poll.
pub fn fast_options() -> WorkerOptions {
    WorkerOptions {
        heartbeat: Duration::from_secs(1),
        missed_heartbeats: 2,
        poll_interval: Duration::from_millis(100),
        shutdown_timeout: Duration::from_secs(5),
        ..WorkerOptions::default()
    }
}

/// A worker process stand-in for job type `J`; `kill` ends it like SIGKILL would (no
/// acks, no clean-up, heartbeats stop).
pub struct TestWorker(Option<JoinHandle<()>>);

impl TestWorker {
    pub fn start<J: Job>(pool: &PgPool, opts: &WorkerOptions) -> Self {
        Self::start_with::<J>(&job_context(pool), opts)
    }

    pub fn start_with<J: Job>(ctx: &JobContext, opts: &WorkerOptions) -> Self {
        let workers = Workers::default()
            .register::<mujibak_jobs::Queued<J>>(ctx, opts)
            .expect("the test pool fits one queue");
        Self(Some(tokio::spawn(async move {
            let _ = workers.run().await;
        })))
    }

    pub async fn kill(mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
            let _ = handle.await;
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.abort();
        }
    }
}

/// Polls `check` every 50 ms until it returns `Some`, panicking with `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The production router on a real port, over `pool`, with `BASE_URL` = its own address
/// (the usual case of [`TestApp`]).
pub async fn spawn_app(pool: PgPool) -> SocketAddr {
    TestApp::new(pool).spawn().await
}

/// A web process as a test starts it: `TestApp::new(pool)`, then what differs from
/// production (`.vars(&[("BASE_URL", "https://…")])`, `.dev()` to serve it as `mujibak dev`
/// does, `.limits(…)` for the server's bounds), then `.spawn()`: its address.
pub struct TestApp<'a> {
    pool: PgPool,
    vars: &'a [(&'a str, &'a str)],
    dev: bool,
    limits: mujibak::web::ServeLimits,
}

impl<'a> TestApp<'a> {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, vars: &[], dev: false, limits: mujibak::web::ServeLimits::default() }
    }

    /// Configuration variables on top of the test's defaults.
    pub fn vars(self, vars: &'a [(&'a str, &'a str)]) -> Self {
        Self { vars, ..self }
    }

    /// Served as `mujibak dev` serves it (sandbox routes, loopback origins accepted).
    pub fn dev(self, dev: bool) -> Self {
        Self { dev, ..self }
    }

    /// Served with `limits` instead of production's.
    pub fn limits(self, limits: mujibak::web::ServeLimits) -> Self {
        Self { limits, ..self }
    }

    pub async fn spawn(self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let vars: Vec<(String, String)> =
            self.vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some("postgres://unused".to_owned()),
            _ => vars
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| (name == "BASE_URL").then(|| base.clone())),
        })
        .expect("test config");
        let state = AppState::new(self.pool, config, self.dev).expect("templates load");
        let limits = self.limits;
        tokio::spawn(async move {
            mujibak::web::serve_app(listener, state, limits, std::future::pending()).await.unwrap()
        });
        addr
    }
}

/// A `DATABASE_URL` for the database `pool` is connected to (the test's own).
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for tests");
    let mut url = url::Url::parse(&base).expect("DATABASE_URL parses");
    url.set_path(pool.connect_options().get_database().expect("test database name"));
    url.to_string()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A worker process for job type `J` as `mujibak worker` runs it: supervised, with the
/// cron scheduler and a graceful shutdown on [`Supervised::shutdown`] (what SIGTERM does).
pub struct Supervised {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: JoinHandle<()>,
}

impl Supervised {
    pub fn start<J: Job>(ctx: &JobContext, opts: &WorkerOptions) -> Self {
        // As `mujibak worker` runs its queues: the queues page's rollup beside them.
        let workers = Workers::default()
            .register::<mujibak_jobs::Queued<J>>(ctx, opts)
            .expect("the test pool fits one queue")
            .alongside(mujibak_jobs::stats_rollup::companion(ctx.done_job_retention));
        let scheduler = mujibak_jobs::cron::Scheduler::new(ctx.db.clone(), Vec::new(), Utc::now());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let signal = futures::FutureExt::shared(futures::FutureExt::map(stopped, |_| ()));
        let opts = opts.clone();
        let handle = tokio::spawn(async move {
            workers.supervise(scheduler, &opts, signal).await.expect("the worker stops cleanly");
        });
        Self { stop: Some(stop), handle }
    }

    /// Sends the shutdown signal and waits until the worker has stopped; returns how long
    /// stopping took.
    pub async fn shutdown(mut self) -> Duration {
        let started = tokio::time::Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.handle).await.expect("the supervisor task ends");
        started.elapsed()
    }
}

/// The `pg_dump` binary: on the PATH, else the newest under /usr/lib/postgresql.
pub fn pg_dump() -> String {
    if std::process::Command::new("pg_dump").arg("--version").output().is_ok() {
        return "pg_dump".into();
    }
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("bin/pg_dump"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().expect("pg_dump is installed with PostgreSQL").display().to_string()
}

/// Runs every due job of `J`'s queue to completion here, without a worker, and the due
/// jobs of that queue those runs enqueue: for a test that needs a job's effect, not the
/// runtime's timing (the tests of leases, retries, fairness and shutdowns keep real
/// workers). Each job is taken as a worker takes it (status `Running`, one attempt
/// counted) and marked `Done` after it ran; a job that fails fails the test. How many ran.
pub async fn drain_jobs<J: Job>(ctx: &JobContext) -> usize {
    let mut ran = 0;
    loop {
        let taken: Option<(String, Vec<u8>)> = sqlx::query_as(
            "update apalis.jobs set status = 'Running', attempts = attempts + 1, lock_at = now()
              where id = (select id from apalis.jobs where job_type = $1 and status = 'Pending' and run_at <= now()
                           order by run_at, id limit 1 for update skip locked)
              returning id, job",
        )
        .bind(J::QUEUE)
        .fetch_optional(&ctx.db)
        .await
        .expect("take a due job");
        let Some((id, payload)) = taken else { return ran };
        let job: J = serde_json::from_slice(&payload).expect("the payload reads as the job");
        if let Err(e) = job.run(ctx).await {
            panic!("the {} job {id} failed: {e:?}", J::QUEUE);
        }
        sqlx::query("update apalis.jobs set status = 'Done', done_at = now() where id = $1")
            .bind(&id)
            .execute(&ctx.db)
            .await
            .expect("mark the job done");
        ran += 1;
    }
}
