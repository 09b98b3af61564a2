//! Durable cron: concurrent schedulers enqueue each tick once; after downtime, start-up
//! enqueues each missed tick once; the production schedules feed every recurring job to
//! a queue the registry consumes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use mujibak_core::db::jobs;
use mujibak_jobs::{
    cron::{Schedule, Scheduler},
    worker, Job, JobContext, JobError,
};
use mujibak_queue::db::cron_ticks;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::migrated;

#[derive(Serialize, Deserialize)]
struct Tick {
    at: DateTime<Utc>,
}

impl Job for Tick {
    const QUEUE: &'static str = "test_tick";

    async fn run(self, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

fn every_minute() -> Schedule {
    worker::schedule("every_minute", "0 * * * * *", |at| Tick { at }).unwrap().catch_up(100)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

async fn payload_ticks(pool: &PgPool) -> Vec<DateTime<Utc>> {
    let payloads: Vec<Vec<u8>> =
        sqlx::query_scalar("select job from apalis.jobs where job_type = $1 order by run_at, id")
            .bind(Tick::QUEUE)
            .fetch_all(pool)
            .await
            .unwrap();
    let mut ticks: Vec<_> = payloads.iter().map(|p| serde_json::from_slice::<Tick>(p).unwrap().at).collect();
    ticks.sort();
    ticks
}

#[sqlx::test(migrations = false)]
async fn two_schedulers_evaluating_the_same_schedule_at_once_enqueue_one_job_per_tick(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let a = Scheduler::new(pool.clone(), vec![every_minute()], t0());
    let b = Scheduler::new(pool.clone(), vec![every_minute()], t0());

    // Act: several rounds, both schedulers racing each time.
    let mut total = 0;
    for round in 1..=4 {
        let now = t0() + Duration::seconds(150 * round);
        let (x, y) = tokio::join!(a.enqueue_due(now), b.enqueue_due(now));
        total += x.unwrap() + y.unwrap();
    }

    // Assert: ticks 09:01 … 09:10, each exactly once.
    let expected: Vec<_> = (1..=10).map(|m| t0() + Duration::minutes(m)).collect();
    assert_eq!(total, 10);
    assert_eq!(cron_ticks::list(&pool, "every_minute").await.unwrap(), expected);
    assert_eq!(jobs::list_by_queue(&pool, Tick::QUEUE).await.unwrap().len(), 10);
    assert_eq!(payload_ticks(&pool).await, expected);
}

#[sqlx::test(migrations = false)]
async fn start_up_after_downtime_enqueues_each_missed_tick_once(pool: PgPool) {
    // Arrange: a scheduler enqueued 09:01, then the process was down for three ticks.
    migrated(&pool).await;
    let before = Scheduler::new(pool.clone(), vec![every_minute()], t0());
    assert_eq!(before.enqueue_due(t0() + Duration::seconds(70)).await.unwrap(), 1);
    let restarted_at = t0() + Duration::seconds(4 * 60 + 30);

    // Act: a new process starts at 09:04:30 and evaluates twice.
    let after = Scheduler::new(pool.clone(), vec![every_minute()], restarted_at);
    let caught_up = after.enqueue_due(restarted_at).await.unwrap();
    let again = after.enqueue_due(restarted_at + Duration::seconds(5)).await.unwrap();

    // Assert
    assert_eq!((caught_up, again), (3, 0));
    let expected: Vec<_> = (1..=4).map(|m| t0() + Duration::minutes(m)).collect();
    assert_eq!(cron_ticks::list(&pool, "every_minute").await.unwrap(), expected);
    assert_eq!(payload_ticks(&pool).await, expected);
}

#[sqlx::test(migrations = false)]
async fn the_production_schedules_enqueue_every_recurring_job_each_day_and_the_registry_runs_them(
    pool: PgPool,
) {
    // Arrange: the production schedules (default configuration) and the real registry.
    let pool = crate::helpers::sized_pool(&pool, 20).await;
    let config = mujibak_core::Config::from_lookup(|n| (n == "DATABASE_URL").then(|| "postgres://x".into()))
        .expect("defaults");
    let scheduler = Scheduler::new(pool.clone(), worker::schedules(&config.queue).unwrap(), t0());

    // Act: 25 hours of ticks.
    for hour in 1..=25 {
        scheduler.enqueue_due(t0() + Duration::hours(hour)).await.unwrap();
    }
    let workers =
        mujibak_jobs::worker::registry(&crate::helpers::job_context(&pool), &crate::helpers::fast_options())
            .expect("the pool fits the registry");
    let running = tokio::spawn(workers.run());

    // Assert: every recurring job was enqueued at least daily, hourly ones hourly …
    let enqueued: Vec<(String, i64)> =
        sqlx::query_as("select job_type, count(*) from apalis.jobs group by job_type order by job_type")
            .fetch_all(&pool)
            .await
            .unwrap();
    let count = |queue: &str| enqueued.iter().find(|(q, _)| q == queue).map_or(0, |(_, n)| *n);
    assert!(count("prune_sessions") >= 24, "ended sessions are pruned hourly: {enqueued:?}");
    assert!(count("prune_jobs") >= 24, "finished jobs are pruned hourly: {enqueued:?}");
    assert!(count("export_data") >= 24, "exports past their 7 days are deleted hourly: {enqueued:?}");
    // … and the registry consumes every queue the schedules feed: each job finishes.
    let registered: Vec<&str> = worker::QUEUES.iter().map(|q| q.name).collect();
    for (queue, _) in &enqueued {
        assert!(registered.contains(&queue.as_str()), "{queue} is scheduled but no worker consumes it");
    }
    crate::helpers::eventually(std::time::Duration::from_secs(30), "every scheduled job to run", || async {
        let left: i64 = sqlx::query_scalar("select count(*) from apalis.jobs where status <> 'Done'")
            .fetch_one(&pool)
            .await
            .unwrap();
        (left == 0).then_some(())
    })
    .await;
    running.abort();
}
