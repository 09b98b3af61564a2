//! What the instrumented code calls: one function per event, with closed enums for every
//! label value (so no caller can put an id or a text in a label). Each records into the
//! process's [`global`] registry: memory only, no I/O.

use std::time::Duration;

use super::{global, JOBS, JOB_DURATION, OUTBOUND_CALLS, REPLY_LATENCY, WEBHOOK_DELIVERIES, WEBHOOK_INGEST};

/// How a job attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    Retry,
    Dead,
}

/// Records a settled attempt of `queue`; `ran` is its run time (`None`: never run, as
/// when the attempt guard kills a job).
pub fn job_finished(queue: &'static str, outcome: JobOutcome, ran: Option<Duration>) {
    let outcome = match outcome {
        JobOutcome::Done => "done",
        JobOutcome::Retry => "retry",
        JobOutcome::Dead => "dead",
    };
    global().inc(&JOBS, &[queue, outcome]);
    if let Some(ran) = ran {
        global().observe(&JOB_DURATION, &[queue], ran.as_secs_f64());
    }
}

/// What became of a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Signed, read and stored (its events queued or applied).
    Accepted,
    /// Signed but unreadable: stored for staff.
    Unprocessable,
    BadSignature,
    UnknownConnection,
    /// Its body was too large, too slow or over the bytes in flight (Meta retries).
    Refused,
    /// We failed (database): Meta will retry.
    Error,
}

/// Records a webhook delivery and how long answering it took.
pub fn webhook_delivery(outcome: WebhookOutcome, took: Duration) {
    let outcome = match outcome {
        WebhookOutcome::Accepted => "accepted",
        WebhookOutcome::Unprocessable => "unprocessable",
        WebhookOutcome::BadSignature => "bad_signature",
        WebhookOutcome::UnknownConnection => "unknown_connection",
        WebhookOutcome::Refused => "refused",
        WebhookOutcome::Error => "error",
    };
    global().inc(&WEBHOOK_DELIVERIES, &[outcome]);
    global().observe(&WEBHOOK_INGEST, &[], took.as_secs_f64());
}

/// Records a bot reply accepted by Meta `latency` after its customer message arrived.
pub fn reply_sent(latency: Duration) {
    global().observe(&REPLY_LATENCY, &[], latency.as_secs_f64());
}

/// An outside provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    /// The WhatsApp Cloud (Graph) API.
    Meta,
    /// Payments (hosted invoices).
    Moyasar,
}

/// How a call to a provider ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    Status4xx,
    Status429,
    Status5xx,
    Timeout,
    /// No HTTP answer we could read (connection refused, broken exchange, bad body).
    Error,
}

impl CallOutcome {
    /// The outcome of an HTTP answer with `status`.
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=399 => Self::Ok,
            429 => Self::Status429,
            400..=499 => Self::Status4xx,
            500..=599 => Self::Status5xx,
            _ => Self::Error,
        }
    }
}

/// Records one call to `provider`.
pub fn outbound_call(provider: Provider, outcome: CallOutcome) {
    let provider = match provider {
        Provider::OpenAi => "openai",
        Provider::Meta => "meta",
        Provider::Moyasar => "moyasar",
    };
    let outcome = match outcome {
        CallOutcome::Ok => "ok",
        CallOutcome::Status4xx => "4xx",
        CallOutcome::Status429 => "429",
        CallOutcome::Status5xx => "5xx",
        CallOutcome::Timeout => "timeout",
        CallOutcome::Error => "error",
    };
    global().inc(&OUTBOUND_CALLS, &[provider, outcome]);
}
