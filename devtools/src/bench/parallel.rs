//! Jobs on every core: the same pipeline load (fewer messages than `pipeline`) twice, on
//! a worker whose jobs all run on one thread (`WORKER_PARALLEL_JOBS=false`, as apalis'
//! `Monitor` alone runs them) and on one whose jobs run on every core (the default), in
//! the same run: jobs/s of each, the first as the baseline.

use super::{pipeline::drive, report::Figure, Options};

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let n: usize = if opts.quick { 200 } else { 5_000 };
    let one = drive(opts, "one_thread", n, &[("WORKER_PARALLEL_JOBS", "false")]).await?;
    let every = drive(opts, "every_core", n, &[("WORKER_PARALLEL_JOBS", "true")]).await?;
    let rate = |d: &super::pipeline::Drive| d.jobs as f64 / d.settled;
    let replies = |d: &super::pipeline::Drive| d.messages as f64 / d.to_last_send;
    Ok(vec![
        Figure::new("jobs_per_s_every_core", rate(&every), "jobs/s", "> 1× one thread").against(rate(&one)),
        Figure::new("msg_per_s_every_core", replies(&every), "msg/s", "> 1× one thread")
            .against(replies(&one)),
    ])
}
