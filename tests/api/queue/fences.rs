//! The runtime's fences: an outcome is written only onto the attempt it belongs to; a
//! worker whose row was pruned keeps its fresh claims; a claimed job whose id does not
//! parse is recorded dead, not left running; a lock held on one job's row stalls no other
//! outcome (the locked one is written once the lock goes); at shutdown, kept outcomes are
//! written before unfinished jobs are handed back, and jobs claimed but never started are
//! handed back without spending an attempt.

use std::time::Duration;

use mujibak_core::db::jobs;
use mujibak_jobs::{enqueue, Job, JobContext, JobError};
use mujibak_queue::db::{
    queue::{self, Outcome, Settlement},
    rescue,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{
    eventually, fast_options, job_context, log_run, migrated, runs, sized_pool, Supervised,
};

async fn pending(pool: &PgPool, q: &str, id: &str) {
    sqlx::query(
        "insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata)
         values ($1, $2, '\\x7b7d', 'Pending', 0, 5, now() - interval '1 minute', 0, hstore('tenant', 'a'))",
    )
    .bind(id)
    .bind(q)
    .execute(pool)
    .await
    .unwrap();
}

async fn row(pool: &PgPool, id: &str) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, lock_by from apalis.jobs where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn an_outcome_is_written_only_onto_the_attempt_it_belongs_to(pool: PgPool) {
    // Arrange: attempt 1 is claimed and retried at once; its answer was lost, so the
    // worker keeps the retry to write again; meanwhile it claims the job again (attempt 2).
    migrated(&pool).await;
    pending(&pool, "test_fence", "01F1").await;
    queue::register_worker(&pool, "w1", "test_fence").await.unwrap();
    let first = queue::claim(&pool, "test_fence", "w1", None, 1).await.unwrap();
    assert_eq!(first[0].attempts, 1);
    let retry = Settlement {
        task_id: "01F1".into(),
        queue: "test_fence".into(),
        worker: "w1".into(),
        attempt: 1,
        outcome: Outcome::Retry { delay: Duration::ZERO, kind: "transient".into(), message: "x".into() },
    };
    assert!(queue::settle(&pool, &retry).await.unwrap().applied);
    let second = queue::claim(&pool, "test_fence", "w1", None, 1).await.unwrap();
    assert_eq!(second[0].attempts, 2);

    // Act: the next beat writes the kept retry of attempt 1 again, and a Done of attempt 1.
    let again = queue::settle(&pool, &retry).await.unwrap();
    let done = queue::settle_done(&pool, &[("01F1".into(), "w1".into(), 1)]).await.unwrap();

    // Assert: attempt 2 is untouched.
    assert!(!again.applied && done.applied.is_empty() && done.busy.is_empty());
    assert_eq!(row(&pool, "01F1").await, ("Running".into(), 2, Some("w1".into())));
}

#[sqlx::test(migrations = false)]
async fn a_worker_whose_row_was_pruned_keeps_its_fresh_claims(pool: PgPool) {
    // Arrange: w1's row is gone (pruned while it was stalled) and it claims before its
    // next beat registers it again.
    migrated(&pool).await;
    pending(&pool, "test_fence", "01P1").await;
    queue::register_worker(&pool, "w1", "test_fence").await.unwrap();
    sqlx::query("delete from apalis.workers where id = 'w1'").execute(&pool).await.unwrap();
    queue::claim(&pool, "test_fence", "w1", None, 1).await.unwrap();
    let uptime: f64 =
        sqlx::query_scalar("select extract(epoch from now() - pg_postmaster_start_time())::float8")
            .fetch_one(&pool)
            .await
            .unwrap();
    let window = Duration::from_secs_f64((uptime - 1.0).clamp(0.5, 5.0));

    // Act: another worker looks for orphans.
    let rescued = rescue::rescue_orphans(&pool, "test_fence", window, "w2").await.unwrap();

    // Assert: a claim younger than the orphan window is not an orphan.
    assert_eq!(rescued, 0);
    assert_eq!(row(&pool, "01P1").await.0, "Running");

    // Act + Assert: once it is older than the window (the worker really is gone), it is.
    sqlx::query("update apalis.jobs set lock_at = now() - interval '1 hour'").execute(&pool).await.unwrap();
    assert_eq!(rescue::rescue_orphans(&pool, "test_fence", window, "w2").await.unwrap(), 1);
}

/// Logs its run, waits `ms`, ends.
#[derive(Serialize, Deserialize)]
struct Fenced {
    key: String,
    ms: u64,
}

impl Job for Fenced {
    const QUEUE: &'static str = "test_fenced";
    const CONCURRENCY: usize = 3;
    const TIMEOUT: Duration = Duration::from_secs(120);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        Ok(())
    }
}

async fn push(pool: &PgPool, key: &str, ms: u64) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &Fenced { key: key.into(), ms }).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn status(pool: &PgPool, id: &str) -> String {
    jobs::find(pool, id).await.unwrap().map(|j| j.status).unwrap_or_default()
}

#[sqlx::test(migrations = false)]
async fn a_claimed_job_whose_id_does_not_parse_is_recorded_dead(pool: PgPool) {
    // Arrange: a row whose id is not a ULID, and a worker of its queue.
    migrated(&pool).await;
    pending(&pool, Fenced::QUEUE, "not-a-ulid").await;
    sqlx::query("update apalis.jobs set job = convert_to('{\"key\":\"bad\",\"ms\":0}', 'UTF8')")
        .execute(&pool)
        .await
        .unwrap();
    let ctx = job_context(&pool);
    let _worker = Supervised::start::<Fenced>(&ctx, &fast_options());

    // Assert: dead with the reason, not left running.
    eventually(Duration::from_secs(10), "the job recorded dead", || async {
        (status(&pool, "not-a-ulid").await == "Killed").then_some(())
    })
    .await;
    let errors = jobs::errors(&pool, "not-a-ulid").await.unwrap();
    assert!(errors.iter().any(|e| e.kind == "bad_id"), "{errors:?}");
}

#[sqlx::test(migrations = false)]
async fn a_lock_held_on_one_running_jobs_row_stalls_no_other_outcome(pool: PgPool) {
    // Arrange: a job running; another connection locks its row and does not commit.
    let pool = sized_pool(&pool, 10).await;
    let ctx = job_context(&pool);
    let _worker = Supervised::start::<Fenced>(&ctx, &fast_options());
    let held = push(&pool, "held", 1_500).await;
    eventually(Duration::from_secs(10), "the first job to start", || async {
        (!runs(&pool, "held").await.is_empty()).then_some(())
    })
    .await;
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("select 1 from apalis.jobs where id = $1 for update")
        .bind(&held)
        .execute(&mut *locker)
        .await
        .unwrap();

    // Act: a second job is pushed after it (the first ends while its row is locked).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let next = push(&pool, "next", 0).await;

    // Assert: the second is done within 5 s; the first is written once the lock goes.
    eventually(Duration::from_secs(5), "the second job done", || async {
        (status(&pool, &next).await == "Done").then_some(())
    })
    .await;
    locker.rollback().await.unwrap();
    eventually(Duration::from_secs(15), "the first job done once the lock went", || async {
        (status(&pool, &held).await == "Done").then_some(())
    })
    .await;
    assert_eq!(runs(&pool, "held").await.len(), 1);
}

#[sqlx::test(migrations = false)]
async fn at_shutdown_kept_outcomes_are_written_before_unfinished_jobs_are_handed_back(pool: PgPool) {
    // Arrange: a job finishes while its Done cannot be written (kept for the next beat);
    // another is still running.
    let pool = sized_pool(&pool, 10).await;
    let ctx = job_context(&pool);
    let opts = mujibak_jobs::worker::WorkerOptions {
        shutdown_timeout: Duration::from_secs(2),
        heartbeat: Duration::from_secs(30),
        ..fast_options()
    };
    let worker = Supervised::start::<Fenced>(&ctx, &opts);
    let finished = push(&pool, "finished", 1_000).await;
    let long = push(&pool, "long", 60_000).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create function test_refuse_done() returns trigger language plpgsql as
           $$ begin raise exception 'the database went away'; end $$;
         create trigger refuse_done before update on apalis.jobs
           for each row when (old.id = '{finished}' and new.status = 'Done') execute function test_refuse_done();"
    )))
    .execute(&pool)
    .await
    .unwrap();
    eventually(Duration::from_secs(10), "both jobs running", || async {
        (runs(&pool, "finished").await.len() + runs(&pool, "long").await.len() == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(status(&pool, &finished).await, "Running", "its Done is kept, not written");

    // Act: SIGTERM; the database takes writes again during the grace period.
    let stopping = tokio::spawn(worker.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("drop trigger refuse_done on apalis.jobs").execute(&pool).await.unwrap();
    stopping.await.unwrap();

    // Assert: the finished job is Done (not handed back to run again); the long one is
    // handed back with its attempt counted.
    assert_eq!(status(&pool, &finished).await, "Done");
    assert_eq!(row(&pool, &long).await, ("Pending".into(), 1, None));
}

#[sqlx::test(migrations = false)]
async fn a_job_claimed_but_never_started_is_handed_back_without_spending_an_attempt(pool: PgPool) {
    // Arrange: w1 claimed two jobs; one started, the other was still waiting for its slot.
    migrated(&pool).await;
    pending(&pool, "test_fence", "01S1").await;
    pending(&pool, "test_fence", "01S2").await;
    queue::register_worker(&pool, "w1", "test_fence").await.unwrap();
    queue::claim(&pool, "test_fence", "w1", None, 2).await.unwrap();

    // Act: the shutdown hands both back, naming the one that never started.
    rescue::hand_back(&pool, &["w1".to_owned()], &["01S2".to_owned()]).await.unwrap();

    // Assert: the started one spent its attempt (recorded interrupted); the other did not.
    assert_eq!(row(&pool, "01S1").await, ("Pending".into(), 1, None));
    assert_eq!(row(&pool, "01S2").await, ("Pending".into(), 0, None));
    assert_eq!(jobs::errors(&pool, "01S1").await.unwrap().len(), 1);
    assert!(jobs::errors(&pool, "01S2").await.unwrap().is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_job_waiting_on_a_held_lock_fails_with_a_clear_error_and_is_retried(pool: PgPool) {
    // Arrange: a worker on a pool as `mujibak worker` opens it (locks waited for 1 s at
    // most here); another connection holds a lock the job's first write needs.
    migrated(&pool).await;
    let config = mujibak_core::config::DatabaseConfig {
        url: crate::helpers::database_url(&pool).into(),
        max_connections: 8,
        timeouts: mujibak_core::config::DatabaseTimeouts {
            statement: Duration::from_secs(30),
            lock: Duration::from_secs(1),
            idle_in_transaction: Duration::from_secs(60),
        },
    };
    let bounded = mujibak_core::db::connect(&config).await.unwrap();
    let _worker = Supervised::start::<Fenced>(&job_context(&bounded), &fast_options());
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("lock table test_runs in exclusive mode").execute(&mut *locker).await.unwrap();

    // Act
    let id = push(&pool, "locked", 0).await;

    // Assert: the attempt fails with Postgres' lock timeout, recorded, and is retried.
    eventually(Duration::from_secs(10), "an attempt to fail on the lock", || async {
        let errors = jobs::errors(&pool, &id).await.unwrap();
        errors.iter().any(|e| e.message.contains("lock timeout")).then_some(())
    })
    .await;
    locker.rollback().await.unwrap();
    eventually(Duration::from_secs(30), "the retry to succeed", || async {
        (status(&pool, &id).await == "Done").then_some(())
    })
    .await;
}
