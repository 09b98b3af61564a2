//! The queues page's rollup keeps `apalis.jobs` small: a finished job that never failed is
//! deleted once the rollup has counted it and it is older than `JOB_DONE_RETENTION_MINUTES`;
//! a job with a failed attempt stays (evidence, for the prune job's longer retention);
//! work is never touched; and the page's counts do not change when the rows go, not even
//! when a later rollup rewrites the whole day.

use chrono::Duration;
use mujibak_core::ops::stats;
use mujibak_jobs::{enqueue, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::migrated;

#[derive(Serialize, Deserialize)]
struct Counted {}

impl Job for Counted {
    const QUEUE: &'static str = "test_counted";

    async fn run(self, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Job `id` finished `secs_ago` seconds ago, after a second's wait and half a second's run.
async fn finish(pool: &PgPool, id: &str, secs_ago: i32) {
    sqlx::query(
        "update apalis.jobs set status = 'Done', attempts = 1,
                run_at = now() - make_interval(secs => $2 + 1.5),
                lock_at = now() - make_interval(secs => $2 + 0.5),
                done_at = now() - make_interval(secs => $2)
          where id = $1",
    )
    .bind(id)
    .bind(secs_ago)
    .execute(pool)
    .await
    .unwrap();
}

async fn ids_left(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select id from apalis.jobs where job_type = $1 order by id")
        .bind(Counted::QUEUE)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn counted(pool: &PgPool) -> i64 {
    let page = stats::overview(pool, &[Counted::QUEUE]).await.unwrap();
    page.queues.iter().find(|q| q.counts.queue == Counted::QUEUE).map_or(0, |q| q.hour.done)
}

#[sqlx::test(migrations = false)]
async fn finished_jobs_are_deleted_once_counted_and_the_queues_page_keeps_their_counts(pool: PgPool) {
    // Arrange: 30 jobs finished over the last 20 minutes (one every 40 s), two of the old
    // ones after a failed attempt, and two jobs still to run.
    migrated(&pool).await;
    let mut finished = Vec::new();
    for i in 0..32 {
        let mut tx = pool.begin().await.unwrap();
        let id = enqueue(&mut tx, &Counted {}).await.unwrap();
        tx.commit().await.unwrap();
        if i < 30 {
            finish(&pool, &id, i * 40).await;
            finished.push((id, i * 40));
        }
    }
    for (id, _) in finished.iter().rev().take(2) {
        sqlx::query(
            "insert into job_errors (task_id, queue, attempt, kind, message) values ($1, $2, 1, 'transient', 'no')",
        )
        .bind(id)
        .bind(Counted::QUEUE)
        .execute(&pool)
        .await
        .unwrap();
    }
    let failed_once: Vec<&String> = finished.iter().rev().take(2).map(|(id, _)| id).collect();
    let before = ids_left(&pool).await;

    // Act: a worker's periodic run, finished jobs kept five minutes.
    let run =
        stats::rollup_due(&pool, Duration::minutes(5)).await.unwrap().expect("no other process rolls up");

    // Assert: the page counts all 30; every clean row over six minutes old is gone, every
    // row under five minutes old, every row with an error history and the work stay.
    assert_eq!(counted(&pool).await, 30, "the page counts every finished job");
    let left = ids_left(&pool).await;
    for (id, age) in &finished {
        let kept = left.contains(id);
        if failed_once.contains(&id) {
            assert!(kept, "a job that failed an attempt is kept ({age} s old)");
        } else if *age >= 6 * 60 {
            assert!(!kept, "a clean job finished {age} s ago is still there");
        } else if *age < 5 * 60 {
            assert!(kept, "a job finished {age} s ago went before its five minutes");
        }
    }
    let pending = before.iter().filter(|id| !finished.iter().any(|(f, _)| f == *id));
    for id in pending {
        assert!(left.contains(id), "a job still to run was deleted");
    }
    assert_eq!(run.pruned as usize, before.len() - left.len());
    assert!(run.pruned >= 19, "19 to 21 of the 28 clean rows are over five minutes old: {}", run.pruned);

    // Act: the next run, and a rollup asked to rewrite the whole day (as the scale bench does).
    let again = stats::rollup_due(&pool, Duration::minutes(5)).await.unwrap().unwrap();
    let now = chrono::Utc::now();
    stats::rollup(&pool, now - Duration::hours(25), now + Duration::minutes(1)).await.unwrap().unwrap();

    // Assert: the counts of the deleted rows stay on the page.
    assert_eq!(again.pruned, 0, "nothing new to prune");
    assert_eq!(counted(&pool).await, 30, "rewriting minutes whose rows are gone lost their counts");
}
