//! Durable cron. apalis-cron fires on every replica and forgets missed ticks, so we run
//! our own loop in every worker process instead: each due tick is claimed with a unique
//! `(task, tick)` row in the same transaction as its job, so N schedulers enqueue it once,
//! and at start-up every tick missed since the last recorded one is enqueued (bounded by
//! the schedule's `max_catch_up`). Schedules are evaluated in their time zone (UTC unless
//! [`Schedule::in_zone`]).

use std::{future::Future, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use crate::{
    db::cron_ticks,
    enqueue::{push_payload, QueueError},
};

type MakePayload = Box<dyn Fn(DateTime<Utc>) -> Result<Vec<u8>, serde_json::Error> + Send + Sync>;

/// One recurring task: a cron expression and the job each tick enqueues.
pub struct Schedule {
    task: &'static str,
    expr: cron::Schedule,
    queue: &'static str,
    max_attempts: u32,
    max_catch_up: usize,
    zone: Tz,
    make: MakePayload,
}

/// A cron expression that does not parse (`sec min hour day-of-month month day-of-week`).
#[derive(Debug, thiserror::Error)]
#[error("invalid cron expression for {task}: {source}")]
pub struct ScheduleError {
    task: &'static str,
    source: cron::error::Error,
}

impl Schedule {
    /// `task` is the durable key of the schedule (keep it stable); `make` builds the
    /// payload of a tick's job of `queue` (pushed with `max_attempts`). Missed ticks are
    /// caught up, at most 24 of them unless [`Self::catch_up`].
    pub fn new<P: serde::Serialize>(
        task: &'static str,
        expr: &str,
        queue: &'static str,
        max_attempts: u32,
        make: impl Fn(DateTime<Utc>) -> P + Send + Sync + 'static,
    ) -> Result<Self, ScheduleError> {
        let expr = cron::Schedule::from_str(expr).map_err(|source| ScheduleError { task, source })?;
        Ok(Self {
            task,
            expr,
            queue,
            max_attempts,
            max_catch_up: 24,
            zone: Tz::UTC,
            make: Box::new(move |tick| serde_json::to_vec(&make(tick))),
        })
    }

    /// A schedule of job type `J` (its queue and attempts).
    pub fn of<J: crate::Job>(
        task: &'static str,
        expr: &str,
        make: impl Fn(DateTime<Utc>) -> J + Send + Sync + 'static,
    ) -> Result<Self, ScheduleError> {
        Self::new(task, expr, J::QUEUE, J::MAX_ATTEMPTS, make)
    }

    /// Evaluates the expression in `zone` (a business's local time).
    pub fn in_zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }

    /// How many missed ticks start-up replays (the most recent ones).
    pub fn catch_up(mut self, max: usize) -> Self {
        self.max_catch_up = max.max(1);
        self
    }

    /// Ticks in `(after, until]`, in the schedule's zone, as UTC instants.
    pub fn ticks_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut ticks: Vec<_> = self
            .expr
            .after(&after.with_timezone(&self.zone))
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t <= until)
            .collect();
        let skip = ticks.len().saturating_sub(self.max_catch_up);
        ticks.drain(..skip);
        ticks
    }

    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.expr.after(&after.with_timezone(&self.zone)).next().map(|t| t.with_timezone(&Utc))
    }
}

/// Evaluates schedules and enqueues their due ticks.
pub struct Scheduler {
    pool: PgPool,
    schedules: Vec<Schedule>,
    /// Where a schedule with no recorded tick starts (the first deploy does not backfill).
    started_at: DateTime<Utc>,
}

impl Scheduler {
    pub fn new(pool: PgPool, schedules: Vec<Schedule>, started_at: DateTime<Utc>) -> Self {
        Self { pool, schedules, started_at }
    }

    /// Enqueues every tick due by `now` that no scheduler has enqueued yet. Returns how
    /// many this call enqueued.
    pub async fn enqueue_due(&self, now: DateTime<Utc>) -> Result<usize, QueueError> {
        let mut enqueued = 0;
        for s in &self.schedules {
            let from = cron_ticks::latest(&self.pool, s.task).await?.unwrap_or(self.started_at);
            for tick in s.ticks_between(from, now) {
                let payload = (s.make)(tick)?;
                let task_id = ulid::Ulid::generate().to_string();
                let mut tx = self.pool.begin().await?;
                if cron_ticks::claim(&mut tx, s.task, tick, &task_id).await? {
                    push_payload(&mut tx, s.queue, task_id, payload, s.max_attempts).await?;
                    enqueued += 1;
                    tracing::info!(task = s.task, tick = %tick, "cron tick enqueued");
                }
                tx.commit().await?;
            }
        }
        Ok(enqueued)
    }

    /// Runs until `shutdown` resolves: catch-up now, then wake at each next tick (at
    /// least every minute, so clock jumps and new ticks from other replicas are seen).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let now = Utc::now();
            if let Err(e) = self.enqueue_due(now).await {
                tracing::warn!(error = %e, "cron: could not enqueue due ticks; retrying shortly");
            }
            let next = self.schedules.iter().filter_map(|s| s.next_after(now)).min();
            let wait = next
                .and_then(|n| (n - Utc::now()).to_std().ok())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = &mut shutdown => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn schedule(expr: &str) -> Schedule {
        Schedule::new("t", expr, "test", 1, |_| ()).unwrap()
    }

    #[test]
    fn schedules_are_evaluated_in_their_zone() {
        // 09:00 every day in Riyadh is 06:00 UTC (UTC+3, no daylight saving).
        let s = schedule("0 0 9 * * *").in_zone(chrono_tz::Asia::Riyadh);
        let from = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
        let ticks = s.ticks_between(from, from + chrono::Duration::days(1));
        assert_eq!(ticks, vec![Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap()]);
        let utc = schedule("0 0 9 * * *").ticks_between(from, from + chrono::Duration::days(1));
        assert_eq!(utc, vec![Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()]);
    }

    #[test]
    fn catch_up_keeps_only_the_most_recent_ticks() {
        let s = schedule("0 * * * * *").catch_up(3);
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let ticks = s.ticks_between(from, from + chrono::Duration::minutes(10));
        assert_eq!(ticks.len(), 3);
        assert_eq!(ticks[2], from + chrono::Duration::minutes(10));
    }

    #[test]
    fn a_bad_expression_names_its_task() {
        let err = Schedule::new("prune_jobs", "every tuesday", "test", 1, |_| ()).err().unwrap();
        assert!(err.to_string().starts_with("invalid cron expression for prune_jobs"));
    }
}
