-- How far the per-minute job rollup has gone, and below which minute finished (`Done`)
-- job rows may already be pruned (core/src/db/job_rollup.rs). A finished job that never
-- failed is kept only a few minutes once counted (JOB_DONE_RETENTION_MINUTES): the queues
-- page's history is the rollup's, and at a thousand messages a second a week of rows
-- would be billions. The rollup never rewrites a minute before `pruned_before`, so
-- pruning can never take counts away from the page.
create table if not exists job_stats_progress (
    id            boolean     primary key default true check (id),
    rolled_to     timestamptz not null,
    pruned_before timestamptz
);
