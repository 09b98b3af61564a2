//! The occasional queues (pruning, billing, exports, deletions, sweeps) share a few places
//! in a worker process instead of a pooled connection each: however many of their jobs
//! are due, no more than those places run at once, and every one of them runs.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use mujibak_jobs::{enqueue, worker::Workers, Job, JobContext, JobError, Queued};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{fast_options, job_context, migrated};

/// When each job's work started and ended.
static SPANS: Mutex<Vec<(Instant, Instant)>> = Mutex::new(Vec::new());

async fn hold(ms: u64) {
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    SPANS.lock().unwrap().push((started, Instant::now()));
}

#[derive(Serialize, Deserialize)]
struct Pruning;

impl Job for Pruning {
    const QUEUE: &'static str = "test_occasional_pruning";
    const CONCURRENCY: usize = 2;
    const OCCASIONAL: bool = true;

    async fn run(self, _: &JobContext) -> Result<(), JobError> {
        hold(400).await;
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Exporting;

impl Job for Exporting {
    const QUEUE: &'static str = "test_occasional_exporting";
    const CONCURRENCY: usize = 2;
    const OCCASIONAL: bool = true;

    async fn run(self, _: &JobContext) -> Result<(), JobError> {
        hold(400).await;
        Ok(())
    }
}

#[sqlx::test(migrations = false)]
async fn two_occasional_queues_with_two_places_run_two_jobs_at_once_and_every_job(pool: PgPool) {
    // Arrange: three jobs of each of two occasional queues, each queue asking for two at
    // once; the process gives the occasional queues two places.
    migrated(&pool).await;
    let mut tx = pool.begin().await.unwrap();
    for _ in 0..3 {
        enqueue(&mut tx, &Pruning).await.unwrap();
        enqueue(&mut tx, &Exporting).await.unwrap();
    }
    tx.commit().await.unwrap();

    // Act: one worker process runs both queues until all six jobs ran.
    let (ctx, opts) = (job_context(&pool), fast_options());
    let workers = Workers::default()
        .occasional(2)
        .register::<Queued<Pruning>>(&ctx, &opts)
        .unwrap()
        .register::<Queued<Exporting>>(&ctx, &opts)
        .unwrap();
    let worker = tokio::spawn(workers.run());
    let deadline = Instant::now() + Duration::from_secs(20);
    while SPANS.lock().unwrap().len() < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();

    // Assert: all six ran, never more than two at once (each queue alone would run two).
    let spans = SPANS.lock().unwrap().clone();
    assert_eq!(spans.len(), 6, "every occasional job ran");
    let most = spans.iter().map(|(at, _)| spans.iter().filter(|(s, e)| s <= at && at < e).count()).max();
    assert_eq!(most, Some(2), "jobs at once: {most:?}");
}
