//! Moyasar's invoice callback carries no secret, so it cannot be made to cost anything: a
//! flood of callbacks for one open invoice queues one refetch of it (no more while one is
//! pending), and one client's flood is refused past its limit.

use serde_json::json;
use sqlx::PgPool;

use super::World;

const REFETCHES: &str =
    "select count(*) from apalis.jobs where job_type = 'billing' and convert_from(job, 'UTF8') like '%Refetch%'";

#[sqlx::test(migrations = false)]
async fn three_hundred_callbacks_for_an_open_invoice_queue_one_refetch(pool: PgPool) {
    // Arrange: an open invoice with its Moyasar link; no billing worker yet.
    let w = World::start(pool).await;
    let (tenant, invoice) = w.invoiced("Flood").await;
    let mid = w.open(tenant, invoice).await;

    // Act: 300 callbacks naming it, 50 at a time.
    let body = json!({ "id": mid, "status": "paid" });
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.extend(
            futures::future::join_all((0..50).map(|_| w.post("/webhooks/moyasar/invoice", &body))).await,
        );
    }

    // Assert: one refetch queued; the client was told to slow down past its limit.
    assert_eq!(w.count(REFETCHES).await, 1, "callbacks queued one refetch each");
    assert!(answers.iter().any(|s| *s == 200));
    assert!(answers.iter().any(|s| *s == 429), "one client's 300 callbacks were never limited");
}
