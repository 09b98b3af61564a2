//! Enqueueing: in the caller's transaction (rolled back → never runs; committed → runs
//! exactly once); an idle worker starts a new job promptly through LISTEN/NOTIFY, sent by
//! the enqueuing process once the job has committed (never inside its transaction), even
//! when that transaction crossed a second boundary or stayed open long after the push; a
//! job to run later starts at its time, not at the next poll; and a job no NOTIFY
//! announces is started by the fallback poll.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mujibak_core::db::jobs;
use mujibak_jobs::{enqueue, worker::WorkerOptions, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{eventually, fast_options, log_run, migrated, runs, TestWorker};

#[derive(Serialize, Deserialize)]
struct Record {
    key: String,
}

impl Job for Record {
    const QUEUE: &'static str = "test_record";

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        Ok(())
    }
}

#[sqlx::test(migrations = false)]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_runs_and_a_committed_one_runs_once(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let _worker = TestWorker::start::<Record>(&pool, &fast_options());

    // Act
    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, &Record { key: "rolled-back".into() }).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &Record { key: "committed".into() }).await.unwrap();
    tx.commit().await.unwrap();

    // Assert
    eventually(Duration::from_secs(10), "the committed job to finish", || async {
        jobs::find(&pool, &id).await.unwrap().filter(|j| j.status == "Done")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await; // time for any duplicate run
    assert_eq!(runs(&pool, "committed").await.len(), 1);
    assert_eq!(runs(&pool, "rolled-back").await.len(), 0);
    assert_eq!(jobs::list_by_queue(&pool, Record::QUEUE).await.unwrap().len(), 1);
}

#[sqlx::test(migrations = false)]
async fn an_idle_worker_starts_a_new_job_well_under_the_heartbeat_period(pool: PgPool) {
    // Arrange: the fallback poll is a minute away, so only NOTIFY can wake the worker.
    migrated(&pool).await;
    let opts = WorkerOptions { poll_interval: Duration::from_secs(60), ..WorkerOptions::default() };
    let _worker = TestWorker::start::<Record>(&pool, &opts);
    tokio::time::sleep(Duration::from_millis(1500)).await; // registered, fetched nothing, idle

    for n in 0..5 {
        // Act
        let key = format!("prompt-{n}");
        let mut tx = pool.begin().await.unwrap();
        enqueue(&mut tx, &Record { key: key.clone() }).await.unwrap();
        let committed_at: DateTime<Utc> =
            sqlx::query_scalar("select clock_timestamp()").fetch_one(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let started = eventually(Duration::from_secs(10), "the job to start", || async {
            runs(&pool, &key).await.first().copied()
        })
        .await;

        // Assert
        let latency = (started - committed_at).to_std().unwrap_or_default();
        assert!(
            latency < opts.heartbeat / 5,
            "job {n} started {latency:?} after commit; the heartbeat is {:?}",
            opts.heartbeat
        );
        tokio::time::sleep(Duration::from_millis(300)).await; // idle again
    }
}

/// Pushes a job of `key` in a transaction that waits `before` the push and `after` it,
/// commits, and returns how long after the commit the job started (the fallback poll is a
/// minute away: only an announcement can start it promptly).
async fn started_after_commit(pool: &PgPool, key: &str, before: Duration, after: Duration) -> Duration {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("select pg_sleep($1)").bind(before.as_secs_f64()).execute(&mut *tx).await.unwrap();
    enqueue(&mut tx, &Record { key: key.to_owned() }).await.unwrap();
    tokio::time::sleep(after).await;
    let committed_at: DateTime<Utc> =
        sqlx::query_scalar("select clock_timestamp()").fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let started = eventually(Duration::from_secs(70), "the job to start", || async {
        runs(pool, key).await.first().copied()
    })
    .await;
    (started - committed_at).to_std().unwrap_or_default()
}

#[sqlx::test(migrations = false)]
async fn a_job_enqueued_by_a_transaction_that_crossed_a_second_boundary_still_wakes_a_worker(pool: PgPool) {
    // Arrange: only NOTIFY can start a job promptly (the fallback poll is a minute away).
    // The job's run_at is its transaction's now(), more than a second before the commit.
    migrated(&pool).await;
    let opts = WorkerOptions { poll_interval: Duration::from_secs(60), ..WorkerOptions::default() };
    let _worker = TestWorker::start::<Record>(&pool, &opts);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for n in 0..3 {
        // Act: a transaction that began more than a second before it enqueued.
        let key = format!("slow-tx-{n}");
        let latency = started_after_commit(&pool, &key, Duration::from_millis(1100), Duration::ZERO).await;

        // Assert
        assert!(latency < Duration::from_secs(1), "job {n} started {latency:?} after commit");
    }
}

#[sqlx::test(migrations = false)]
async fn a_job_is_announced_once_its_transaction_commits_however_long_it_stayed_open(pool: PgPool) {
    // Arrange: only an announcement can start a job promptly (the fallback poll is a minute
    // away); the announcer cannot see the job while its transaction is open.
    migrated(&pool).await;
    let opts = WorkerOptions { poll_interval: Duration::from_secs(60), ..WorkerOptions::default() };
    let _worker = TestWorker::start::<Record>(&pool, &opts);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for n in 0..3 {
        // Act: the transaction stays open 1.5 s after the push.
        let key = format!("held-{n}");
        let latency = started_after_commit(&pool, &key, Duration::ZERO, Duration::from_millis(1500)).await;

        // Assert
        assert!(latency < Duration::from_millis(500), "job {n} started {latency:?} after commit");
    }
}

#[sqlx::test(migrations = false)]
async fn a_job_to_run_later_starts_at_its_time_not_at_the_next_poll(pool: PgPool) {
    // Arrange: the fallback poll is a minute away.
    migrated(&pool).await;
    let opts = WorkerOptions { poll_interval: Duration::from_secs(60), ..WorkerOptions::default() };
    let _worker = TestWorker::start::<Record>(&pool, &opts);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for n in 0..3 {
        // Act: a job to run 1.5 s after its transaction began (as a debounced reply is).
        let key = format!("later-{n}");
        let mut tx = pool.begin().await.unwrap();
        let id = mujibak_jobs::enqueue_in(&mut tx, &Record { key: key.clone() }, Duration::from_millis(1500))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let started = eventually(Duration::from_secs(10), "the job to start", || async {
            runs(&pool, &key).await.first().copied()
        })
        .await;

        // Assert: at its time, never before.
        let run_at = jobs::find(&pool, &id).await.unwrap().unwrap().run_at;
        let late = (started - run_at).to_std();
        assert!(late.is_ok(), "job {n} started {started} before its run_at {run_at}");
        assert!(late.unwrap() < Duration::from_millis(300), "job {n} started {late:?} after its run_at");
    }
}

#[sqlx::test(migrations = false)]
async fn a_job_no_notify_announces_is_started_by_the_fallback_poll(pool: PgPool) {
    // Arrange: a job inserted by another process that announces nothing (a tool writing
    // the table directly), due in 2 s; the heartbeat is long, the fallback poll 300 ms.
    migrated(&pool).await;
    let opts = WorkerOptions { poll_interval: Duration::from_millis(300), ..WorkerOptions::default() };
    let _worker = TestWorker::start::<Record>(&pool, &opts);

    // Act
    let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    sqlx::query(
        "insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata)
         values ($1, $2, $3, 'Pending', 0, 3, now() + interval '2 seconds', 0, ''::hstore)",
    )
    .bind(id)
    .bind(Record::QUEUE)
    .bind(serde_json::to_vec(&Record { key: "later".into() }).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    let started = eventually(Duration::from_secs(20), "the scheduled job to start", || async {
        runs(&pool, "later").await.first().copied()
    })
    .await;

    // Assert
    let run_at = jobs::find(&pool, id).await.unwrap().unwrap().run_at;
    let late = (started - run_at).to_std();
    assert!(late.is_ok(), "started {started} before its run_at {run_at}");
    assert!(late.unwrap() < Duration::from_millis(900), "started {late:?} after its run_at");
}
