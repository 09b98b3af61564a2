//! Pending jobs taken over by another job's transaction: a job that does its work
//! set-based locks its queue's pending jobs (of any group, round-robin by group) and does
//! their work in its own transaction, then marks them `Done` in it. They run no attempt of their own; if the
//! transaction rolls back, they are pending again, untouched.

use sqlx::PgConnection;

/// A pending job locked by the caller's transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Locked {
    pub id: String,
    pub job: Vec<u8>,
}

/// How many of the oldest due pending jobs [`lock_pending`] chooses from: bounds its cost
/// when a queue's backlog is deep.
const WINDOW: i64 = 1_000;

/// Locks up to `limit` jobs of `queue` that are pending and due (never one another worker
/// holds or is claiming: skip locked): first `own` group's, oldest first, then up to
/// `per_other` of each other group among the oldest [`WINDOW`], round-robin (every group's
/// oldest job, then every group's second …), so a backlog spread over many groups is taken
/// in one batch while one group's flood takes only `per_other` of a batch that another
/// group's job takes. A group another transaction is taking from is skipped (a
/// transaction-level advisory lock per queue and group, tried, never waited for): two
/// batches never work on one group's rows at once. The lock is tried row by row in the
/// batch's order and the scan stops at `limit` (a materialized CTE is read in the order it
/// was written), so a batch holds the locks of only the groups it takes from, and batches
/// running at once take different groups of one backlog. Jobs waiting for a retry are left
/// to their own attempts.
pub async fn lock_pending(
    conn: &mut PgConnection,
    queue: &str,
    own: &str,
    per_other: i64,
    limit: i64,
) -> Result<Vec<Locked>, sqlx::Error> {
    sqlx::query_as(
        "with oldest as (
            (select id, run_at, coalesce(metadata -> 'tenant', '') as grp from apalis.jobs
              where job_type = $1 and status = 'Pending' and run_at <= now()
                and coalesce(metadata -> 'tenant', '') = $2
              order by job_type, coalesce(metadata -> 'tenant', ''), priority desc, run_at, id limit $4)
            union
            (select id, run_at, coalesce(metadata -> 'tenant', '') as grp from apalis.jobs
              where job_type = $1 and status = 'Pending' and run_at <= now()
              order by run_at, id limit $5)),
         ordered as materialized (
            select id, grp from (
              select id, run_at, grp, row_number() over (partition by grp order by run_at, id) as turn
                from oldest) r
             where grp = $2 or turn <= $3
             order by grp <> $2, turn, run_at, id),
         taken as (
            select id from ordered
             where pg_try_advisory_xact_lock(hashtextextended('mujibak.take.' || $1 || '.' || grp, 0))
             limit $4)
         select id, job from apalis.jobs
          where id = any(array(select id from taken))
            and status = 'Pending'
          order by run_at, id
          for update skip locked",
    )
    .bind(queue)
    .bind(own)
    .bind(per_other)
    .bind(limit)
    .bind(WINDOW)
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
