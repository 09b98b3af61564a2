//! When a worker looks for work. apalis' bare storage only re-fetches on its heartbeat
//! (30 s by default) and its `IntervalStrategy` can lose wake-ups, so every worker gets
//! one stream merging (a) LISTEN/NOTIFY on job inserts, re-subscribed after a connection
//! loss, and (b) a plain tokio interval, which also catches retries whose `run_at` we
//! moved forward (an UPDATE sends no NOTIFY). Each item wakes the worker to fetch.

use std::{pin::Pin, time::Duration};

use apalis_postgres::Pubsub;
use futures::{stream, Stream, StreamExt};
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;

/// A boxed stream of wake-ups, `Unpin` as apalis' `StreamStrategy` requires.
pub(crate) type Wakeups = Pin<Box<dyn Stream<Item = ()> + Send>>;

/// Wake-ups for `queue`: NOTIFY for this queue, plus one tick every `interval`.
pub(crate) fn wakeups(pool: PgPool, queue: &'static str, interval: Duration) -> Wakeups {
    let notified = stream::iter(0u64..).flat_map(move |round| {
        let pool = pool.clone();
        // After the listener's connection ends, wait a little before re-subscribing so a
        // database that is down is not hammered; the interval keeps work flowing meanwhile.
        let pause = if round == 0 { Duration::ZERO } else { Duration::from_secs(1) };
        stream::once(tokio::time::sleep(pause)).filter_map(|_| async { None::<()> }).chain(
            Pubsub::new(pool, queue.to_owned()).filter_map(|event| async move { event.ok().map(|_| ()) }),
        )
    });
    let ticks = stream::unfold(new_interval(interval), |mut timer| async move {
        timer.tick().await;
        Some(((), timer))
    });
    Box::pin(stream::select(notified, ticks))
}

fn new_interval(period: Duration) -> tokio::time::Interval {
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}
