//! Pruning removes finished rows older than their retention and dead ones (with their
//! error history) older than the longer dead-job retention; it keeps pending, running and
//! retrying rows whatever their age.

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

/// Records an error for job `id`, as a failed attempt would have.
async fn add_error(pool: &PgPool, id: &str) {
    sqlx::query(
        "insert into job_errors (task_id, queue, attempt, kind, message, created_at)
         values ($1, 'test_noop', 1, 'permanent', 'no', now() - interval '3 days')",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = false)]
async fn pruning_removes_old_finished_rows_and_old_dead_ones_and_keeps_everything_else(pool: PgPool) {
    // Arrange: finished rows are kept one hour, dead ones two.
    migrated(&pool).await;
    let mut ids = Vec::new();
    for _ in 0..9 {
        let mut tx = pool.begin().await.unwrap();
        ids.push(enqueue(&mut tx, &Noop {}).await.unwrap());
        tx.commit().await.unwrap();
    }
    set_state(&pool, &ids[0], "Done", 48).await; // old and finished: pruned
    set_state(&pool, &ids[1], "Done", 0).await; // finished just now: kept
    set_state(&pool, &ids[2], "Running", 48).await;
    set_state(&pool, &ids[3], "Failed", 48).await; // dead two days ago: pruned
    set_state(&pool, &ids[4], "Killed", 48).await; // dead two days ago: pruned
    set_state(&pool, &ids[5], "Failed", 1).await; // dead an hour ago: kept as evidence
    set_state(&pool, &ids[6], "Killed", 1).await; // dead an hour ago: kept as evidence
    sqlx::query("update apalis.jobs set status = 'Failed', attempts = 1, done_at = now() - interval '2 days' where id = $1")
        .bind(&ids[7])
        .execute(&pool)
        .await
        .unwrap(); // failed once and waiting for its retry: kept
    sqlx::query("update apalis.jobs set run_at = now() - interval '2 days' where id = $1")
        .bind(&ids[8])
        .execute(&pool)
        .await
        .unwrap(); // pending for a long time: kept
    for id in &ids[3..=6] {
        add_error(&pool, id).await;
    }
    let ctx = crate::helpers::job_context(&pool);

    // Act
    PruneJobs {}.run(&ctx).await.unwrap();

    // Assert
    let mut left: Vec<String> =
        jobs::list_by_queue(&pool, Noop::QUEUE).await.unwrap().into_iter().map(|j| j.id).collect();
    let mut kept: Vec<String> = [1, 2, 5, 6, 7, 8].iter().map(|&i| ids[i].clone()).collect();
    left.sort();
    kept.sort();
    assert_eq!(left, kept, "ULIDs made in one millisecond need not sort in creation order");
    for (i, expected) in [(3, 0), (4, 0), (5, 1), (6, 1)] {
        let errors = jobs::errors(&pool, &ids[i]).await.unwrap().len();
        assert_eq!(errors, expected, "error history of job {i} goes with its row");
    }
}

#[sqlx::test(migrations = false)]
async fn raw_webhook_events_done_with_are_pruned_after_the_retention_and_work_is_kept(pool: PgPool) {
    // Arrange: a tenant's events, 40 days old or fresh, in every state (retention: 30 days).
    migrated(&pool).await;
    let tenant = uuid::Uuid::new_v4();
    sqlx::query("insert into tenants (tenant_id, business_name) values ($1, 'Old Bakery')")
        .bind(tenant)
        .execute(&pool)
        .await
        .unwrap();
    let events = [
        ("old-processed", "40 days", "processed_at = now() - interval '40 days'"),
        ("old-recorded", "40 days", "processed_at = now() - interval '40 days', error = 'recorded'"),
        ("old-given-up", "40 days", "dead_at = now() - interval '39 days'"),
        ("old-unprocessed", "40 days", "attempts = 0"),
        ("new-processed", "1 day", "processed_at = now() - interval '1 day'"),
    ];
    for (key, age, state) in events {
        sqlx::query(
            "insert into inbound_events (tenant_id, event_id, connection_id, dedupe_key, kind, payload, received_at)
             values ($1, gen_random_uuid(), gen_random_uuid(), $2, 'message',
                     '{\"raw\": {\"text\": {\"body\": \"my address is 12 Olaya St\"}, \"from\": \"966500000001\"}}',
                     now() - $3::interval)",
        )
        .bind(tenant)
        .bind(key)
        .bind(age)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("update inbound_events set {state} where dedupe_key = $1")))
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
    }
    let ctx = crate::helpers::job_context(&pool);
    assert_eq!(ctx.inbound_retention, std::time::Duration::from_secs(30 * 24 * 3600));

    // Act
    PruneJobs {}.run(&ctx).await.unwrap();

    // Assert: what repeats the customer's words is gone once done with; work stays.
    let left: Vec<String> = sqlx::query_scalar("select dedupe_key from inbound_events order by dedupe_key")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, vec!["new-processed".to_owned(), "old-unprocessed".to_owned()]);
}

#[sqlx::test(migrations = false)]
async fn client_addresses_kept_for_rate_limits_are_gone_before_they_are_24_hours_old(pool: PgPool) {
    // Arrange: a client's wrong passwords leave rate-limit windows naming its address; one
    // client's windows began 23 h 15 min ago, another's now. The prune runs hourly
    // (`jobs::worker`), so a window must go at the first run after 23 hours.
    migrated(&pool).await;
    let addr = crate::helpers::TestApp::new(pool.clone()).vars(&[("TRUST_PROXY", "true")]).spawn().await;
    for client in ["198.51.100.23", "198.51.100.99"] {
        let b = crate::web::Browser::with_headers(addr, &[("x-forwarded-for", client)]);
        b.get("/signin").await;
        b.post("/signin", &[("email", "nobody@example.sa"), ("password", "wrong-password-1")]).await;
    }
    let kept = |ip: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from rate_limits where bucket like '%' || $1 || '%'",
            )
            .bind(ip)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(kept("198.51.100.23").await > 0, "the client's address is in a bucket");
    sqlx::query(
        "update rate_limits set window_start = now() - interval '23 hours 15 minutes'
          where bucket like '%198.51.100.23%'",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Act
    mujibak_jobs::prune_sessions::PruneSessions {}.run(&crate::helpers::job_context(&pool)).await.unwrap();

    // Assert
    assert_eq!(kept("198.51.100.23").await, 0, "a window 23 h old is pruned before it turns 24 h");
    assert!(kept("198.51.100.99").await > 0, "a current window is kept");
}
