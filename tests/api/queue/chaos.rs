//! Postgres going away, as a worker sees it: connections refused for a while and every
//! open one killed. The supervised worker keeps its name and its heartbeat (no restart,
//! no rescue of the jobs it works on), runs the jobs enqueued after the outage, and an outcome it
//! could not write during the outage is written afterwards, unchanged; a job claimed for
//! it whose claim's answer the outage swallowed is put back and run.

use std::time::Duration;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use mujibak_core::db::jobs;
use mujibak_jobs::{enqueue, worker::WorkerOptions, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgPool};

use crate::helpers::{eventually, fast_options, job_context, log_run, migrated, runs, Supervised};

#[derive(Serialize, Deserialize)]
struct Note {
    key: String,
}

impl Job for Note {
    const QUEUE: &'static str = "test_note";

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        Ok(())
    }
}

/// Fails permanently 1.5 s after it starts.
#[derive(Serialize, Deserialize)]
struct DeclinedLate {
    key: String,
}

impl Job for DeclinedLate {
    const QUEUE: &'static str = "test_declined_late";
    const MAX_ATTEMPTS: u32 = 5;

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        // The test starts the outage once it sees this row; on a loaded machine the
        // outage can cut the connection before the commit's answer arrives, so the row is
        // written but the call fails. The job's outcome must not depend on that race.
        let _ = log_run(&ctx.db, &self.key).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Err(JobError::permanent(anyhow!("the card was declined")))
    }
}

async fn push<J: Job>(pool: &PgPool, job: &J) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// Refuses new connections to `pool`'s database for `secs` and kills every open one. The
/// control connection goes to another database of the same server (DATABASE_URL's).
async fn outage(pool: &PgPool, secs: u64) {
    let db = pool.connect_options().get_database().unwrap().to_owned();
    let mut control =
        sqlx::postgres::PgConnection::connect(&std::env::var("DATABASE_URL").unwrap()).await.unwrap();
    let allow = |on: bool| format!("alter database \"{}\" allow_connections {on}", db.replace('"', "\"\""));
    sqlx::query(sqlx::AssertSqlSafe(allow(false))).execute(&mut control).await.unwrap();
    let killed: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity where datname = $1) k",
    )
    .bind(&db)
    .fetch_one(&mut control)
    .await
    .unwrap();
    assert!(killed >= 1, "the worker held connections ({killed})");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    sqlx::query(sqlx::AssertSqlSafe(allow(true))).execute(&mut control).await.unwrap();
}

async fn workers_of(pool: &PgPool, queue: &str) -> Vec<(String, DateTime<Utc>)> {
    sqlx::query_as("select id, last_seen from apalis.workers where worker_type = $1 order by id")
        .bind(queue)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn jobs_keep_running_after_every_database_connection_is_killed(pool: PgPool) {
    // Arrange: a supervised worker, as `mujibak worker` runs it.
    migrated(&pool).await;
    let opts = WorkerOptions { shutdown_timeout: Duration::from_secs(2), ..fast_options() };
    let worker = Supervised::start::<Note>(&job_context(&pool), &opts);
    push(&pool, &Note { key: "before".into() }).await;
    eventually(Duration::from_secs(10), "the first job", || async {
        (runs(&pool, "before").await.len() == 1).then_some(())
    })
    .await;
    let before = workers_of(&pool, Note::QUEUE).await;
    assert_eq!(before.len(), 1);

    // Act: a three-second outage, then three new jobs.
    outage(&pool, 3).await;
    let back_at: DateTime<Utc> = sqlx::query_scalar("select now()").fetch_one(&pool).await.unwrap();
    for n in 0..3 {
        push(&pool, &Note { key: format!("after-{n}") }).await;
    }

    // Assert: the jobs run, and the same worker (no restart) heartbeats again.
    for n in 0..3 {
        let key = format!("after-{n}");
        eventually(Duration::from_secs(30), "a job after the outage", || async {
            (runs(&pool, &key).await.len() == 1).then_some(())
        })
        .await;
    }
    eventually(Duration::from_secs(5), "the worker's heartbeat to resume", || async {
        let after = workers_of(&pool, Note::QUEUE).await;
        (after.len() == 1 && after[0].0 == before[0].0 && after[0].1 > back_at).then_some(())
    })
    .await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), worker.shutdown()).await;
    assert!(stopped.is_ok(), "the worker stops on the signal");
}

#[sqlx::test(migrations = false)]
async fn an_outcome_the_outage_kept_from_being_written_is_written_afterwards_unchanged(pool: PgPool) {
    // Arrange: a job that fails permanently, 1.5 s into a 3 s outage.
    migrated(&pool).await;
    let worker = Supervised::start::<DeclinedLate>(&job_context(&pool), &fast_options());
    let id = push(&pool, &DeclinedLate { key: "declined".into() }).await;
    eventually(Duration::from_secs(10), "the job to start", || async {
        (!runs(&pool, "declined").await.is_empty()).then_some(())
    })
    .await;

    // Act
    outage(&pool, 3).await;
    let row = eventually(Duration::from_secs(20), "the outcome to be recorded", || async {
        jobs::find(&pool, &id).await.ok().flatten().filter(|j| j.status != "Running")
    })
    .await;

    // Assert: still a permanent failure of attempt 1, run once; not a retry.
    assert_eq!((row.status.as_str(), row.attempts), ("Killed", 1));
    let errors = jobs::errors(&pool, &id).await.unwrap();
    let kinds: Vec<_> = errors.iter().map(|e| (e.attempt, e.kind.as_str())).collect();
    assert_eq!(kinds, vec![(1, "permanent")]);
    assert!(errors[0].message.contains("the card was declined"));
    assert_eq!(runs(&pool, "declined").await.len(), 1);
    worker.shutdown().await;
}

/// Logs its run, then works for three seconds.
#[derive(Serialize, Deserialize)]
struct Slow {
    key: String,
}

impl Job for Slow {
    const QUEUE: &'static str = "test_slow_beat";

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        Ok(())
    }
}

#[sqlx::test(migrations = false)]
async fn a_worker_whose_heartbeats_are_not_written_never_rescues_its_own_jobs(pool: PgPool) {
    // Arrange: a job at work, then the worker's row frozen long stale, as after an outage
    // whose end the heartbeat missed but the rescue in the same beat did not.
    migrated(&pool).await;
    let worker = Supervised::start::<Slow>(&job_context(&pool), &fast_options());
    let id = push(&pool, &Slow { key: "slow".into() }).await;
    eventually(Duration::from_secs(10), "the job to start", || async {
        (!runs(&pool, "slow").await.is_empty()).then_some(())
    })
    .await;
    sqlx::raw_sql(
        "update apalis.workers set last_seen = now() - interval '1 hour' where worker_type = 'test_slow_beat';
         create function test_hold_last_seen() returns trigger language plpgsql as
           $$ begin return null; end $$;
         create trigger hold_last_seen before update on apalis.workers
           for each row when (old.worker_type = 'test_slow_beat') execute function test_hold_last_seen();",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Act
    let row = eventually(Duration::from_secs(20), "the outcome", || async {
        jobs::find(&pool, &id).await.ok().flatten().filter(|j| j.status == "Done")
    })
    .await;

    // Assert: one run, one attempt, no crash recorded.
    assert_eq!(row.attempts, 1);
    assert_eq!(runs(&pool, "slow").await.len(), 1);
    assert!(jobs::errors(&pool, &id).await.unwrap().is_empty());
    worker.shutdown().await;
}

#[sqlx::test(migrations = false)]
async fn a_claim_whose_answer_was_lost_is_put_back_and_run_by_its_live_worker(pool: PgPool) {
    // Arrange: a live worker, and a job its claim took (Running, held by it) whose answer
    // never reached it, as when Postgres shuts down between the claim's commit and its
    // reply. Nobody else would ever rescue it: its worker heartbeats.
    migrated(&pool).await;
    let worker = Supervised::start::<Note>(&job_context(&pool), &fast_options());
    let name = eventually(Duration::from_secs(10), "the worker's row", || async {
        workers_of(&pool, Note::QUEUE).await.first().map(|w| w.0.clone())
    })
    .await;
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &Note { key: "lost".into() }).await.unwrap();
    sqlx::query(
        "update apalis.jobs set status = 'Running', lock_by = $2, lock_at = now(), attempts = 1 where id = $1",
    )
    .bind(&id)
    .bind(&name)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Act
    let row = eventually(Duration::from_secs(20), "the job to run", || async {
        jobs::find(&pool, &id).await.ok().flatten().filter(|j| j.status == "Done")
    })
    .await;

    // Assert: run once, on the next attempt; the lost one is recorded as such.
    assert_eq!(runs(&pool, "lost").await.len(), 1);
    assert_eq!(row.attempts, 2);
    let errors = jobs::errors(&pool, &id).await.unwrap();
    assert_eq!(errors.iter().map(|e| (e.attempt, e.kind.as_str())).collect::<Vec<_>>(), vec![(1, "lost")]);
    assert_eq!(workers_of(&pool, Note::QUEUE).await[0].0, name, "the same worker, not a restart");
    worker.shutdown().await;
}
