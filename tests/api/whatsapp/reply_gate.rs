//! The reply job's first statement (`db::conversations::for_reply`) asks whether a message
//! of the customer is still waiting to be stored. It must probe an index of unprocessed
//! messages by sender whatever statistics its plan was made with: a plan cached while
//! `inbound_events` was empty (a fresh worker on a quiet database, then a burst) walked
//! every unprocessed event of the business through `inbound_events_stale`, 10 ms and
//! 8,900 buffer reads a reply, half of Postgres' time in the pipeline bench.

use mujibak_core::db::conversations;
use sqlx::PgPool;

use crate::helpers::migrated;

#[sqlx::test(migrations = false)]
async fn the_reply_gate_probes_the_senders_unprocessed_messages_even_in_a_plan_made_on_an_empty_table(
    pool: PgPool,
) {
    // Arrange: an empty database, and the plan a prepared statement keeps (generic).
    migrated(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("set plan_cache_mode = force_generic_plan").execute(&mut *conn).await.unwrap();
    let prepare = format!("prepare gate (uuid, uuid, float8) as {}", conversations::for_reply_sql());
    sqlx::query(sqlx::AssertSqlSafe(prepare)).execute(&mut *conn).await.unwrap();

    // Act
    let plan: Vec<String> = sqlx::query_scalar(
        "explain execute gate('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', 30)",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let plan = plan.join("\n");

    // Assert
    for index in ["inbound_events_unstored_by_wa_id", "inbound_events_unstored_by_bsuid"] {
        assert!(plan.contains(&format!("Index Scan using {index}")), "no probe of {index}:\n{plan}");
    }
    assert!(!plan.contains("inbound_events_stale"), "walks the unprocessed backlog:\n{plan}");
    assert!(!plan.contains("Seq Scan on inbound_events"), "scans every event:\n{plan}");
}
