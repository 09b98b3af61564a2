//! The registry's samples and the page they render to.

use super::*;

#[test]
fn counters_and_histograms_snapshot_as_prometheus_samples() {
    let r = Registry::default();
    r.inc(&JOBS, &["send_message", "done"]);
    r.inc(&JOBS, &["send_message", "done"]);
    r.observe(&JOB_DURATION, &["send_message"], 0.2);
    r.observe(&JOB_DURATION, &["send_message"], 500.0);

    let samples = r.snapshot();
    let get = |name: &str, labels: &str| {
        samples.iter().find(|s| s.name == name && s.labels == labels).map(|s| s.value)
    };

    assert_eq!(get("mujibak_jobs_total", "queue=\"send_message\",outcome=\"done\""), Some(2.0));
    let q = "queue=\"send_message\"";
    assert_eq!(get("mujibak_job_duration_seconds_bucket", &format!("{q},le=\"0.1\"")), Some(0.0));
    assert_eq!(get("mujibak_job_duration_seconds_bucket", &format!("{q},le=\"0.25\"")), Some(1.0));
    assert_eq!(get("mujibak_job_duration_seconds_bucket", &format!("{q},le=\"120\"")), Some(1.0));
    assert_eq!(get("mujibak_job_duration_seconds_bucket", &format!("{q},le=\"+Inf\"")), Some(2.0));
    assert_eq!(get("mujibak_job_duration_seconds_count", q), Some(2.0));
    assert!((get("mujibak_job_duration_seconds_sum", q).unwrap() - 500.2).abs() < 1e-9);
}

#[test]
fn the_page_lists_buckets_in_increasing_order_under_one_type_line() {
    let r = Registry::default();
    r.observe(&REPLY_LATENCY, &[], 3.5);

    let page = expose::render(&r.snapshot());

    assert_eq!(page.matches("# TYPE mujibak_reply_latency_seconds histogram").count(), 1);
    let bounds: Vec<f64> = page
        .lines()
        .filter_map(|l| l.strip_prefix("mujibak_reply_latency_seconds_bucket{le=\""))
        .map(|l| l.split('"').next().unwrap().parse().unwrap())
        .collect();
    assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
    assert!(page.ends_with("mujibak_reply_latency_seconds_count 1\n"), "{page}");
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(expose::labels(&["a"], &["x\"y\\z\n"]), "a=\"x\\\"y\\\\z\\n\"");
}

#[test]
fn call_outcomes_follow_the_status_class() {
    assert_eq!(CallOutcome::from_status(200), CallOutcome::Ok);
    assert_eq!(CallOutcome::from_status(429), CallOutcome::Status429);
    assert_eq!(CallOutcome::from_status(401), CallOutcome::Status4xx);
    assert_eq!(CallOutcome::from_status(503), CallOutcome::Status5xx);
}
