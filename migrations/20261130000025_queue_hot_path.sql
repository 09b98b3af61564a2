-- The queue's hot path writes fewer index entries and takes no lock on apalis.workers.
-- Mujibak's runtime claims, settles and rescues with its own SQL (core/src/db/queue.rs),
-- which never uses these:
--   unique_job_id                  duplicates the primary key on id;
--   lidx                           duplicates idx_apalis_jobs_lock_by;
--   idx_apalis_jobs_fetch_partial  apalis' own fetch order (claims use jobs_fair_claim);
--   fk_worker_lock_by              made every claim lock its worker's row (FOR KEY SHARE);
--                                  the rescue also takes back jobs whose worker row is
--                                  gone, and workers are deleted only when they hold no job.
drop index if exists apalis.unique_job_id;
drop index if exists apalis.lidx;
drop index if exists apalis.idx_apalis_jobs_fetch_partial;
alter table apalis.jobs drop constraint if exists fk_worker_lock_by;
