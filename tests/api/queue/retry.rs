//! Retries: transient failures back off with growing, jittered delays (read from the
//! scheduled `run_at` of each attempt) and end dead at `max_attempts` with every attempt's
//! error kept; each retry starts at its time, not at the workers' next poll; a permanent
//! failure stops at once and says why.

use std::time::Duration;

use anyhow::anyhow;
use mujibak_core::db::jobs;
use mujibak_jobs::{backoff::Backoff, enqueue, worker::WorkerOptions, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{eventually, fast_options, log_run, migrated, runs, TestWorker};

#[derive(Serialize, Deserialize)]
struct AlwaysUnavailable {
    key: String,
}

impl Job for AlwaysUnavailable {
    const QUEUE: &'static str = "test_always_unavailable";
    const MAX_ATTEMPTS: u32 = 4;
    const BACKOFF: Backoff = Backoff::new(Duration::from_millis(400), Duration::from_secs(10));

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        Err(JobError::transient(anyhow!("provider answered 503")))
    }
}

#[derive(Serialize, Deserialize)]
struct RejectedOutright {
    key: String,
}

impl Job for RejectedOutright {
    const QUEUE: &'static str = "test_rejected_outright";
    const MAX_ATTEMPTS: u32 = 5;

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        Err(JobError::permanent(anyhow!("invoice 42 does not exist")))
    }
}

async fn push<J: Job>(pool: &PgPool, job: J) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

#[sqlx::test(migrations = false)]
async fn a_transient_failure_retries_with_growing_jittered_delays_then_dies_with_every_error_kept(
    pool: PgPool,
) {
    // Arrange
    migrated(&pool).await;
    let keys = ["a", "b", "c", "d"];
    let mut ids = Vec::new();
    for key in keys {
        ids.push(push(&pool, AlwaysUnavailable { key: key.into() }).await);
    }

    // Act
    let _worker = TestWorker::start::<AlwaysUnavailable>(&pool, &fast_options());
    for id in &ids {
        eventually(Duration::from_secs(30), "the job to die", || async {
            jobs::find(&pool, id).await.unwrap().filter(|j| j.is_dead())
        })
        .await;
    }

    // Assert
    let mut first_jitter = Vec::new();
    for (id, key) in ids.iter().zip(keys) {
        let row = jobs::find(&pool, id).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.attempts, row.max_attempts), ("Failed", 4, 4));
        let errors = jobs::errors(&pool, id).await.unwrap();
        assert_eq!(errors.iter().map(|e| e.attempt).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        assert!(errors.iter().all(|e| e.kind == "transient" && e.message.contains("provider answered 503")));
        assert!(errors[3].retry_at.is_none(), "the last attempt schedules no retry");
        let started = runs(&pool, key).await;
        assert_eq!(started.len(), 4, "ran exactly max_attempts times");
        for n in 0..3 {
            let retry_at = errors[n].retry_at.expect("a retry was scheduled");
            // The delay is measured from the failed attempt's start to its scheduled retry.
            let delay = (retry_at - started[n]).to_std().unwrap();
            let nominal = Duration::from_millis(400) * (1 << n);
            assert!(
                delay >= nominal.mul_f64(0.75) && delay < nominal.mul_f64(1.25) + Duration::from_millis(250),
                "attempt {} delay {delay:?} outside jitter band around {nominal:?}",
                n + 1
            );
            assert!(started[n + 1] >= retry_at, "attempt {} ran before its run_at", n + 2);
            if n == 0 {
                first_jitter.push(delay.as_secs_f64() - nominal.as_secs_f64());
            }
        }
    }
    // Timing noise (the attempt's start to its outcome being written) is a few ms; jitter
    // moves each delay by up to ±100 ms. Four jobs all within ±15 ms of the nominal delay
    // would happen by chance once in 2,000 runs, and every time without jitter.
    assert!(
        first_jitter.iter().any(|j| j.abs() > 0.015),
        "every first delay was the nominal 400 ms ({first_jitter:?}): no jitter"
    );
}

#[sqlx::test(migrations = false)]
async fn each_retry_starts_at_its_time_not_at_the_next_poll(pool: PgPool) {
    // Arrange: the fallback poll is a minute away, so only the retry's own announcement
    // can start it on time.
    migrated(&pool).await;
    let opts = WorkerOptions { poll_interval: Duration::from_secs(60), ..WorkerOptions::default() };
    let _worker = TestWorker::start::<AlwaysUnavailable>(&pool, &opts);
    tokio::time::sleep(Duration::from_millis(1500)).await; // registered, idle

    // Act: four attempts, 0.4, 0.8 and 1.6 s apart.
    let id = push(&pool, AlwaysUnavailable { key: "on-time".into() }).await;
    eventually(Duration::from_secs(20), "the job to die", || async {
        jobs::find(&pool, &id).await.unwrap().filter(|j| j.is_dead())
    })
    .await;

    // Assert: each retry began at its scheduled time, within a few hundred ms.
    let errors = jobs::errors(&pool, &id).await.unwrap();
    let started = runs(&pool, "on-time").await;
    assert_eq!(started.len(), 4);
    for n in 0..3 {
        let retry_at = errors[n].retry_at.expect("a retry was scheduled");
        let late = (started[n + 1] - retry_at).to_std();
        assert!(late.is_ok(), "attempt {} ran before its run_at", n + 2);
        assert!(late.unwrap() < Duration::from_millis(300), "attempt {} started {late:?} late", n + 2);
    }
}

#[sqlx::test(migrations = false)]
async fn a_permanent_failure_stops_at_once_and_records_why(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let id = push(&pool, RejectedOutright { key: "p".into() }).await;

    // Act
    let _worker = TestWorker::start::<RejectedOutright>(&pool, &fast_options());
    let row = eventually(Duration::from_secs(10), "the job to be killed", || async {
        jobs::find(&pool, &id).await.unwrap().filter(|j| j.status == "Killed")
    })
    .await;

    // Assert: a killed job can never be claimed again, so one run is final.
    assert!(row.is_dead());
    assert_eq!(runs(&pool, "p").await.len(), 1, "a permanent failure is never retried");
    let errors = jobs::errors(&pool, &id).await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, "permanent");
    assert!(errors[0].message.contains("invoice 42 does not exist"));
    assert!(errors[0].retry_at.is_none());
}
