//! Prometheus metrics: the catalog of every series ([`FAMILIES`]), a small in-process
//! [`Registry`] the web and worker code record into, and the helpers they call
//! ([`job_finished`], [`webhook_delivery`], [`reply_sent`], [`outbound_call`]).
//! `flush` writes each process's counts to Postgres every few seconds and `expose` renders
//! the sum over every process, with gauges read from the queue at scrape time, in the
//! Prometheus text format (served by the web process at `/metrics`).
//!
//! Why a registry of our own rather than `metrics` + `metrics-exporter-prometheus` or the
//! `prometheus` crate: web and worker are separate processes (N of each) and a worker has
//! no HTTP port, so every process must hand its raw counts (counter totals, cumulative
//! histogram buckets) to Postgres and one web process must sum them. The exporter only
//! renders its own process's state as text, and either crate's global recorder cannot be
//! instantiated twice (a test of two processes' sums needs two). The series are few and
//! fixed, every label value is a `&'static str` from a closed set, so a map of plain
//! counts behind one uncontended lock (no allocation after a series' first event) is all
//! that is needed; recording never touches the database.
//!
//! Series (docs/operations.md "Metrics" lists the same, and a test checks they agree):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `mujibak_queue_depth` | gauge | `queue`, `state` (pending, scheduled, running, retrying) |
//! | `mujibak_queue_oldest_pending_seconds` | gauge | `queue` |
//! | `mujibak_jobs_total` | counter | `queue`, `outcome` (done, retry, dead) |
//! | `mujibak_job_duration_seconds` | histogram | `queue` |
//! | `mujibak_webhook_deliveries_total` | counter | `outcome` (accepted, unprocessable, bad_signature, unknown_connection, error) |
//! | `mujibak_webhook_ingest_seconds` | histogram | none |
//! | `mujibak_reply_latency_seconds` | histogram | none |
//! | `mujibak_outbound_calls_total` | counter | `provider` (openai, meta, moyasar), `outcome` (ok, 4xx, 429, 5xx, timeout, error) |
//!
//! No label ever carries a tenant id, a phone number, message text or a token: label
//! values are constants of this module or queue names.

pub mod expose;
pub mod flush;
mod record;

pub use record::{
    job_finished, outbound_call, reply_sent, webhook_delivery, CallOutcome, JobOutcome, Provider,
    WebhookOutcome,
};

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

/// What kind of series a family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    /// The word of the exposition's `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family: its name, help text, label names and (histograms) bucket bounds.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    /// Upper bounds in seconds (histograms only); `+Inf` is implied.
    pub buckets: &'static [f64],
}

const fn family(
    name: &'static str,
    kind: Kind,
    labels: &'static [&'static str],
    buckets: &'static [f64],
    help: &'static str,
) -> Family {
    Family { name, help, kind, labels, buckets }
}

const JOB_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
const INGEST_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
const REPLY_BUCKETS: &[f64] = &[1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0];

/// Jobs waiting or running, by queue and state (read from the queue at scrape time).
pub static QUEUE_DEPTH: Family = family("mujibak_queue_depth", Kind::Gauge, &["queue", "state"], &[],
    "Jobs by queue and state: pending (due), scheduled (not yet due), running, retrying (failed, another attempt to come).");
/// How long the oldest due job of each queue has waited (0 when none is due).
pub static QUEUE_OLDEST: Family = family("mujibak_queue_oldest_pending_seconds", Kind::Gauge, &["queue"], &[],
    "Seconds the oldest due job (pending, or failed with attempts left, run_at passed) of the queue has waited.");
/// Attempts settled by the queue runtime.
pub static JOBS: Family = family(
    "mujibak_jobs_total",
    Kind::Counter,
    &["queue", "outcome"],
    &[],
    "Job attempts settled, by queue and outcome (done, retry, dead).",
);
/// How long attempts ran.
pub static JOB_DURATION: Family = family(
    "mujibak_job_duration_seconds",
    Kind::Histogram,
    &["queue"],
    JOB_BUCKETS,
    "Run time of one job attempt, by queue.",
);
/// Meta's webhook deliveries.
pub static WEBHOOK_DELIVERIES: Family = family(
    "mujibak_webhook_deliveries_total",
    Kind::Counter,
    &["outcome"],
    &[],
    "WhatsApp webhook deliveries (POST), by outcome.",
);
/// Time to answer a webhook delivery.
pub static WEBHOOK_INGEST: Family = family(
    "mujibak_webhook_ingest_seconds",
    Kind::Histogram,
    &[],
    INGEST_BUCKETS,
    "Time from receiving a WhatsApp webhook delivery to answering it (verify, store, enqueue).",
);
/// Customer message received → bot reply accepted by Meta.
pub static REPLY_LATENCY: Family = family(
    "mujibak_reply_latency_seconds",
    Kind::Histogram,
    &[],
    REPLY_BUCKETS,
    "Time from a customer message reaching Mujibak to the bot's reply being accepted by Meta.",
);
/// Calls to outside providers.
pub static OUTBOUND_CALLS: Family = family(
    "mujibak_outbound_calls_total",
    Kind::Counter,
    &["provider", "outcome"],
    &[],
    "Calls to outside providers (openai, meta, moyasar), by outcome (ok, 4xx, 429, 5xx, timeout, error).",
);

/// Every family, in exposition order.
pub static FAMILIES: &[&Family] = &[
    &QUEUE_DEPTH,
    &QUEUE_OLDEST,
    &JOBS,
    &JOB_DURATION,
    &WEBHOOK_DELIVERIES,
    &WEBHOOK_INGEST,
    &REPLY_LATENCY,
    &OUTBOUND_CALLS,
];

/// A series: its family and up to two label values (unused ones empty).
type Key = (&'static str, [&'static str; 2]);

#[derive(Debug, Clone)]
enum Cell {
    Count(u64),
    /// Per-bucket (not cumulative) counts, the last one for `+Inf`; sum of observations.
    Histogram {
        buckets: Vec<u64>,
        sum: f64,
    },
}

/// One process's counts since it started. Cheap to record into; read by `flush`.
#[derive(Debug, Default)]
pub struct Registry {
    series: Mutex<HashMap<Key, (&'static Family, Cell)>>,
}

/// One sample line's identity and value: the sample name (`_bucket`, `_sum`, `_count`
/// for histograms) and its labels rendered in the exposition's canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: String,
    pub value: f64,
}

impl Registry {
    /// Adds one to counter `family` with label `values` (in the family's label order).
    pub fn inc(&self, family: &'static Family, values: &[&'static str]) {
        debug_assert!(family.kind == Kind::Counter && values.len() == family.labels.len());
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let (_, cell) = series.entry(key(family, values)).or_insert((family, Cell::Count(0)));
        if let Cell::Count(n) = cell {
            *n += 1;
        }
    }

    /// Records one observation of `seconds` in histogram `family`.
    pub fn observe(&self, family: &'static Family, values: &[&'static str], seconds: f64) {
        debug_assert!(family.kind == Kind::Histogram && values.len() == family.labels.len());
        let bucket = family.buckets.iter().position(|b| seconds <= *b).unwrap_or(family.buckets.len());
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let (_, cell) = series.entry(key(family, values)).or_insert_with(|| {
            (family, Cell::Histogram { buckets: vec![0; family.buckets.len() + 1], sum: 0.0 })
        });
        if let Cell::Histogram { buckets, sum } = cell {
            buckets[bucket] += 1;
            *sum += seconds;
        }
    }

    /// Every sample this process has counted, cumulative since it started.
    pub fn snapshot(&self) -> Vec<Sample> {
        let cells: Vec<(&'static Family, [&'static str; 2], Cell)> = {
            let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
            series.iter().map(|((_, values), (f, cell))| (*f, *values, cell.clone())).collect()
        };
        let mut out = Vec::new();
        for (f, values, cell) in cells {
            let labels = expose::labels(f.labels, &values[..f.labels.len()]);
            match cell {
                Cell::Count(n) => out.push(Sample { name: f.name.to_owned(), labels, value: n as f64 }),
                Cell::Histogram { buckets, sum } => {
                    let mut cumulative = 0;
                    for (i, n) in buckets.iter().enumerate() {
                        cumulative += n;
                        let le = f.buckets.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
                        let labels = expose::with_le(&labels, &le);
                        out.push(Sample {
                            name: format!("{}_bucket", f.name),
                            labels,
                            value: cumulative as f64,
                        });
                    }
                    out.push(Sample { name: format!("{}_sum", f.name), labels: labels.clone(), value: sum });
                    out.push(Sample { name: format!("{}_count", f.name), labels, value: cumulative as f64 });
                }
            }
        }
        out
    }
}

fn key(family: &'static Family, values: &[&'static str]) -> Key {
    let mut v = [""; 2];
    for (slot, value) in v.iter_mut().zip(values) {
        *slot = value;
    }
    (family.name, v)
}

/// The registry of this process, which `flush::start` writes to Postgres.
pub fn global() -> &'static Registry {
    static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::default);
    &GLOBAL
}

#[cfg(test)]
mod tests;
