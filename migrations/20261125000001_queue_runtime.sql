-- Tables owned by our queue runtime (jobs/), beside apalis' own `apalis` schema.
-- `mujibak migrate` runs apalis' setup first, so this migration may index apalis.jobs.

-- apalis keeps only the last error of a job (`last_result`). We keep every attempt's.
-- No foreign key to apalis.jobs: finished job rows are pruned on a schedule and the
-- history of a failed job must outlive nothing but its own prune.
create table job_errors (
    task_id     text        not null,
    queue       text        not null,
    attempt     integer     not null check (attempt > 0),
    -- transient | rate_limited | permanent | timeout | panic | crashed | abandoned
    kind        text        not null,
    -- Our own error text (never customer text: job payloads are ids only).
    message     text        not null,
    retry_at    timestamptz,
    created_at  timestamptz not null default now(),
    primary key (task_id, attempt)
);
create index job_errors_created_at on job_errors (created_at);

-- One row per (scheduled task, tick). Inserted in the same transaction as the tick's
-- job, so any number of schedulers (one per worker replica) enqueue each tick once.
create table cron_ticks (
    task        text        not null,
    tick        timestamptz not null,
    task_id     text        not null,
    created_at  timestamptz not null default now(),
    primary key (task, tick)
);

-- apalis ships no index on done_at: pruning finished rows would scan the table.
create index if not exists jobs_done_at_finished on apalis.jobs (done_at) where status = 'Done';
-- Ops queries by queue and live state (apalis' own stats SQL scans the whole table).
create index if not exists jobs_queue_status on apalis.jobs (job_type, status);
