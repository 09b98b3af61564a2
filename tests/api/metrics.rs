//! `/metrics`: the documented series after a message flows through, provider failures by
//! outcome, sums over processes, the bearer token, the indexes the queue gauges use, and
//! no tenant data in any label. The page is parsed (`exposition`), not substring-matched.

mod exposition;
mod flow;

use std::{net::SocketAddr, time::Duration};

use mujibak_core::{
    db::queue_stats::{DEPTH_SQL, OLDEST_SQL},
    metrics::{flush::Flusher, Registry, JOBS},
};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{eventually, migrated, spawn_app_with};
use exposition::Page;

pub const METRICS_TOKEN: &str = "metrics-test-token-0123456789";

/// GETs `/metrics` with `bearer` (if any).
pub async fn scrape(addr: SocketAddr, bearer: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().get(format!("http://{addr}/metrics"));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Scrapes until `ready` holds for the parsed page; returns it.
pub async fn scrape_until(addr: SocketAddr, what: &str, ready: impl Fn(&Page) -> bool) -> Page {
    eventually(Duration::from_secs(20), what, || async {
        let (status, body) = scrape(addr, Some(METRICS_TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = Page::parse(&body);
        ready(&page).then_some(page)
    })
    .await
}

#[sqlx::test(migrations = false)]
async fn metrics_answer_404_without_a_configured_token_and_401_without_the_right_bearer(pool: PgPool) {
    migrated(&pool).await;
    let closed = spawn_app_with(pool.clone(), &[]).await;
    let open = spawn_app_with(pool, &[("METRICS_TOKEN", METRICS_TOKEN)]).await;

    assert_eq!(scrape(closed, Some(METRICS_TOKEN)).await.0, StatusCode::NOT_FOUND);
    let (missing, wrong, near) = (
        scrape(open, None).await.0,
        scrape(open, Some("not-the-metrics-token-at-all")).await.0,
        scrape(open, Some(&METRICS_TOKEN[..METRICS_TOKEN.len() - 1])).await.0,
    );
    assert_eq!([missing, wrong, near], [StatusCode::UNAUTHORIZED; 3]);
    let (status, body) = scrape(open, Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(Page::parse(&body).kind("mujibak_queue_depth") == Some("gauge"), "{body}");
}

#[sqlx::test(migrations = false)]
async fn counts_flushed_by_two_processes_add_up_and_never_go_down_when_one_goes_away(pool: PgPool) {
    // Arrange: two processes' registries, each flushed as its own process.
    migrated(&pool).await;
    let addr = spawn_app_with(pool.clone(), &[("METRICS_TOKEN", METRICS_TOKEN)]).await;
    let (a, b) = (Registry::default(), Registry::default());
    let (fa, fb) = (Flusher::new("worker:test:1:1"), Flusher::new("worker:test:2:2"));
    for _ in 0..3 {
        a.inc(&JOBS, &["test_queue", "done"]);
    }
    b.inc(&JOBS, &["test_queue", "done"]);
    b.inc(&JOBS, &["test_queue", "dead"]);

    // Act
    fa.flush(&a, &pool).await.unwrap();
    fb.flush(&b, &pool).await.unwrap();
    fb.flush(&b, &pool).await.unwrap(); // nothing new: adds nothing

    // Assert: summed over both.
    let done = |p: &Page| p.value("mujibak_jobs_total", &[("queue", "test_queue"), ("outcome", "done")]);
    let page = Page::parse(&scrape(addr, Some(METRICS_TOKEN)).await.1);
    assert_eq!(done(&page), Some(4.0));
    assert_eq!(page.value("mujibak_jobs_total", &[("queue", "test_queue"), ("outcome", "dead")]), Some(1.0));

    // Act: process A is gone long enough for its rows to be folded; B counts on.
    sqlx::query(
        "update metric_samples set seen_at = now() - interval '1 hour' where process = 'worker:test:1:1'",
    )
    .execute(&pool)
    .await
    .unwrap();
    b.inc(&JOBS, &["test_queue", "done"]);
    fb.flush(&b, &pool).await.unwrap();

    // Assert: the sum kept A's counts (folded into the retired row) and added B's.
    let page = Page::parse(&scrape(addr, Some(METRICS_TOKEN)).await.1);
    assert_eq!(done(&page), Some(5.0));
    let left: i64 =
        sqlx::query_scalar("select count(*) from metric_samples where process = 'worker:test:1:1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 0, "A's rows were folded");
}

#[sqlx::test(migrations = false)]
async fn the_queue_gauges_read_through_indexes(pool: PgPool) {
    migrated(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    // A small table makes a sequential scan cheapest; forbid it to see that an index serves.
    sqlx::query("set enable_seqscan = off").execute(&mut *conn).await.unwrap();
    for sql in [DEPTH_SQL, OLDEST_SQL] {
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("explain {sql}")))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("Seq Scan on jobs"), "{plan}");
        assert!(plan.contains("Index"), "{plan}");
    }
}
