//! A worker that dies mid-job (heartbeats stop, nothing is acked): another worker picks
//! the job up; a job that kills its worker every time stops at `max_attempts`.

use std::time::Duration;

use mujibak_core::db::jobs;
use mujibak_jobs::{enqueue, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{eventually, fast_options, log_run, migrated, runs, TestWorker};

/// Hangs (as a process stuck or about to be OOM-killed would) on its first `hang_runs` runs.
#[derive(Serialize, Deserialize)]
struct HangsAtFirst {
    key: String,
    hang_runs: i64,
}

impl Job for HangsAtFirst {
    const QUEUE: &'static str = "test_hangs_at_first";
    const MAX_ATTEMPTS: u32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(3600);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        if log_run(&ctx.db, &self.key).await? <= self.hang_runs {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

async fn push(pool: &PgPool, key: &str, hang_runs: i64) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &HangsAtFirst { key: key.into(), hang_runs }).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn wait_for_runs(pool: &PgPool, key: &str, n: usize) {
    eventually(Duration::from_secs(20), "the job to start", || async {
        (runs(pool, key).await.len() >= n).then_some(())
    })
    .await;
}

#[sqlx::test(migrations = false)]
async fn a_job_whose_worker_dies_mid_run_is_picked_up_by_another_worker(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let id = push(&pool, "once", 1).await;
    let first = TestWorker::start::<HangsAtFirst>(&pool, &fast_options());
    wait_for_runs(&pool, "once", 1).await;
    let first_owner = jobs::find(&pool, &id).await.unwrap().unwrap().lock_by;
    assert!(first_owner.is_some(), "a running job names its worker");

    // Act: the first worker dies mid-job; a second one is running.
    first.kill().await;
    let _second = TestWorker::start::<HangsAtFirst>(&pool, &fast_options());
    let row = eventually(Duration::from_secs(20), "the job to finish", || async {
        jobs::find(&pool, &id).await.unwrap().filter(|j| j.status == "Done")
    })
    .await;

    // Assert
    assert_eq!(runs(&pool, "once").await.len(), 2);
    assert_eq!((row.attempts, row.lock_by), (2, None), "a finished job holds no lock");
    let errors = jobs::errors(&pool, &id).await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].attempt, errors[0].kind.as_str()), (1, "crashed"));
}

#[sqlx::test(migrations = false)]
async fn a_job_that_keeps_killing_its_worker_stops_at_max_attempts(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let id = push(&pool, "poison", i64::MAX).await;

    // Act: every worker that picks the job up dies with it.
    for attempt in 1..=3 {
        let worker = TestWorker::start::<HangsAtFirst>(&pool, &fast_options());
        wait_for_runs(&pool, "poison", attempt).await;
        worker.kill().await;
    }
    let _survivor = TestWorker::start::<HangsAtFirst>(&pool, &fast_options());
    let row = eventually(Duration::from_secs(20), "the job to be declared dead", || async {
        jobs::find(&pool, &id).await.unwrap().filter(|j| j.status == "Killed")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Assert
    assert!(row.is_dead());
    assert_eq!(runs(&pool, "poison").await.len(), 3, "never run past max_attempts");
    let errors = jobs::errors(&pool, &id).await.unwrap();
    let kinds: Vec<_> = errors.iter().map(|e| (e.attempt, e.kind.as_str())).collect();
    assert_eq!(kinds, vec![(1, "crashed"), (2, "crashed"), (3, "crashed"), (4, "abandoned")]);
}
