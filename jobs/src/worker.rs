//! THE registry: every queue a worker process consumes and every cron schedule, in one
//! place. A job type not listed in [`QUEUES`] does not run; a recurring job not listed in
//! [`schedules`] is never enqueued. The workers themselves (names, restarts, concurrency
//! planned for the pool, graceful shutdown) are the engine's: `mujibak_queue::workers`.

use std::future::Future;

use chrono::Utc;
use chrono_tz::Asia::Riyadh;
use mujibak_core::{billing::run::period_before, config::QueueConfig};
use mujibak_queue::{
    cron::{Schedule, ScheduleError, Scheduler},
    fit::{plan, PoolFitError, Wanted},
};
pub use mujibak_queue::{WorkerOptions, Workers};

use crate::{
    billing::Billing,
    delete_account::DeleteAccount,
    export_data::ExportData,
    fetch_media::FetchMedia,
    generate_reply::GenerateReply,
    handle_inbound::HandleInbound,
    job::{Job, JobContext, Queued},
    notify_breach::NotifyBreach,
    prune_jobs::PruneJobs,
    prune_sessions::PruneSessions,
    reconcile_send::ReconcileSend,
    send_email::SendEmail,
    send_message::SendMessage,
    stats_rollup,
    sweep_inbound::SweepInbound,
};

/// One queue of the registry.
#[derive(Clone, Copy)]
pub struct QueueSpec {
    pub name: &'static str,
    pub concurrency: usize,
    /// `Job::WAITS_OUTSIDE`.
    pub waits_outside: bool,
    /// `Job::OCCASIONAL`.
    pub occasional: bool,
    add: fn(Workers, &JobContext, &WorkerOptions, usize) -> Workers,
}

impl QueueSpec {
    /// What the pool fit reads of this queue.
    pub fn wanted(&self) -> Wanted {
        Wanted {
            name: self.name,
            concurrency: self.concurrency,
            waits_outside: self.waits_outside,
            occasional: self.occasional,
        }
    }
}

const fn spec<J: Job>() -> QueueSpec {
    QueueSpec {
        name: J::QUEUE,
        concurrency: J::CONCURRENCY,
        waits_outside: J::WAITS_OUTSIDE,
        occasional: J::OCCASIONAL,
        add: |w, ctx, opts, n| w.add::<Queued<J>>(ctx, opts, n),
    }
}

/// Every queue a worker process consumes.
pub const QUEUES: &[QueueSpec] = &[
    spec::<HandleInbound>(),
    spec::<FetchMedia>(),
    spec::<GenerateReply>(),
    spec::<SendMessage>(),
    spec::<ReconcileSend>(),
    spec::<SweepInbound>(),
    spec::<SendEmail>(),
    spec::<PruneSessions>(),
    spec::<PruneJobs>(),
    spec::<DeleteAccount>(),
    spec::<ExportData>(),
    spec::<NotifyBreach>(),
    spec::<Billing>(),
];

/// Every recurring task, with expressions from configuration, in Asia/Riyadh time.
pub fn schedules(config: &QueueConfig) -> Result<Vec<Schedule>, ScheduleError> {
    Ok(vec![
        schedule("prune_jobs", &config.prune_schedule, |_| PruneJobs {})?.catch_up(1),
        schedule("prune_sessions", "0 7 * * * *", |_| PruneSessions {})?.catch_up(1),
        schedule("sweep_inbound", "0 * * * * *", |_| SweepInbound {})?.catch_up(1),
        // Daily at 03:23 Riyadh; a missed day is caught up at start-up.
        schedule("sweep_deletions", "0 23 3 * * *", |_| DeleteAccount::Sweep)?.catch_up(1),
        schedule("expire_exports", "0 17 * * * *", |_| ExportData::Expire)?.catch_up(1),
        // 00:10 Riyadh on the 1st; a worker down over the 1st catches the run up at start-up.
        schedule("invoice_run", "0 10 0 1 * *", |tick| Billing::Run { period: period_before(tick) })?
            .catch_up(3),
        // Hourly: a paid invoice whose webhook was lost is found within the hour.
        schedule("reconcile_payments", "0 41 * * * *", |_| Billing::Reconcile)?.catch_up(1),
        // Daily at 09:00 Riyadh: reminders and pauses for unpaid invoices.
        schedule("dunning", "0 0 9 * * *", |_| Billing::Dunning)?.catch_up(1),
    ])
}

/// Every queue of [`QUEUES`], with concurrency planned for `ctx.db`'s pool (a queue that
/// waits outside runs `opts.outside_concurrency` at once), and the queues page's
/// statistics rolled up beside them (`stats_rollup`).
pub fn registry(ctx: &JobContext, opts: &WorkerOptions) -> Result<Workers, PoolFitError> {
    let pool = ctx.db.options().get_max_connections();
    let wanted: Vec<_> = QUEUES.iter().map(QueueSpec::wanted).collect();
    let planned = plan(&wanted, pool, opts.reserved_connections, opts.outside_concurrency)?;
    let workers = Workers::default().occasional(planned.occasional);
    let workers = QUEUES.iter().zip(planned.per_queue).fold(workers, |w, (q, n)| (q.add)(w, ctx, opts, n));
    Ok(workers.alongside(stats_rollup::companion(ctx.done_job_retention)))
}

/// A schedule of job type `J`, in Riyadh time.
pub fn schedule<J: Job>(
    task: &'static str,
    expr: &str,
    make: impl Fn(chrono::DateTime<Utc>) -> J + Send + Sync + 'static,
) -> Result<Schedule, ScheduleError> {
    Ok(Schedule::new(task, expr, J::QUEUE, J::MAX_ATTEMPTS, make)?.in_zone(Riyadh))
}

/// Runs every registered queue and the cron scheduler until `shutdown` resolves.
pub async fn run<S>(
    ctx: JobContext,
    schedules: Vec<Schedule>,
    opts: WorkerOptions,
    shutdown: S,
) -> anyhow::Result<()>
where
    S: Future<Output = ()> + Clone + Send + 'static,
{
    let workers = registry(&ctx, &opts)?;
    let scheduler = Scheduler::new(ctx.db.clone(), schedules, Utc::now());
    Ok(workers.supervise(scheduler, &opts, shutdown).await?)
}
