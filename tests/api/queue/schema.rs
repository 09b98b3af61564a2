//! apalis' own migrations run before ours on every deploy, and ours dropped what apalis made
//! that the queue engine must not have (migration `20261130000025_queue_hot_path`): three
//! indexes the hot path paid for and never used, and the foreign key from jobs to workers
//! that made every claim lock its worker's row. None of it may come back: not after a
//! later deploy runs apalis' set-up again, and not from an apalis migration newer than the
//! ones that migration was written against (it would run after ours on a database
//! migrated before, and bring them back). Nor may a trigger that notifies inside the
//! writer's transaction (apalis' insert trigger, dropped by `20261207000500_notify_after_commit`).

use mujibak_queue::schema;
use sqlx::PgPool;

use crate::helpers::migrated;

/// The newest apalis migration `20261130000025_queue_hot_path` was written against.
const APALIS_KNOWN_UP_TO: i64 = 20260902075949;

/// What that migration dropped (index and constraint names), and how a foreign key to the
/// workers would be written.
const DROPPED: [&str; 4] = ["unique_job_id", "lidx", "idx_apalis_jobs_fetch_partial", "fk_worker_lock_by"];

#[sqlx::test(migrations = false)]
async fn apalis_migrations_never_bring_back_what_ours_dropped(pool: PgPool) {
    // Arrange + Act: the release phase, then a later deploy's release phase.
    migrated(&pool).await;
    mujibak_jobs::schema::migrate(&pool).await.unwrap();

    // Assert: none of the dropped indexes, and no foreign key on apalis.jobs.
    let indexes: Vec<String> = sqlx::query_scalar(
        "select indexname::text from pg_indexes where schemaname = 'apalis' and indexname = any($1)",
    )
    .bind(&DROPPED[..3])
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(indexes.is_empty(), "apalis brought back {indexes:?}");
    let foreign: i64 = sqlx::query_scalar(
        "select count(*) from pg_constraint where conrelid = 'apalis.jobs'::regclass and contype = 'f'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(foreign, 0, "a foreign key on apalis.jobs (every claim would lock its worker's row)");

    // Assert: no newer apalis migration re-creates one of them.
    for m in schema::migrations().iter().filter(|m| m.version > APALIS_KNOWN_UP_TO) {
        let sql = m.sql.as_str().to_lowercase();
        for name in DROPPED {
            assert!(
                !sql.contains(name),
                "apalis migration {} re-creates {name}: drop it again in a migration of ours",
                m.version
            );
        }
        assert!(
            !(sql.contains("foreign key") || sql.contains("references apalis.workers")),
            "apalis migration {} adds a foreign key: drop it again in a migration of ours",
            m.version
        );
    }
}

#[sqlx::test(migrations = false)]
async fn no_trigger_sends_a_notification_inside_the_writers_transaction(pool: PgPool) {
    // Postgres serialises the commits of every transaction that sent a NOTIFY (one
    // database-wide lock, held until the commit is flushed), so a trigger that notifies
    // makes every writer of its table commit one at a time. New jobs and inbox changes are
    // announced after their commit instead (mujibak-queue's `announce`, `db::inbox_news`).
    // Arrange + Act: the release phase, then a later deploy's.
    migrated(&pool).await;
    mujibak_jobs::schema::migrate(&pool).await.unwrap();

    // Assert
    let notifying: Vec<String> = sqlx::query_scalar(
        "select t.tgrelid::regclass::text || ': ' || t.tgname::text
           from pg_trigger t join pg_proc p on p.oid = t.tgfoid
          where not t.tgisinternal and p.prosrc ilike '%notify%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(notifying.is_empty(), "triggers that notify inside the writer's transaction: {notifying:?}");
    for m in schema::migrations().iter().filter(|m| m.version > APALIS_KNOWN_UP_TO) {
        assert!(
            !m.sql.as_str().to_lowercase().contains("notify"),
            "apalis migration {} notifies in a trigger again: drop it in a migration of ours",
            m.version
        );
    }
}
