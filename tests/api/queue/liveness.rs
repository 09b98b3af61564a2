//! A live worker's jobs are never rescued as orphans, whatever the mix of job durations: a
//! worker claims only as many jobs as it has free slots, and its heartbeat does not depend
//! on its fetch loop.

use std::time::Duration;

use mujibak_core::db::jobs;
use mujibak_jobs::{enqueue, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{eventually, fast_options, log_run, migrated, runs, TestWorker};

/// Sleeps `ms` (no database connection held meanwhile).
#[derive(Serialize, Deserialize)]
struct Sleeper {
    key: String,
    ms: u64,
}

impl Job for Sleeper {
    const QUEUE: &'static str = "test_sleeper";
    const CONCURRENCY: usize = 2;
    const TIMEOUT: Duration = Duration::from_secs(120);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        Ok(())
    }
}

async fn push(pool: &PgPool, key: &str, ms: u64) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &Sleeper { key: key.into(), ms }).await.unwrap();
    tx.commit().await.unwrap();
    id
}

#[sqlx::test(migrations = false)]
async fn a_live_workers_slow_jobs_are_never_rescued_and_run_twice(pool: PgPool) {
    // Arrange: 1 s heartbeats, dead after 2 missed. Worker A runs a 1 s and a 6 s job.
    migrated(&pool).await;
    let mut ids = vec![push(&pool, "a-short", 1_000).await, push(&pool, "a-long", 6_000).await];
    let _a = TestWorker::start::<Sleeper>(&pool, &fast_options());
    for key in ["a-short", "a-long"] {
        eventually(Duration::from_secs(10), "worker A to start its jobs", || async {
            (!runs(&pool, key).await.is_empty()).then_some(())
        })
        .await;
    }

    // Act: six more 6 s jobs while A's slots are busy; then worker B starts.
    for n in 0..6 {
        ids.push(push(&pool, &format!("b-{n}"), 6_000).await);
    }
    let _b = TestWorker::start::<Sleeper>(&pool, &fast_options());
    for id in &ids {
        eventually(Duration::from_secs(60), "every job to finish", || async {
            jobs::find(&pool, id).await.unwrap().filter(|j| j.status == "Done")
        })
        .await;
    }

    // Assert
    let keys = ["a-short", "a-long", "b-0", "b-1", "b-2", "b-3", "b-4", "b-5"];
    for key in keys {
        assert_eq!(runs(&pool, key).await.len(), 1, "{key} ran exactly once");
    }
    for id in &ids {
        let errors = jobs::errors(&pool, id).await.unwrap();
        assert!(errors.is_empty(), "no attempt was lost to a rescue: {errors:?}");
        assert_eq!(jobs::find(&pool, id).await.unwrap().unwrap().attempts, 1);
    }
}
