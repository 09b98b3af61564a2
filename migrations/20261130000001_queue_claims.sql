-- Our own claim, rescue and settle SQL over apalis.jobs (core/src/db/queue.rs).

-- Claims go round-robin by tenant (kept in apalis' metadata hstore under 'tenant', '' for
-- jobs of no tenant), oldest first within a tenant: one index range scan per claim.
create index if not exists jobs_fair_claim on apalis.jobs
    (job_type, (coalesce(metadata -> 'tenant', '')), priority desc, run_at, id)
    where status = 'Pending' or (status = 'Failed' and attempts < max_attempts);

-- Dead rows (aborted, or failed with no attempt left) are pruned after their own,
-- longer retention.
create index if not exists jobs_done_at_dead on apalis.jobs (done_at)
    where status = 'Killed' or (status = 'Failed' and attempts >= max_attempts);

-- Rescue and hand-back look for live rows by worker.
create index if not exists jobs_running_by_worker on apalis.jobs (lock_by)
    where status in ('Running', 'Queued');

-- job_errors.kind gains 'interrupted' (handed back at shutdown) and 'undecodable'.
comment on column job_errors.kind is
    'transient | rate_limited | permanent | crashed | abandoned | interrupted | undecodable';
