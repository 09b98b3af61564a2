//! Writing attempts' outcomes with as few round trips as the load allows: one writer task
//! per worker process takes every outcome waiting, writes all the `Done`s among them in
//! one statement (`db::queue::settle_done`) and each other outcome in its own transaction
//! (`db::queue::settle`), then answers each caller. An idle process writes an outcome the
//! moment it arrives; a busy one writes many per statement while the previous write is
//! in flight (the group commit of a database log), so nothing waits for a timer.

use std::{
    collections::HashSet,
    sync::{Arc, OnceLock},
};

use mujibak_core::db::queue::{self as db, Outcome, Settled, Settlement};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

/// Most outcomes written in one statement.
const BATCH: usize = 256;

type Request = (Settlement, oneshot::Sender<Result<Settled, sqlx::Error>>);

/// The outcome writer of one worker process (shared by its leases).
#[derive(Debug)]
pub(crate) struct Settler {
    pool: PgPool,
    writer: OnceLock<mpsc::UnboundedSender<Request>>,
}

impl Settler {
    pub(crate) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self { pool, writer: OnceLock::new() })
    }

    /// Writes one outcome, batched with whatever else is waiting; what [`db::settle`]
    /// would return. Written directly if the writer task is gone (its runtime ended).
    pub(crate) async fn settle(&self, s: Settlement) -> Result<Settled, sqlx::Error> {
        let writer = self.writer.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write(self.pool.clone(), rx));
            tx
        });
        let (answer, answered) = oneshot::channel();
        if let Err(mpsc::error::SendError((s, _))) = writer.send((s, answer)) {
            return db::settle(&self.pool, &s).await;
        }
        match answered.await {
            Ok(result) => result,
            Err(_) => Err(sqlx::Error::WorkerCrashed),
        }
    }
}

/// The writer task: runs until every sender is gone.
async fn write(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut waiting = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut waiting, BATCH).await > 0 {
        let (done, other): (Vec<Request>, Vec<Request>) =
            waiting.drain(..).partition(|(s, _)| s.outcome == Outcome::Done);
        for (s, answer) in other {
            let pool = pool.clone();
            tokio::spawn(async move {
                let _ = answer.send(db::settle(&pool, &s).await);
            });
        }
        if done.is_empty() {
            continue;
        }
        let pairs: Vec<(String, String)> =
            done.iter().map(|(s, _)| (s.task_id.clone(), s.worker.clone())).collect();
        match db::settle_done(&pool, &pairs).await {
            Ok(applied) => {
                let applied: HashSet<String> = applied.into_iter().collect();
                for (s, answer) in done {
                    let applied = applied.contains(&s.task_id);
                    let _ = answer.send(Ok(Settled { applied, retry_at: None }));
                }
            }
            Err(e) => {
                let why = e.to_string();
                for (_, answer) in done {
                    let _ = answer.send(Err(sqlx::Error::Protocol(why.clone())));
                }
            }
        }
    }
}
