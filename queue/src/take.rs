//! Work done set-based across jobs: a job of a queue whose work can be batched takes over
//! its queue's pending jobs, its own group's first and a few of every other group's
//! ([`take_pending`]), does their work in its own
//! transaction, and marks them done in it ([`finish_taken`]). Each job taken stays covered
//! until that transaction commits: if it rolls back (an error, a crash), the jobs are
//! pending again and run on their own. A job waiting for a retry, running, or being
//! claimed is never taken.

use sqlx::PgConnection;

use crate::{db::take as db, enqueue::QueueError, job::Job};

/// A pending job of `J` taken by the caller's transaction.
#[derive(Debug)]
pub struct Taken<J> {
    pub id: String,
    pub job: J,
}

/// Locks up to `limit` pending, due jobs of `J`'s queue for the caller's transaction:
/// `own` group's first, then up to `per_other` of each other group, round-robin by group
/// among the oldest (`db::take::lock_pending`). A payload that does not decode is left for
/// its own attempt (which reports it).
pub async fn take_pending<J: Job>(
    conn: &mut PgConnection,
    own: &str,
    per_other: usize,
    limit: usize,
) -> Result<Vec<Taken<J>>, QueueError> {
    let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    let locked = db::lock_pending(conn, J::QUEUE, own, n(per_other), n(limit)).await?;
    Ok(locked
        .into_iter()
        .filter_map(|row| serde_json::from_slice(&row.job).ok().map(|job| Taken { id: row.id, job }))
        .collect())
}

/// The jobs taken are done, when the caller's transaction commits.
pub async fn finish_taken<J>(conn: &mut PgConnection, taken: &[Taken<J>]) -> Result<(), QueueError> {
    let ids: Vec<String> = taken.iter().map(|t| t.id.clone()).collect();
    Ok(db::mark_done(conn, &ids).await?)
}
