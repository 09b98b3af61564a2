//! Pruning removes finished rows older than the cutoff and keeps pending, running,
//! failed and killed ones (and recent finished ones).

use mujibak_core::db::jobs;
use mujibak_jobs::{enqueue, prune_jobs::PruneJobs, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::migrated;

#[derive(Serialize, Deserialize)]
struct Noop {}

impl Job for Noop {
    const QUEUE: &'static str = "test_noop";

    async fn run(self, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Puts job `id` in `status`, finished `age_hours` ago (test set-up only).
async fn set_state(pool: &PgPool, id: &str, status: &str, age_hours: i32) {
    sqlx::query(
        "update apalis.jobs set status = $2, done_at = now() - make_interval(hours => $3),
                attempts = case when $2 = 'Failed' then max_attempts else attempts end
         where id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(age_hours)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = false)]
async fn pruning_removes_old_finished_rows_and_keeps_everything_else(pool: PgPool) {
    // Arrange: retention is one hour.
    migrated(&pool).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let mut tx = pool.begin().await.unwrap();
        ids.push(enqueue(&mut tx, &Noop {}).await.unwrap());
        tx.commit().await.unwrap();
    }
    set_state(&pool, &ids[0], "Done", 48).await; // old and finished: pruned
    set_state(&pool, &ids[1], "Done", 0).await; // finished just now: kept
    set_state(&pool, &ids[2], "Running", 48).await;
    set_state(&pool, &ids[3], "Failed", 48).await; // dead: kept as evidence
    set_state(&pool, &ids[4], "Killed", 48).await;
    sqlx::query("update apalis.jobs set run_at = now() - interval '2 days' where id = $1")
        .bind(&ids[5])
        .execute(&pool)
        .await
        .unwrap(); // pending for a long time: kept
    let ctx = crate::helpers::job_context(&pool);

    // Act
    PruneJobs {}.run(&ctx).await.unwrap();

    // Assert
    let mut left: Vec<String> =
        jobs::list_by_queue(&pool, Noop::QUEUE).await.unwrap().into_iter().map(|j| j.id).collect();
    let mut kept = ids[1..].to_vec();
    left.sort();
    kept.sort();
    assert_eq!(left, kept, "ULIDs made in one millisecond need not sort in creation order");
}
