//! A worker that dies mid-job (heartbeats stop, nothing is acked): another worker picks
//! the job up; a job that kills its worker every time stops at `max_attempts`; nothing is
//! rescued within the orphan window of a Postgres restart; dead workers' rows are pruned.

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

/// A running job of worker `w`, last seen `ago` ago (test set-up only).
async fn running_job_of_a_silent_worker(pool: &PgPool, w: &str, ago: &str) -> String {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into apalis.workers (id, worker_type, storage_name, last_seen)
         values ('{w}', 'test_hangs_at_first', 'mujibak', now() - interval '{ago}')"
    )))
    .execute(pool)
    .await
    .unwrap();
    let id = push(pool, w, 0).await;
    sqlx::query("update apalis.jobs set status = 'Running', lock_by = $2, attempts = 1 where id = $1")
        .bind(&id)
        .bind(w)
        .execute(pool)
        .await
        .unwrap();
    id
}

#[sqlx::test(migrations = false)]
async fn nothing_is_rescued_until_the_database_has_been_up_for_the_orphan_window(pool: PgPool) {
    // Arrange: a worker silent for ten years, so it looks dead whatever the window.
    migrated(&pool).await;
    let id = running_job_of_a_silent_worker(&pool, "silent", "10 years").await;
    let uptime: f64 =
        sqlx::query_scalar("select extract(epoch from now() - pg_postmaster_start_time())::float8")
            .fetch_one(&pool)
            .await
            .unwrap();

    // Act: an orphan window longer than the server has been up (as just after a Postgres
    // restart, when live workers have not reconnected yet), then a short one.
    let longer = Duration::from_secs_f64(uptime + 3600.0);
    let during = rescue(&pool, longer).await;
    let still = jobs::find(&pool, &id).await.unwrap().unwrap();
    let after = rescue(&pool, Duration::from_secs(2)).await;

    // Assert
    assert_eq!((during, still.status.as_str()), (0, "Running"), "no rescue within the window of a restart");
    assert_eq!(after, 1);
    let row = jobs::find(&pool, &id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.lock_by), ("Pending", None));
    let errors = jobs::errors(&pool, &id).await.unwrap();
    assert_eq!(errors.iter().map(|e| (e.attempt, e.kind.as_str())).collect::<Vec<_>>(), vec![(1, "crashed")]);
}

#[sqlx::test(migrations = false)]
async fn rows_of_long_dead_workers_are_pruned_once_their_jobs_are_rescued(pool: PgPool) {
    // Arrange: two workers unseen for an hour, one still holding a running job; a live one.
    migrated(&pool).await;
    let held = running_job_of_a_silent_worker(&pool, "gone-holding", "1 hour").await;
    sqlx::query(
        "insert into apalis.workers (id, worker_type, storage_name, last_seen)
         values ('gone-idle', 'test_hangs_at_first', 'mujibak', now() - interval '1 hour'),
                ('alive', 'test_hangs_at_first', 'mujibak', now())",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Act: one heartbeat's rescue pass, with a 2 s orphan window (rows unseen for 20 s go).
    let rescued = rescue(&pool, Duration::from_secs(2)).await;

    // Assert: the held job is back in the queue, and only the live worker's row is left.
    assert_eq!(rescued, 1);
    assert_eq!(jobs::find(&pool, &held).await.unwrap().unwrap().status, "Pending");
    let names: Vec<String> =
        sqlx::query_scalar("select id from apalis.workers order by id").fetch_all(&pool).await.unwrap();
    assert_eq!(names, vec!["alive".to_owned()]);
}

/// One rescue pass over the test queue, as a live worker's heartbeat runs it.
async fn rescue(pool: &PgPool, window: Duration) -> u64 {
    mujibak_queue::db::rescue::rescue_orphans(pool, "test_hangs_at_first", window, "a-live-worker")
        .await
        .unwrap()
}
