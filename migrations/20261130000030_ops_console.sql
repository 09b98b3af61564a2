-- The ops console (staff access tokens, their web sessions, the queues page's rollup).

-- A staff member's access token. Only its SHA-256 is kept; the token is printed once by
-- `mujibak staff-token create`. Expired or revoked tokens open nothing.
create table staff_tokens (
    token_id     uuid        primary key,
    name         text        not null check (length(name) between 1 and 100),
    token_hash   bytea       not null unique,
    -- ops:read ops:write support:read tenants:write incidents:write billing:write
    scopes       text[]      not null,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- A browser session of the ops console, opened with a staff token. The cookie holds a
-- random token; this row its SHA-256. It dies with its token (revoked or expired).
create table staff_sessions (
    session_hash bytea       primary key,
    token_id     uuid        not null references staff_tokens on delete cascade,
    csrf         text        not null,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null
);
create index staff_sessions_expires_at on staff_sessions (expires_at);

-- The queues page counts live rows by queue and state without touching finished ones:
-- an index over every row that is not Done (pending, scheduled, running, retrying,
-- dead). It replaces jobs_queue_status (job_type, status), which also indexed every Done
-- row (a million at our retention) and which no query of ours needs any more.
create index if not exists jobs_ops_open on apalis.jobs (job_type, status, run_at) where status <> 'Done';
drop index if exists apalis.jobs_queue_status;

-- Per queue and minute: jobs finished, and histograms of their queue wait (runnable to
-- claimed) and run time (claimed to done), bucketed at the bounds of
-- core::ops::stats::BOUNDS_MS. Written once a minute by each worker process
-- (jobs/src/stats_rollup.rs) from the finished rows of the last few minutes (rewritten
-- whole, so reruns are harmless); the queues page reads a day of these instead of a
-- million job rows.
create table job_stats_minute (
    queue       text        not null,
    minute      timestamptz not null,
    done        integer     not null,
    failed      integer     not null,
    wait_counts integer[]   not null,
    run_counts  integer[]   not null,
    primary key (queue, minute)
);
create index job_stats_minute_minute on job_stats_minute (minute);

-- job_errors.kind gains 'cancelled' (a staff member cancelled the job before it ran).
comment on column job_errors.kind is
    'transient | rate_limited | permanent | crashed | abandoned | interrupted | undecodable | cancelled';
