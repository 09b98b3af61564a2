//! The Prometheus text exposition format (version 0.0.4): label sets in canonical form,
//! the queue gauges, and the page itself, one `# HELP`/`# TYPE` block per family of
//! [`FAMILIES`](super::FAMILIES) in catalog order. No I/O here.

use std::{cmp::Ordering, fmt::Write};

use chrono::{DateTime, Utc};

use super::{Family, Kind, Sample, FAMILIES, QUEUE_DEPTH, QUEUE_OLDEST};

/// The states `mujibak_queue_depth` reports for every queue (0 when none).
pub const QUEUE_STATES: &[&str] = &["pending", "scheduled", "running", "retrying"];

/// `name="value",…` with values escaped as the format requires.
pub fn labels(names: &[&str], values: &[&str]) -> String {
    let mut out = String::new();
    for (i, (n, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let v = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let _ = write!(out, "{n}=\"{v}\"");
    }
    out
}

/// `labels` with the bucket bound `le` appended (always last, so samples sort by it).
pub fn with_le(labels: &str, le: &str) -> String {
    if labels.is_empty() {
        format!("le=\"{le}\"")
    } else {
        format!("{labels},le=\"{le}\"")
    }
}

/// The gauge samples of every queue in `queues`: depth by state (`depth` holds
/// (queue, state, count) rows, missing ones are 0) and the age at `now` of the oldest due
/// job (`oldest` holds (queue, run_at) rows; 0 without one). Queues found in the rows
/// but not in `queues` (a job type no worker consumes any more) are reported too.
pub fn queue_gauges(
    queues: &[&str],
    depth: &[(String, String, i64)],
    oldest: &[(String, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Vec<Sample> {
    let mut all: Vec<&str> = queues.to_vec();
    all.extend(depth.iter().map(|(q, _, _)| q.as_str()).chain(oldest.iter().map(|(q, _)| q.as_str())));
    all.sort_unstable();
    all.dedup();
    let mut out = Vec::new();
    for q in all {
        for state in QUEUE_STATES {
            let n = depth.iter().find(|(dq, ds, _)| dq == q && ds == state).map_or(0, |(_, _, n)| *n);
            let labels = labels(QUEUE_DEPTH.labels, &[q, state]);
            out.push(Sample { name: QUEUE_DEPTH.name.to_owned(), labels, value: n as f64 });
        }
        let age = oldest
            .iter()
            .find(|(oq, _)| oq == q)
            .map_or(0.0, |(_, at)| ((now - *at).num_milliseconds().max(0) as f64) / 1000.0);
        out.push(Sample {
            name: QUEUE_OLDEST.name.to_owned(),
            labels: labels(QUEUE_OLDEST.labels, &[q]),
            value: age,
        });
    }
    out
}

/// The page: every sample of `samples` under its family, families in catalog order,
/// each histogram's buckets in increasing `le`. Samples of no known family are dropped.
pub fn render(samples: &[Sample]) -> String {
    let mut out = String::new();
    for f in FAMILIES {
        let mut mine: Vec<&Sample> = samples.iter().filter(|s| family_of(&s.name) == Some(f.name)).collect();
        if mine.is_empty() {
            continue;
        }
        mine.sort_by(|a, b| order(f, a, b));
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
        for s in mine {
            let value = if s.value.fract() == 0.0 && s.value.abs() < 1e15 {
                format!("{}", s.value as i64)
            } else {
                s.value.to_string()
            };
            if s.labels.is_empty() {
                let _ = writeln!(out, "{} {value}", s.name);
            } else {
                let _ = writeln!(out, "{}{{{}}} {value}", s.name, s.labels);
            }
        }
    }
    out
}

/// The family a sample name belongs to.
pub fn family_of(sample: &str) -> Option<&'static str> {
    FAMILIES.iter().map(|f| f.name).find(|name| {
        sample == *name
            || sample.strip_prefix(name).is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix))
    })
}

/// Series by their labels (without `le`); a histogram's buckets, then `_sum`, `_count`.
fn order(f: &Family, a: &Sample, b: &Sample) -> Ordering {
    let key = |s: &Sample| {
        let (base, le) = match s.labels.rsplit_once("le=\"") {
            Some((base, le)) if f.kind == Kind::Histogram => {
                (base.trim_end_matches(',').to_owned(), le.trim_end_matches('"').parse::<f64>().ok())
            }
            _ => (s.labels.clone(), None),
        };
        let suffix = if s.name.ends_with("_bucket") {
            0
        } else if s.name.ends_with("_sum") {
            1
        } else {
            2
        };
        (base, suffix, le.unwrap_or(f64::INFINITY))
    };
    let (ka, kb) = (key(a), key(b));
    ka.0.cmp(&kb.0).then(ka.1.cmp(&kb.1)).then(ka.2.total_cmp(&kb.2))
}
