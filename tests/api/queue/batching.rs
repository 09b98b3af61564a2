//! Fewer round trips per job: a worker claims as many jobs as it has free slots in one
//! statement (in tenant order, wrapping around), the `Done`s of many jobs are written in
//! one statement and only for jobs their worker still holds, and a job whose worker row is
//! gone is still rescued (apalis' foreign key from jobs to workers was dropped: it made
//! every claim lock the worker's row). A claim whose wrap-around statement fails still
//! hands over what its first statement took.

use std::time::Duration;

use mujibak_queue::db::queue::{self, Claimed};
use sqlx::PgPool;

use crate::helpers::migrated;

/// Jobs of queue `q`, one per `(id, tenant)`, pending since a minute ago.
pub(super) async fn pending(pool: &PgPool, q: &str, jobs: &[(&str, &str)]) {
    for (id, tenant) in jobs {
        sqlx::query(
            "insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata)
             values ($1, $2, '\\x7b7d', 'Pending', 0, 3, now() - interval '1 minute', 0, hstore('tenant', $3))",
        )
        .bind(id)
        .bind(q)
        .bind(tenant)
        .execute(pool)
        .await
        .unwrap();
    }
}

fn ids(claimed: &[Claimed]) -> Vec<&str> {
    claimed.iter().map(|c| c.id.as_str()).collect()
}

#[sqlx::test(migrations = false)]
async fn jobs_the_first_statement_claimed_are_returned_when_the_wrap_around_fails(pool: PgPool) {
    // Arrange: c's job after the cursor, a's before it; claiming a's fails (as when
    // Postgres goes away between the two statements).
    migrated(&pool).await;
    pending(&pool, "test_batch", &[("01A1", "a"), ("01C1", "c")]).await;
    queue::register_worker(&pool, "w1", "test_batch").await.unwrap();
    sqlx::raw_sql(
        "create function test_refuse_a() returns trigger language plpgsql as
           $$ begin raise exception 'connection lost'; end $$;
         create trigger refuse_a before update on apalis.jobs
           for each row when (old.id = '01A1') execute function test_refuse_a();",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Act
    let claimed = queue::claim(&pool, "test_batch", "w1", Some("b"), 2).await.unwrap();

    // Assert: the worker gets the job the database now says it holds.
    assert_eq!(ids(&claimed), vec!["01C1"]);
}

#[sqlx::test(migrations = false)]
async fn free_slots_are_claimed_in_one_statement_in_tenant_order_after_the_cursor(pool: PgPool) {
    // Arrange: tenants a, b, c with jobs; a worker with three free slots last served b.
    migrated(&pool).await;
    pending(
        &pool,
        "test_batch",
        &[("01A1", "a"), ("01A2", "a"), ("01B1", "b"), ("01C1", "c"), ("01C2", "c")],
    )
    .await;
    queue::register_worker(&pool, "w1", "test_batch").await.unwrap();

    // Act
    let first = queue::claim(&pool, "test_batch", "w1", Some("b"), 3).await.unwrap();
    let second = queue::claim(&pool, "test_batch", "w1", Some("a"), 3).await.unwrap();
    let third = queue::claim(&pool, "test_batch", "w1", None, 3).await.unwrap();

    // Assert: c's jobs, then around to a's oldest; then the rest; then nothing.
    assert_eq!(ids(&first), vec!["01C1", "01C2", "01A1"]);
    assert_eq!(ids(&second), vec!["01B1", "01A2"]);
    assert!(third.is_empty());
    let running: i64 = sqlx::query_scalar(
        "select count(*) from apalis.jobs where lock_by = 'w1' and status = 'Running' and attempts = 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(running, 5, "each claim counts its attempt and locks the job to the worker");
}

#[sqlx::test(migrations = false)]
async fn many_done_outcomes_are_written_in_one_statement_only_for_jobs_still_held(pool: PgPool) {
    // Arrange: w1 holds three jobs; one of them was rescued and taken by w2 meanwhile.
    migrated(&pool).await;
    pending(&pool, "test_batch", &[("01D1", "a"), ("01D2", "b"), ("01D3", "c")]).await;
    queue::register_worker(&pool, "w1", "test_batch").await.unwrap();
    queue::claim(&pool, "test_batch", "w1", None, 3).await.unwrap();
    sqlx::query("update apalis.jobs set lock_by = 'w2' where id = '01D2'").execute(&pool).await.unwrap();

    // Act
    let done = [("01D1", "w1"), ("01D2", "w1"), ("01D3", "w1")].map(|(i, w)| (i.to_owned(), w.to_owned(), 1));
    let mut applied = queue::settle_done(&pool, &done).await.unwrap().applied;
    applied.sort();

    // Assert
    assert_eq!(applied, vec!["01D1".to_owned(), "01D3".to_owned()]);
    let statuses: Vec<(String, String)> =
        sqlx::query_as("select id, status from apalis.jobs where job_type = 'test_batch' order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected = [("01D1", "Done"), ("01D2", "Running"), ("01D3", "Done")];
    assert_eq!(statuses, expected.map(|(i, s)| (i.to_owned(), s.to_owned())).to_vec());
}

#[sqlx::test(migrations = false)]
async fn a_running_job_whose_worker_row_is_gone_is_rescued(pool: PgPool) {
    // Arrange: a job locked to a worker that has no row (pruned while the job was claimed).
    migrated(&pool).await;
    pending(&pool, "test_batch", &[("01G1", "a")]).await;
    sqlx::query(
        "update apalis.jobs set status = 'Running', lock_by = 'ghost', lock_at = now() - interval '1 hour', attempts = 1",
    )
    .execute(&pool)
    .await
    .unwrap();
    // The rescue waits until Postgres itself has been up for the orphan window.
    let uptime: f64 =
        sqlx::query_scalar("select extract(epoch from now() - pg_postmaster_start_time())::float8")
            .fetch_one(&pool)
            .await
            .unwrap();
    let window = Duration::from_secs_f64((uptime - 1.0).clamp(0.5, 2.0));

    // Act
    let rescued = mujibak_queue::db::rescue::rescue_orphans(&pool, "test_batch", window, "a-live-worker")
        .await
        .unwrap();

    // Assert
    assert_eq!(rescued, 1);
    let status: String = sqlx::query_scalar("select status from apalis.jobs where id = '01G1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "Pending");
}
