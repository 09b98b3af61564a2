//! Outages that are not a Postgres restart (a partition, a pooler restart, a failover to a
//! standby that started long ago), made with a TCP proxy between the workers and Postgres
//! that cuts or freezes their connections. Workers cut off together and thawed together take none of each other's
//! jobs (a worker rescues others only after its own heartbeat has run unbroken for the
//! orphan window). A worker cut off alone loses its lease: another takes its job over, and
//! at the thaw the cut-off worker stops at its next fence instead of acting on what it
//! read before the cut.

use std::{
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use mujibak_core::db::jobs;
use mujibak_devtools::harness::proxy::Proxy;
use mujibak_jobs::{enqueue, fence, worker::WorkerOptions, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::helpers::{
    database_url, eventually, fast_options, job_context, log_run, runs, sized_pool, Supervised,
};

/// Outside effects made, by job key (what an email or a WhatsApp send would be).
static EFFECTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn effects(key: &str) -> usize {
    EFFECTS.lock().unwrap().iter().filter(|k| *k == key).count()
}

/// Logs its run, waits `secs` holding no connection, then (past its fence) makes its
/// outside effect.
#[derive(Serialize, Deserialize)]
struct Napper {
    key: String,
    secs: u64,
}

impl Job for Napper {
    const QUEUE: &'static str = "test_partition";
    const CONCURRENCY: usize = 1;
    const TIMEOUT: Duration = Duration::from_secs(120);

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        log_run(&ctx.db, &self.key).await?;
        tokio::time::sleep(Duration::from_secs(self.secs)).await;
        fence().await?;
        EFFECTS.lock().unwrap().push(self.key);
        Ok(())
    }
}

async fn push(pool: &PgPool, key: &str, secs: u64) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &Napper { key: key.into(), secs }).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// A proxy in front of the test's Postgres, and a pool of `size` through it.
async fn behind_proxy(pool: &PgPool, size: u32) -> (Proxy, PgPool) {
    let url = database_url(pool);
    let parsed = url::Url::parse(&url).unwrap();
    let host = parsed.host_str().filter(|h| !h.is_empty()).unwrap_or("127.0.0.1");
    let upstream: SocketAddr = tokio::net::lookup_host((host, parsed.port().unwrap_or(5432)))
        .await
        .unwrap()
        .next()
        .expect("Postgres listens on TCP");
    let proxy = Proxy::start(upstream).await.unwrap();
    let through =
        PgPoolOptions::new().max_connections(size).connect(&proxy.postgres_url(&url).unwrap()).await.unwrap();
    (proxy, through)
}

async fn crashed(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from job_errors where kind = 'crashed'")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn workers_cut_off_together_take_none_of_each_others_jobs_at_the_thaw(pool: PgPool) {
    // Arrange: two workers, each behind a proxy of its own (1 s heartbeats, dead after
    // 6 s missed, as production's 5 s beats and 6 missed: the worker that gets through a
    // beat after the other has the rest of the window to reconnect. With 2 s, and then
    // with 4 s, a CI run loaded by the other tests now and then had the second worker's
    // first beat land after the first worker's rescue), each running one 12 s job.
    let pool = sized_pool(&pool, 6).await;
    let (one_proxy, one_pool) = behind_proxy(&pool, 5).await;
    let (two_proxy, two_pool) = behind_proxy(&pool, 5).await;
    let ids = [push(&pool, "first", 12).await, push(&pool, "second", 12).await];
    let opts = WorkerOptions { missed_heartbeats: 6, ..fast_options() };
    let _one = Supervised::start::<Napper>(&job_context(&one_pool), &opts);
    let _two = Supervised::start::<Napper>(&job_context(&two_pool), &opts);
    for key in ["first", "second"] {
        eventually(Duration::from_secs(10), "both jobs running", || async {
            (!runs(&pool, key).await.is_empty()).then_some(())
        })
        .await;
    }

    // Act: every connection of both workers is cut and new ones refused for longer than
    // the orphan window (a pooler restart; each sees the other's heartbeat stale), Postgres
    // staying up; then they get through again, one worker a second before the other.
    one_proxy.cut();
    two_proxy.cut();
    tokio::time::sleep(Duration::from_secs(8)).await;
    one_proxy.restore();
    tokio::time::sleep(Duration::from_secs(1)).await;
    two_proxy.restore();

    // Assert: each job ran once and finished; nobody took anybody's job.
    for id in &ids {
        eventually(Duration::from_secs(30), "both jobs done", || async {
            jobs::find(&pool, id).await.unwrap().filter(|j| j.status == "Done")
        })
        .await;
    }
    assert_eq!((runs(&pool, "first").await.len(), runs(&pool, "second").await.len()), (1, 1));
    assert_eq!((effects("first"), effects("second")), (1, 1));
    assert_eq!(crashed(&pool).await, 0, "a live worker's job was rescued after the outage");
}

#[sqlx::test(migrations = false)]
async fn a_worker_cut_off_alone_is_taken_over_and_never_acts_on_what_it_read_before(pool: PgPool) {
    // Arrange: worker A, behind the proxy, runs a job that will act after 6 s: long after
    // A's lease is lost (at most 1 s after the cut below), even when a loaded machine
    // notices the job running seconds late (with 3 s, a cut made 2 s late let A act
    // within its lease, and B then ran the job again).
    let pool = sized_pool(&pool, 6).await;
    let (proxy, through) = behind_proxy(&pool, 5).await;
    let id = push(&pool, "once", 6).await;
    let _a = Supervised::start::<Napper>(&job_context(&through), &fast_options());
    eventually(Duration::from_secs(10), "A running the job", || async {
        (!runs(&pool, "once").await.is_empty()).then_some(())
    })
    .await;

    // Act: A is cut off (Postgres and every other worker fine); worker B starts.
    proxy.freeze();
    let cut = Instant::now();
    let _b = Supervised::start::<Napper>(&job_context(&pool), &fast_options());

    // Assert: B takes the job over once A has been silent for the window, and finishes it.
    eventually(Duration::from_secs(30), "B to finish the job", || async {
        jobs::find(&pool, &id).await.unwrap().filter(|j| j.status == "Done")
    })
    .await;
    assert_eq!(runs(&pool, "once").await.len(), 2);
    assert_eq!(crashed(&pool).await, 1);

    // Act: A's network comes back (its job woke up long ago and waits at its fence).
    assert!(cut.elapsed() > Duration::from_secs(3));
    proxy.restore();
    tokio::time::sleep(Duration::from_secs(4)).await;

    // Assert: A did not act; the job is done once.
    assert_eq!(effects("once"), 1, "the cut-off worker acted on a job another worker took over");
    assert_eq!(jobs::find(&pool, &id).await.unwrap().unwrap().status, "Done");
}
