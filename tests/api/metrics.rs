//! `/metrics`: the documented series after a message flows through, provider failures by
//! outcome, sums over processes, the staff token it needs, the indexes the queue gauges use, and
//! no tenant data in any label. The page is parsed (`exposition`), not substring-matched.

mod exposition;
mod flow;

use std::{net::SocketAddr, time::Duration};

use mujibak_core::{
    db::ops_queues::{COUNTS_SQL, OLDEST_SQL},
    metrics::{flush::Flusher, Registry, JOBS},
};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{eventually, migrated, TestApp};
use exposition::Page;

/// A staff token with the scope `/metrics` needs (ops:read), as a scraper would hold.
pub async fn scraper(pool: &PgPool) -> String {
    crate::ops::token(pool, "prometheus", "ops:read").await
}

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
pub async fn scrape_until(addr: SocketAddr, token: &str, what: &str, ready: impl Fn(&Page) -> bool) -> Page {
    eventually(Duration::from_secs(20), what, || async {
        let (status, body) = scrape(addr, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = Page::parse(&body);
        ready(&page).then_some(page)
    })
    .await
}

#[sqlx::test(migrations = false)]
async fn metrics_need_a_live_staff_token_with_ops_read(pool: PgPool) {
    migrated(&pool).await;
    let addr = TestApp::new(pool.clone()).spawn().await;
    let token = scraper(&pool).await;
    let writer = crate::ops::token(&pool, "writer", "ops:write,support:read").await;
    let revoked = crate::ops::token(&pool, "gone", "ops:read").await;
    let id = sqlx::query_scalar("select token_id from staff_tokens where name = 'gone'")
        .fetch_one(&pool)
        .await
        .unwrap();
    mujibak_core::ops::tokens::revoke(&pool, id).await.unwrap();

    let (missing, wrong, near, dead) = (
        scrape(addr, None).await.0,
        scrape(addr, Some("not-the-metrics-token-at-all")).await.0,
        scrape(addr, Some(&token[..token.len() - 1])).await.0,
        scrape(addr, Some(&revoked)).await.0,
    );
    assert_eq!([missing, wrong, near, dead], [StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(scrape(addr, Some(&writer)).await.0, StatusCode::FORBIDDEN, "ops:read is needed");
    let (status, body) = scrape(addr, Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(Page::parse(&body).kind("mujibak_queue_depth") == Some("gauge"), "{body}");
}

#[sqlx::test(migrations = false)]
async fn counts_flushed_by_two_processes_add_up_and_never_go_down_when_one_goes_away(pool: PgPool) {
    // Arrange: two processes' registries, each flushed as its own process.
    migrated(&pool).await;
    let addr = TestApp::new(pool.clone()).spawn().await;
    let token = scraper(&pool).await;
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
    let page = Page::parse(&scrape(addr, Some(&token)).await.1);
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
    let page = Page::parse(&scrape(addr, Some(&token)).await.1);
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
    for sql in [COUNTS_SQL, OLDEST_SQL] {
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("explain {sql}")))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("Seq Scan on jobs"), "{plan}");
        assert!(plan.contains("Index"), "{plan}");
    }
}
