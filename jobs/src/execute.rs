//! The function apalis calls for every job: the runtime's rules around a job's `run`.
//!
//! 1. Attempt guard: apalis re-enqueues a job whose worker died without counting it
//!    against `max_attempts`; past the limit we record it dead instead of running it.
//! 2. Attempts that left no error row died with their worker: they are recorded as such.
//! 3. `run` under the job's timeout, panics captured.
//! 4. On failure: the error is kept in `job_errors`; a retryable one moves `run_at`
//!    forward (backoff with jitter, or the provider's wait) before apalis marks it
//!    `Failed`; a permanent one becomes apalis' `AbortError` (status `Killed`).
//!    `RetryAfterError`/`DeferredError` are never used: they hot-loop in apalis 1.0.

use std::{convert::Infallible, panic::AssertUnwindSafe};

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data, FromRequest, Task};
use futures::FutureExt;
use mujibak_core::db::jobs::{self as db, NewJobError};
use sqlx::PgPool;

use crate::job::{Job, JobContext, JobError};

/// What the runtime needs to know about the task being run.
pub(crate) struct JobMeta {
    task_id: String,
    attempt: Attempt,
    max_attempts: usize,
}

impl<Args: Sync> FromRequest<Task<Args>> for JobMeta {
    type Error = Infallible;

    async fn from_request(task: &Task<Args>) -> Result<Self, Infallible> {
        let ctx = task.ctx();
        Ok(JobMeta {
            task_id: ctx.task_id().map(|id| id.to_string()).unwrap_or_default(),
            attempt: task.raw_attempt().clone(),
            max_attempts: ctx.max_attempts().unwrap_or(25),
        })
    }
}

/// The handler registered with apalis for job type `J`.
pub(crate) async fn execute<J: Job>(job: J, meta: JobMeta, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let ctx: &JobContext = &ctx;
    // Read inside the future: apalis increments the attempt on its first poll.
    let attempt = meta.attempt.current();
    let failure = Failure { db: &ctx.db, queue: J::QUEUE, task_id: &meta.task_id, attempt };
    if attempt > 1 {
        failure.record_crashed_attempts().await?;
    }
    if attempt > meta.max_attempts {
        let why =
            format!("abandoned: {} attempts used, the last ones ended with their worker", meta.max_attempts);
        tracing::error!(queue = J::QUEUE, task.id = %meta.task_id, attempt, "job is dead: worker died on every attempt");
        failure.record("abandoned", &why, None).await?;
        return Err(AbortError::new(why).into());
    }

    let attempt_info = crate::job::AttemptInfo { number: attempt as u32, max: meta.max_attempts as u32 };
    let run = crate::job::ATTEMPT.scope(attempt_info, AssertUnwindSafe(job.run(ctx)).catch_unwind());
    let outcome = match tokio::time::timeout(J::TIMEOUT, run).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(JobError::transient(anyhow::anyhow!("panicked: {}", panic_message(&panic)))),
        Err(_) => Err(JobError::transient(anyhow::anyhow!("timed out after {}s", J::TIMEOUT.as_secs()))),
    };
    let Err(error) = outcome else { return Ok(()) };

    let message = error.to_string();
    let last = attempt >= meta.max_attempts;
    let wait = match &error {
        JobError::Permanent(_) => None,
        _ if last => None,
        JobError::RateLimited { retry_after, .. } => {
            Some((*retry_after).max(J::BACKOFF.delay(attempt as u32)))
        }
        JobError::Transient(_) => Some(J::BACKOFF.delay(attempt as u32)),
    };
    let retry_at = match wait {
        Some(delay) => Some(db::schedule_retry(&ctx.db, &meta.task_id, delay).await?),
        None => None,
    };
    failure.record(error.kind(), &message, retry_at).await?;
    match (&error, retry_at) {
        (JobError::Permanent(_), _) => {
            tracing::error!(queue = J::QUEUE, task.id = %meta.task_id, attempt, error = %message, "job failed permanently");
            Err(AbortError::new(message).into())
        }
        (_, Some(at)) => {
            tracing::warn!(queue = J::QUEUE, task.id = %meta.task_id, attempt, retry_at = %at, error = %message, "job failed; will retry");
            Err(message.into())
        }
        (_, None) => {
            tracing::error!(queue = J::QUEUE, task.id = %meta.task_id, attempt, error = %message, "job is dead: attempts exhausted");
            Err(message.into())
        }
    }
}

struct Failure<'a> {
    db: &'a PgPool,
    queue: &'a str,
    task_id: &'a str,
    attempt: usize,
}

impl Failure<'_> {
    async fn record(
        &self,
        kind: &str,
        message: &str,
        retry_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), sqlx::Error> {
        db::record_error(
            self.db,
            &NewJobError {
                task_id: self.task_id,
                queue: self.queue,
                attempt: self.attempt as i32,
                kind,
                message,
                retry_at,
            },
        )
        .await
    }

    /// Earlier attempts with no error row ended without reporting: their worker died.
    async fn record_crashed_attempts(&self) -> Result<(), sqlx::Error> {
        let recorded = db::recorded_attempts(self.db, self.task_id).await?;
        for earlier in 1..self.attempt as i32 {
            if !recorded.contains(&earlier) {
                db::record_error(
                    self.db,
                    &NewJobError {
                        task_id: self.task_id,
                        queue: self.queue,
                        attempt: earlier,
                        kind: "crashed",
                        message: "the worker running this attempt stopped heartbeating (crash or kill)",
                        retry_at: None,
                    },
                )
                .await?;
            }
        }
        Ok(())
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}
