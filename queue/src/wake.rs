//! When a worker looks for work. apalis' bare storage only re-fetches on its heartbeat
//! (30 s by default) and its `IntervalStrategy` can lose wake-ups, so every worker gets
//! one stream merging (a) LISTEN/NOTIFY on job inserts (sent after their commit by the
//! enqueuing process's announcer, at the job's time for a job to run later: `announce`)
//! and (b) a plain tokio interval, which catches what no announcement covers (a job whose
//! announcement was lost in a crash, one inserted by another tool).
//!
//! One LISTEN connection per process and database serves every queue (apalis' own
//! `Pubsub` holds one connection per queue, which starves a small pool); it reconnects
//! after a connection loss, waiting a second between tries.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use futures::{stream, Stream};
use serde::Deserialize;
use sqlx::{postgres::PgListener, PgPool};
use tokio::{sync::broadcast, time::MissedTickBehavior};

/// A boxed stream of wake-ups, `Unpin` as apalis' `StreamStrategy` requires.
pub(crate) type Wakeups = Pin<Box<dyn Stream<Item = ()> + Send>>;

use crate::db::announce::CHANNEL;

#[derive(Deserialize)]
struct Insert {
    job_type: String,
}

/// Wake-ups for `queue`: a NOTIFY for this queue, plus one tick every `interval`.
pub(crate) fn wakeups(pool: PgPool, queue: &'static str, interval: Duration) -> Wakeups {
    let notified = stream::unfold(notifier(&pool).subscribe(), move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(q) if q == queue || q == "*" => return Some(((), rx)),
                Ok(_) => continue,
                // Fell behind: some insert may be ours, so look.
                Err(broadcast::error::RecvError::Lagged(_)) => return Some(((), rx)),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let ticks = stream::unfold(new_interval(interval), |mut timer| async move {
        timer.tick().await;
        Some(((), timer))
    });
    Box::pin(stream::select(notified, ticks))
}

/// The process-wide notifier of `pool`'s database, started on first use.
fn notifier(pool: &PgPool) -> broadcast::Sender<String> {
    static NOTIFIERS: OnceLock<Mutex<HashMap<String, broadcast::Sender<String>>>> = OnceLock::new();
    let opts = pool.connect_options();
    let key = format!("{}:{}/{}", opts.get_host(), opts.get_port(), opts.get_database().unwrap_or(""));
    let mut map = NOTIFIERS.get_or_init(Mutex::default).lock().expect("notifier map lock");
    if let Some(tx) = map.get(&key).filter(|tx| tx.receiver_count() > 0 || !tx.is_empty()) {
        return tx.clone();
    }
    let (tx, _) = broadcast::channel(1024);
    map.insert(key, tx.clone());
    tokio::spawn(listen(pool.clone(), tx.clone()));
    tx
}

/// Forwards every insert notification's queue name until no queue listens any more.
async fn listen(pool: PgPool, tx: broadcast::Sender<String>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "job notifications: cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "job notifications: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    if let Ok(insert) = serde_json::from_str::<Insert>(n.payload()) {
                        if tx.send(insert.job_type).is_err() {
                            return; // every worker of this database has gone
                        }
                    }
                }
                // The connection dropped; sqlx reconnects on the next call. Wake everyone:
                // inserts made meanwhile sent their NOTIFY to nobody.
                Ok(None) => {
                    if tx.send("*".to_owned()).is_err() {
                        return;
                    }
                    tracing::warn!("job notifications: connection lost; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "job notifications: receive failed; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

fn new_interval(period: Duration) -> tokio::time::Interval {
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}
