//! The dashboard's usage charts: the last 30 days of inbound/outbound messages and reply
//! time (typical and slow days), drawn as server-side SVG (no chart library, no script),
//! and the typical reply time in seconds.

use mujibak_core::db::usage::Day;
use serde::Serialize;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;

/// One day's bars.
#[derive(Debug, Serialize)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
    pub in_y: f64,
    pub in_h: f64,
    pub out_y: f64,
    pub out_h: f64,
    pub label: String,
    pub inbound: i32,
    pub outbound: i32,
}

/// Everything the template draws.
#[derive(Debug, Serialize)]
pub struct Charts {
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    pub max_messages: i32,
    pub p50: String,
    pub p95: String,
    pub max_latency_ms: i64,
    pub total_in: i64,
    pub total_out: i64,
    /// The typical reply time in seconds, one decimal ("3.5"): the days' medians weighted
    /// by their replies. `None` before the first reply.
    pub typical_reply_secs: Option<String>,
    /// The slowest day's 95th percentile, in seconds.
    pub slowest_secs: String,
}

pub fn charts(days: &[Day]) -> Charts {
    let n = days.len().max(1) as f64;
    let slot = WIDTH / n;
    let max_messages = days.iter().map(|d| d.inbound.max(d.outbound)).max().unwrap_or(0).max(1);
    let scale = |v: i32| f64::from(v) / f64::from(max_messages) * (HEIGHT - 20.0);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (in_h, out_h) = (scale(d.inbound), scale(d.outbound));
            Bar {
                x: round(i as f64 * slot),
                width: round(slot / 2.0 - 1.0),
                in_y: round(HEIGHT - in_h),
                in_h: round(in_h),
                out_y: round(HEIGHT - out_h),
                out_h: round(out_h),
                label: d.day.format("%m-%d").to_string(),
                inbound: d.inbound,
                outbound: d.outbound,
            }
        })
        .collect();
    let max_latency = days.iter().filter_map(|d| d.p95_ms).fold(1.0_f64, f64::max);
    let line = |pick: fn(&Day) -> Option<f64>| {
        days.iter()
            .enumerate()
            .filter_map(|(i, d)| {
                pick(d).map(|v| {
                    format!(
                        "{},{}",
                        round(i as f64 * slot + slot / 2.0),
                        round(HEIGHT - v / max_latency * (HEIGHT - 20.0))
                    )
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    Charts {
        width: WIDTH,
        height: HEIGHT,
        bars,
        max_messages,
        p50: line(|d| d.p50_ms),
        p95: line(|d| d.p95_ms),
        max_latency_ms: max_latency.round() as i64,
        total_in: days.iter().map(|d| i64::from(d.inbound)).sum(),
        total_out: days.iter().map(|d| i64::from(d.outbound)).sum(),
        typical_reply_secs: typical(days).map(|ms| format!("{:.1}", ms / 1000.0)),
        slowest_secs: format!("{:.1}", max_latency / 1000.0),
    }
}

/// The days' median reply times weighted by their replies, in milliseconds.
fn typical(days: &[Day]) -> Option<f64> {
    let (sum, weight) = days
        .iter()
        .filter_map(|d| d.p50_ms.map(|p| (p, f64::from(d.outbound.max(1)))))
        .fold((0.0, 0.0), |(s, w), (p, n)| (s + p * n, w + n));
    (weight > 0.0).then(|| sum / weight)
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_latency_lines_skip_empty_days() {
        let day = |d: u32, i: i32, o: i32, p: Option<f64>| Day {
            day: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
            inbound: i,
            outbound: o,
            p50_ms: p,
            p95_ms: p.map(|v| v * 2.0),
        };
        let c = charts(&[day(1, 10, 5, Some(100.0)), day(2, 0, 0, None), day(3, 20, 20, Some(50.0))]);
        assert_eq!(c.max_messages, 20);
        assert_eq!(c.bars[2].in_h, HEIGHT - 20.0);
        assert_eq!(c.bars[0].in_h, (HEIGHT - 20.0) / 2.0);
        assert_eq!(c.p50.split(' ').count(), 2);
        assert_eq!((c.total_in, c.total_out), (30, 25));
        // (100 ms × 5 replies + 50 ms × 20) / 25 = 60 ms.
        assert_eq!(c.typical_reply_secs.as_deref(), Some("0.1"));
        assert_eq!(typical(&[day(1, 1, 1, Some(3000.0)), day(2, 3, 3, Some(4000.0))]), Some(3750.0));
        assert_eq!(typical(&[day(1, 0, 0, None)]), None);
    }
}
