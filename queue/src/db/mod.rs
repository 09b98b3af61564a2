//! The engine's SQL, over apalis' tables (`apalis.jobs`, `apalis.workers`) and the
//! engine's own (`job_errors`, `cron_ticks`): pushing jobs (`push`), announcing them once
//! committed (`announce`), claiming and settling them (`queue`), putting them back
//! (`rescue`), pending jobs taken over by another job's transaction (`take`), durable cron ticks (`cron_ticks`) and pruning finished rows (`prune`). Job rows carry no application data but their payload
//! (ids only) and the group claims are fair between.

pub mod announce;
pub mod cron_ticks;
pub mod prune;
pub mod push;
pub mod queue;
pub mod rescue;
pub mod take;
