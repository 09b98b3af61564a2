//! A worker's jobs run on every core: each job is a task of its own on the runtime's
//! worker threads, so two CPU-bound jobs of one worker run at the same time; with
//! `WORKER_PARALLEL_JOBS=false` they take turns on the one thread apalis' `Monitor` polls
//! them on (what the bench compares).

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use mujibak_jobs::{enqueue, worker::Workers, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::helpers::{database_url, fast_options, job_context, migrated};

/// When each job's work started and ended.
static SPANS: Mutex<Vec<(Instant, Instant)>> = Mutex::new(Vec::new());

/// Keeps a core busy for `ms` without yielding.
#[derive(Serialize, Deserialize)]
struct Spinner {
    ms: u64,
}

impl Job for Spinner {
    const QUEUE: &'static str = "test_spinner";
    const CONCURRENCY: usize = 2;

    async fn run(self, _: &JobContext) -> Result<(), JobError> {
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(self.ms) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        SPANS.lock().unwrap().push((started, Instant::now()));
        Ok(())
    }
}

/// Runs two 800 ms spinners on one worker of a two-thread runtime (as `mujibak worker`
/// runs); whether their work overlapped.
async fn overlapped(pool: &PgPool, parallel: bool) -> bool {
    SPANS.lock().unwrap().clear();
    for _ in 0..2 {
        let mut tx = pool.begin().await.unwrap();
        enqueue(&mut tx, &Spinner { ms: 800 }).await.unwrap();
        tx.commit().await.unwrap();
    }
    let url = database_url(pool);
    let ran = std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let pool = PgPoolOptions::new().max_connections(8).connect(&url).await.unwrap();
            let opts = mujibak_jobs::worker::WorkerOptions { parallel, ..fast_options() };
            let workers = Workers::default()
                .register::<mujibak_jobs::Queued<Spinner>>(&job_context(&pool), &opts)
                .unwrap();
            let worker = tokio::spawn(workers.run());
            let deadline = Instant::now() + Duration::from_secs(20);
            while SPANS.lock().unwrap().len() < 2 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            worker.abort();
        });
    });
    tokio::task::spawn_blocking(move || ran.join().unwrap()).await.unwrap();
    let spans = SPANS.lock().unwrap().clone();
    assert_eq!(spans.len(), 2, "both jobs ran");
    spans.iter().map(|s| s.0).max() < spans.iter().map(|s| s.1).min()
}

#[sqlx::test(migrations = false)]
async fn two_cpu_bound_jobs_of_one_worker_run_at_the_same_time(pool: PgPool) {
    migrated(&pool).await;
    assert!(overlapped(&pool, true).await, "the jobs took turns on one thread");
    assert!(
        !overlapped(&pool, false).await,
        "in place, they must take turns (else the bench compares nothing)"
    );
}
