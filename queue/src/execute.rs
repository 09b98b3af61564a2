//! The function apalis calls for every job: the runtime's rules around a job's `run`.
//!
//! 1. Attempt guard: a job whose attempts were all lost with their worker (rescued after a
//!    crash, handed back at shutdown) is recorded dead, not run past `max_attempts`.
//! 2. An occasional queue's attempt waits for one of the places those queues share
//!    (`Job::OCCASIONAL`); then `run` under the job's timeout, panics captured, [`current_attempt`] and the job's
//!    fence (`job::fence`) set; an attempt another worker took over while this one was cut
//!    off from Postgres stops at its next fence and writes nothing.
//! 3. The outcome is settled at once through the worker's lease (`db::queue`):
//!    `Done`; a retryable failure moves `run_at` forward (backoff with jitter, or the
//!    provider's wait) and keeps the error; a permanent failure, or the last attempt's,
//!    ends the job dead with its error. Writing happens in one transaction, retried from
//!    the heartbeat if the database is away, so bookkeeping trouble never changes an
//!    outcome or burns an attempt.
//! 4. The outcome (done, retry, dead) and the attempt's run time are told to the job's
//!    context (`Context::finished`: the application's metrics), and, for a queue that
//!    waits on a provider, to its `throttle` (a success raises its limit, a refusal for
//!    going too fast cuts it).
//!
//! [`current_attempt`]: crate::job::current_attempt

use std::panic::AssertUnwindSafe;

use apalis::prelude::{AbortError, BoxDynError, Data, FromRequest, MissingDataError, Task};
use futures::FutureExt;

use crate::{
    backend::Claim,
    db::queue::{Outcome, Settlement},
    job::{AttemptInfo, Context, Fence, Finished, Job, JobError, ATTEMPT, FENCE},
};

/// What the runtime needs to know about the task being run.
pub(crate) struct JobMeta {
    task_id: String,
    claim: Claim,
}

impl<Args: Sync> FromRequest<Task<Args>> for JobMeta {
    type Error = MissingDataError;

    async fn from_request(task: &Task<Args>) -> Result<Self, MissingDataError> {
        let ctx = task.ctx();
        Ok(JobMeta {
            task_id: ctx.task_id().map(|id| id.to_string()).unwrap_or_default(),
            claim: ctx.data().get_checked::<Claim>()?.clone(),
        })
    }
}

/// The handler registered with apalis for job type `J`.
pub(crate) async fn execute<J: Job>(job: J, meta: JobMeta, ctx: Data<J::Context>) -> Result<(), BoxDynError> {
    let ctx: &J::Context = &ctx;
    let (attempt, max) = (meta.claim.attempt, meta.claim.max_attempts);
    let settlement = |outcome| Settlement {
        task_id: meta.task_id.clone(),
        queue: J::QUEUE.to_owned(),
        worker: meta.claim.lease.worker.clone(),
        attempt,
        outcome,
    };
    meta.claim.lease.started(&meta.task_id);
    if attempt > max {
        let why = format!("abandoned: {max} attempts used, the last ones ended with their worker");
        tracing::error!(queue = J::QUEUE, task.id = %meta.task_id, attempt, "job is dead: its worker stopped on every attempt");
        let outcome = Outcome::Dead { status: "Killed", kind: "abandoned".into(), message: why.clone() };
        meta.claim.lease.settle(settlement(outcome)).await;
        ctx.finished(J::QUEUE, Finished::Dead, None);
        return Err(AbortError::new(why).into());
    }

    // An occasional queue's attempt waits for one of the places those queues share
    // (`fit::OCCASIONAL_CONNECTIONS`); its timeout starts once it has one.
    let _place = match &meta.claim.gate {
        Some(gate) => gate.clone().acquire_owned().await.ok(),
        None => None,
    };
    let info = AttemptInfo { number: attempt.max(1) as u32, max: max.max(1) as u32 };
    let started = std::time::Instant::now();
    let fence = Fence { lease: meta.claim.lease.clone(), task_id: meta.task_id.clone(), attempt };
    let run = ATTEMPT.scope(info, FENCE.scope(fence, AssertUnwindSafe(job.run(ctx)).catch_unwind()));
    let result = match tokio::time::timeout(J::TIMEOUT, run).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(JobError::transient(anyhow::anyhow!("panicked: {}", panic_message(&panic)))),
        Err(_) => Err(JobError::transient(anyhow::anyhow!("timed out after {}s", J::TIMEOUT.as_secs()))),
    };
    let ran = Some(started.elapsed());
    if let Some(throttle) = &meta.claim.throttle {
        match &result {
            Ok(()) => throttle.succeeded(meta.claim.lease.in_flight()),
            Err(JobError::RateLimited { retry_after, slows_queue: true, .. }) => {
                throttle.refused(*retry_after, meta.claim.lease.in_flight(), std::time::Instant::now());
                tracing::warn!(
                    queue = J::QUEUE,
                    limit = throttle.limit(),
                    wait_ms = retry_after.as_millis() as u64,
                    "the provider refused us for going too fast; fewer jobs at once"
                );
            }
            Err(_) => {}
        }
    }
    let error = match result {
        Ok(()) => {
            meta.claim.lease.settle(settlement(Outcome::Done)).await;
            ctx.finished(J::QUEUE, Finished::Done, ran);
            return Ok(());
        }
        Err(JobError::Superseded) => {
            // Another worker runs this job now: nothing of this attempt is written.
            meta.claim.lease.forget(&meta.task_id, attempt);
            return Err(AbortError::new(JobError::Superseded.to_string()).into());
        }
        Err(error) => error,
    };

    let message = error.to_string();
    let kind = error.kind().to_owned();
    let outcome = match &error {
        JobError::Permanent(_) | JobError::Superseded => {
            Outcome::Dead { status: "Killed", kind, message: message.clone() }
        }
        _ if info.is_last() => Outcome::Dead { status: "Failed", kind, message: message.clone() },
        JobError::RateLimited { retry_after, .. } => Outcome::Retry {
            delay: (*retry_after).max(J::BACKOFF.delay(info.number)),
            kind,
            message: message.clone(),
        },
        JobError::Transient(_) => {
            Outcome::Retry { delay: J::BACKOFF.delay(info.number), kind, message: message.clone() }
        }
    };
    let settled = meta.claim.lease.settle(settlement(outcome.clone())).await;
    let counted = if matches!(outcome, Outcome::Retry { .. }) { Finished::Retry } else { Finished::Dead };
    ctx.finished(J::QUEUE, counted, ran);
    match outcome {
        Outcome::Dead { status: "Killed", .. } => {
            tracing::error!(queue = J::QUEUE, task.id = %meta.task_id, attempt, error = %message, "job failed permanently");
            Err(AbortError::new(message).into())
        }
        Outcome::Retry { delay, .. } => {
            if settled.is_some() {
                // Written: the retry starts at its time, not at a fallback poll.
                crate::announce::due_in(&meta.task_id, delay);
            }
            let retry_at = settled.and_then(|s| s.retry_at).map(|at| at.to_rfc3339());
            tracing::warn!(queue = J::QUEUE, task.id = %meta.task_id, attempt, retry_in_ms = delay.as_millis() as u64,
                retry_at = retry_at.as_deref().unwrap_or("pending"), error = %message, "job failed; will retry");
            Err(message.into())
        }
        _ => {
            tracing::error!(queue = J::QUEUE, task.id = %meta.task_id, attempt, error = %message, "job is dead: attempts exhausted");
            Err(message.into())
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}
