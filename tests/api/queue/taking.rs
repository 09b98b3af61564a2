//! Pending jobs taken over by another job's transaction (`take::lock_pending`): a batch
//! holds the lock of only the groups it takes from, so batches running at once each take
//! their own share of a backlog spread over many groups.

use mujibak_queue::db::take::{lock_pending, Locked};
use sqlx::{PgConnection, PgPool};

use super::batching::pending;
use crate::helpers::migrated;

fn ids(locked: &[Locked]) -> Vec<&str> {
    locked.iter().map(|l| l.id.as_str()).collect()
}

/// How many advisory locks the session of `conn` holds.
async fn advisory_locks(pool: &PgPool, conn: &mut PgConnection) -> i64 {
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&mut *conn).await.unwrap();
    sqlx::query_scalar("select count(*) from pg_locks where locktype = 'advisory' and pid = $1")
        .bind(pid)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn two_batches_at_once_each_take_their_own_group_and_different_others(pool: PgPool) {
    // Arrange: four groups with three pending jobs each, a's oldest.
    migrated(&pool).await;
    let mut jobs = Vec::new();
    for g in ["A", "B", "C", "D"] {
        for n in 1..=3 {
            jobs.push((format!("01{g}{n}"), g.to_lowercase()));
        }
    }
    let jobs: Vec<(&str, &str)> = jobs.iter().map(|(i, g)| (i.as_str(), g.as_str())).collect();
    pending(&pool, "test_take", &jobs).await;

    // Act: a's batch (four at most, two of any other group, round-robin: its own three and
    // b's oldest), then, while it is open, d's (five at most).
    let mut first = pool.begin().await.unwrap();
    let taken_first = lock_pending(&mut first, "test_take", "a", 2, 4).await.unwrap();
    let locks_first = advisory_locks(&pool, &mut first).await;
    let mut second = pool.begin().await.unwrap();
    let taken_second = lock_pending(&mut second, "test_take", "d", 2, 5).await.unwrap();

    // Assert: the first batch holds a and b only; the second takes its own and c's, never
    // b's (held by the first).
    assert_eq!(ids(&taken_first), vec!["01A1", "01A2", "01A3", "01B1"]);
    assert_eq!(locks_first, 2, "a batch locked groups it took nothing from");
    assert_eq!(ids(&taken_second), vec!["01C1", "01C2", "01D1", "01D2", "01D3"]);
    second.rollback().await.unwrap();
    first.rollback().await.unwrap();
}
