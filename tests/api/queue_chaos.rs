//! Postgres restarting, as a worker sees it: connections refused for a while and every open
//! one killed. The supervised worker (restarted after backend errors, with a delay; the
//! shared listener reconnects) runs the jobs enqueued after the outage.

use std::time::Duration;

use apalis::prelude::Monitor;
use chrono::Utc;
use mujibak_jobs::{
    cron::Scheduler,
    enqueue,
    worker::{self, WorkerOptions},
    Job, JobContext, JobError,
};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgPool};

use crate::helpers::{eventually, fast_options, job_context, log_run, migrated, runs};

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

async fn push(pool: &PgPool, key: &str) {
    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, &Note { key: key.into() }).await.unwrap();
    tx.commit().await.unwrap();
}

#[sqlx::test(migrations = false)]
async fn jobs_keep_running_after_every_database_connection_is_killed(pool: PgPool) {
    // Arrange: a supervised worker, as `mujibak worker` runs it.
    migrated(&pool).await;
    let ctx = job_context(&pool);
    let opts = WorkerOptions { shutdown_timeout: Duration::from_secs(2), ..fast_options() };
    let monitor = worker::register::<Note>(Monitor::new(), &ctx, &opts);
    let scheduler = Scheduler::new(pool.clone(), Vec::new(), Utc::now());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = futures::FutureExt::shared(futures::FutureExt::map(stop_rx, |_| ()));
    let supervisor = tokio::spawn(async move { worker::supervise(monitor, scheduler, &opts, stop).await });
    push(&pool, "before").await;
    eventually(Duration::from_secs(10), "the first job", || async {
        (runs(&pool, "before").await.len() == 1).then_some(())
    })
    .await;

    // Act: an outage. New connections are refused for three seconds (heartbeats and
    // fetches fail, workers stop on backend errors) and every open one is killed.
    // The control connection is to another database of the same server (DATABASE_URL's).
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
    assert!(killed >= 2, "the worker held connections ({killed})");
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqlx::query(sqlx::AssertSqlSafe(allow(true))).execute(&mut control).await.unwrap();
    for n in 0..3 {
        push(&pool, &format!("after-{n}")).await;
    }

    // Assert
    for n in 0..3 {
        let key = format!("after-{n}");
        eventually(Duration::from_secs(30), "a job after the outage", || async {
            (runs(&pool, &key).await.len() == 1).then_some(())
        })
        .await;
    }
    let _ = stop_tx.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(10), supervisor).await;
    assert!(stopped.is_ok(), "the worker stops on the signal");
}
