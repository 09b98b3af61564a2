//! Pending jobs taken over by another job's transaction: a job that does its work
//! set-based locks its queue's pending jobs of the same group and does their work in its
//! own transaction, then marks them `Done` in it. They run no attempt of their own; if the
//! transaction rolls back, they are pending again, untouched.

use sqlx::PgConnection;

/// A pending job locked by the caller's transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Locked {
    pub id: String,
    pub job: Vec<u8>,
}

/// Locks up to `limit` jobs of `queue` in `group` that are pending and due (never one
/// another worker holds or is claiming: skip locked), oldest first. Jobs waiting for a
/// retry are left to their own attempts.
pub async fn lock_pending(
    conn: &mut PgConnection,
    queue: &str,
    group: &str,
    limit: i64,
) -> Result<Vec<Locked>, sqlx::Error> {
    sqlx::query_as(
        "select id, job from apalis.jobs
          where job_type = $1 and status = 'Pending' and run_at <= now()
            and coalesce(metadata -> 'tenant', '') = $2
          order by job_type, coalesce(metadata -> 'tenant', ''), priority desc, run_at, id
          limit $3
          for update skip locked",
    )
    .bind(queue)
    .bind(group)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The jobs `ids`, locked by [`lock_pending`] in this transaction, are done: one attempt,
/// started and finished now (the queues page counts them like any other).
pub async fn mark_done(conn: &mut PgConnection, ids: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update apalis.jobs set status = 'Done', attempts = attempts + 1, lock_at = now(), done_at = now()
          where id = any($1) and status = 'Pending'",
    )
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}
