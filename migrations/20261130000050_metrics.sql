-- Prometheus metrics (core/src/metrics): each process adds its counts to its own rows
-- every few seconds; /metrics sums them. Rows unwritten for a while are folded into the
-- retired row of their sample (process = ''), so no sum ever goes down.
create table metric_samples (
    process  text             not null,
    -- Sample name, e.g. mujibak_jobs_total or mujibak_job_duration_seconds_bucket.
    name     text             not null,
    -- Canonical label set, e.g. queue="send_message",outcome="done" (never tenant data).
    labels   text             not null,
    value    double precision not null,
    seen_at  timestamptz      not null default now(),
    primary key (process, name, labels)
);
create index metric_samples_seen_at on metric_samples (seen_at);

-- The oldest due job of each queue (/metrics and /readyz): one index probe per queue.
-- jobs_fair_claim orders by tenant before run_at, so it cannot answer "oldest" cheaply.
create index if not exists jobs_runnable_by_age on apalis.jobs (job_type, run_at)
    where status = 'Pending' or (status = 'Failed' and attempts < max_attempts);
