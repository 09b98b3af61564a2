//! A graceful shutdown (SIGTERM on a deploy) keeps finished work finished: jobs that end
//! during the grace period are recorded done as they end and never run again, and a job
//! still running when the grace period is over goes back to the queue at once.

use std::time::Duration;

use mujibak_core::db::jobs;
use mujibak_jobs::{enqueue, worker::WorkerOptions, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{eventually, fast_options, job_context, log_run, runs, Supervised, TestWorker};

/// Takes `secs` on its first run, no time on later ones.
#[derive(Serialize, Deserialize)]
struct Timed {
    key: String,
    secs: u64,
}

impl Job for Timed {
    const QUEUE: &'static str = "test_timed";
    const CONCURRENCY: usize = 6;
    const TIMEOUT: Duration = Duration::from_secs(120);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        if log_run(&ctx.db, &self.key).await? == 1 {
            tokio::time::sleep(Duration::from_secs(self.secs)).await;
        }
        Ok(())
    }
}

async fn push(pool: &PgPool, key: &str, secs: u64) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &Timed { key: key.into(), secs }).await.unwrap();
    tx.commit().await.unwrap();
    id
}

#[sqlx::test(migrations = false)]
async fn jobs_that_finish_during_the_grace_period_never_run_again_and_the_long_one_is_handed_back(
    pool: PgPool,
) {
    // Arrange: a production-sized pool, one 60 s job and five 2 s ones in flight at once.
    let pool = crate::helpers::sized_pool(&pool, 10).await;
    let long = push(&pool, "long", 60).await;
    let mut fast = Vec::new();
    for n in 0..5 {
        fast.push(push(&pool, &format!("fast-{n}"), 2).await);
    }
    let opts = WorkerOptions { shutdown_timeout: Duration::from_secs(5), ..fast_options() };
    let ctx = job_context(&pool);
    let worker = Supervised::start::<Timed>(&ctx, &opts);
    let keys: Vec<String> =
        std::iter::once("long".to_owned()).chain((0..5).map(|n| format!("fast-{n}"))).collect();
    for key in &keys {
        eventually(Duration::from_secs(10), "all six jobs in flight", || async {
            (!runs(&pool, key).await.is_empty()).then_some(())
        })
        .await;
    }

    // Act: the shutdown signal.
    let took = worker.shutdown().await;

    // Assert: the grace period was used and then ended; the five are done, the long one
    // is back in the queue already (no waiting for another worker to notice a death).
    assert!(took < Duration::from_secs(10), "stopped within the grace period ({took:?})");
    for id in &fast {
        let row = jobs::find(&pool, id).await.unwrap().unwrap();
        assert_eq!(row.status, "Done", "a job that finished during the drain is recorded done");
    }
    let row = jobs::find(&pool, &long).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.lock_by.as_deref()), ("Pending", None), "handed back");
    let errors = jobs::errors(&pool, &long).await.unwrap();
    assert_eq!(
        errors.iter().map(|e| (e.attempt, e.kind.as_str())).collect::<Vec<_>>(),
        vec![(1, "interrupted")]
    );

    // The next worker runs the long job again, and nothing else.
    let _next = TestWorker::start::<Timed>(&pool, &fast_options());
    eventually(Duration::from_secs(10), "the long job to finish on the next worker", || async {
        jobs::find(&pool, &long).await.unwrap().filter(|j| j.status == "Done")
    })
    .await;
    assert_eq!(runs(&pool, "long").await.len(), 2);
    for n in 0..5 {
        assert_eq!(runs(&pool, &format!("fast-{n}")).await.len(), 1, "fast-{n} never ran again");
    }
    pool.close().await;
}
