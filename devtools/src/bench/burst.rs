//! A burst at a provider's real speed (#28's first target): 2,000 customers of 200
//! businesses write within 10 s (20 of 20 with `quick`), a tenth of them three messages
//! 0.5 s apart, while the model answers in a log-normal time (p50 1.5 s, p99 8 s) and the
//! Graph API in 300 ms, with the production reply debounce (3 s) and the Procfile's pools
//! (web 3 connections, worker 15). Figures: the time from each customer's last message to
//! their answer (webhook posted → reply accepted by the Graph API), the last of them and
//! p50/p99, against one customer alone on the same stage just before (what no queue adds:
//! debounce, model and Graph time); Mujibak's own share of each answer's time (that time
//! less the debounce, the model's time on that customer's turn and the send's 300 ms; the
//! read receipt runs beside the model call); customers answered more than once (one reply
//! per turn); and the most model calls in flight at once. `MUJIBAK_BENCH_PROVIDER_CONCURRENCY`
//! sets the worker's `WORKER_PROVIDER_CONCURRENCY` (unset: the product's default; 0: those
//! queues share the pool, as before #28); `MUJIBAK_BENCH_WORKER_POOL` the worker's pool
//! (unset: the Procfile's 15; 20 gives `handle_inbound` its four slots instead of one). `scale_out` runs the same burst with 1, 2 and 4
//! worker processes on one Postgres (#28's scale-out curve).

use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use super::{
    report::{quantile, Figure},
    stage::Stage,
    turns::{self, Turn},
    Options,
};

const DEBOUNCE_MS: f64 = 3_000.0;
const GRAPH_MS: u64 = 300;
/// Between the messages of a customer's burst of three.
const GAP: Duration = Duration::from_millis(500);

/// What one burst measured.
struct Burst {
    n: usize,
    /// Seconds: one customer alone, then the slowest of the burst.
    alone: f64,
    last: f64,
    /// Milliseconds from each customer's last message to their answer, and Mujibak's own
    /// share of it.
    ms: Vec<f64>,
    own: Vec<f64>,
    twice: usize,
    peak: f64,
}

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let mut b = measure(opts, "burst", 1).await?;
    let n = b.n;
    Ok(vec![
        Figure::new(format!("burst_{n}_slowest_answer_s"), b.last, "s", "≤ 30 s").against(b.alone),
        Figure::new(format!("burst_{n}_p50_s"), quantile(&mut b.ms, 0.5) / 1000.0, "s", "-").against(b.alone),
        Figure::new(format!("burst_{n}_p99_s"), quantile(&mut b.ms, 0.99) / 1000.0, "s", "-")
            .against(b.alone),
        Figure::new(format!("burst_{n}_own_share_p50_ms"), quantile(&mut b.own, 0.5), "ms", "-"),
        Figure::new(format!("burst_{n}_own_share_p99_ms"), quantile(&mut b.own, 0.99), "ms", "≤ 500 ms"),
        Figure::new(format!("burst_{n}_answered_twice"), b.twice as f64, "customers", "0"),
        Figure::new(format!("burst_{n}_peak_model_calls"), b.peak, "calls", "-"),
    ])
}

/// #28's scale-out curve: the same burst with 1, 2 and 4 worker processes (each with the
/// Procfile's pool of 15) on one Postgres; the slowest answer and Mujibak's own share p99
/// of each, against one customer alone on the same stage.
pub async fn scale_out(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for workers in [1, 2, 4] {
        let mut b = measure(opts, &format!("scaleout_{workers}"), workers).await?;
        let own = quantile(&mut b.own, 0.99);
        println!(
            "bench: scale-out, {workers} worker process(es): slowest answer {:.1} s, p99 {:.1} s, own share p99 {own:.0} ms, answered twice {}",
            b.last,
            quantile(&mut b.ms, 0.99) / 1000.0,
            b.twice
        );
        figures.push(
            Figure::new(format!("scaleout_{workers}_workers_slowest_answer_s"), b.last, "s", "-")
                .against(b.alone),
        );
        figures.push(Figure::new(format!("scaleout_{workers}_workers_own_share_p99_ms"), own, "ms", "-"));
    }
    Ok(figures)
}

/// When each customer's last message was accepted by the webhook (its event's
/// `received_at`) and stored by a worker (`messages.received_at`).
async fn stored_at(stage: &Stage) -> anyhow::Result<HashMap<String, (SystemTime, SystemTime)>> {
    type Row = (Option<String>, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "select substring(m.body from '#([0-9]+)'), max(e.received_at), max(m.received_at)
           from messages m
           join inbound_events e on e.tenant_id = m.tenant_id and e.dedupe_key = 'message:' || m.wamid
          where m.direction = 'in' group by 1",
    )
    .fetch_all(&stage.db)
    .await?;
    Ok(rows.into_iter().filter_map(|(customer, e, m)| Some((customer?, (e.into(), m.into())))).collect())
}

/// Prints where the own share went, p50 and p99 of each part: the last message posted →
/// stored by a worker (and the first part of it, posted → accepted by the webhook); stored → the turn's last completion reached the model, less the
/// debounce; the model's answer → the reply accepted, less the send's Graph time; and the
/// same parts (with the model's time) for the slowest customer.
fn split(
    answered: &[turns::Answered],
    model: &HashMap<String, turns::ModelTime>,
    stored: &HashMap<String, (SystemTime, SystemTime)>,
) {
    let ms = |later: SystemTime, earlier: SystemTime| match later.duration_since(earlier) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -e.duration().as_secs_f64() * 1000.0,
    };
    let (mut storing, mut accepting, mut asking, mut sending) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for a in answered {
        let (Some(m), Some(&(e, s))) = (model.get(&a.customer), stored.get(&a.customer)) else { continue };
        storing.push(ms(s, a.posted));
        accepting.push(ms(e, a.posted));
        asking.push(ms(m.asked, s) - DEBOUNCE_MS);
        sending.push(ms(a.replied, m.answered) - GRAPH_MS as f64);
    }
    if let Some(a) = answered.iter().max_by(|x, y| x.ms.total_cmp(&y.ms)) {
        if let (Some(m), Some(&(_, s))) = (model.get(&a.customer), stored.get(&a.customer)) {
            println!(
                "bench: the slowest customer, {:.1} s: posted → stored {:.0} ms; stored → model asked (less the debounce) {:.0} ms; the model {:.0} ms; answer → reply accepted (less Graph) {:.0} ms",
                a.ms / 1000.0,
                ms(s, a.posted),
                ms(m.asked, s) - DEBOUNCE_MS,
                m.ms,
                ms(a.replied, m.answered) - GRAPH_MS as f64
            );
        }
    }
    let part = |v: &mut Vec<f64>| format!("p50 {:.0} ms, p99 {:.0} ms", quantile(v, 0.5), quantile(v, 0.99));
    println!(
        "bench: own share, posted → stored {} (of which posted → accepted by the webhook {}); stored → model asked (less the debounce) {}; model's answer → reply accepted (less Graph) {}",
        part(&mut storing),
        part(&mut accepting),
        part(&mut asking),
        part(&mut sending)
    );
}

/// One burst on a fresh stage `name` with `workers` worker processes.
async fn measure(opts: &Options, name: &str, workers: usize) -> anyhow::Result<Burst> {
    let (n, businesses) = if opts.quick { (20, 20) } else { (2_000, 200) };
    let provider = std::env::var("MUJIBAK_BENCH_PROVIDER_CONCURRENCY").ok();
    let web =
        [("REPLY_DEBOUNCE_SECS", "3"), ("DATABASE_MAX_CONNECTIONS", "3"), ("OPENAI_TIMEOUT_SECS", "30")];
    let pool = std::env::var("MUJIBAK_BENCH_WORKER_POOL").unwrap_or_else(|_| "15".into());
    let mut worker = vec![("DATABASE_MAX_CONNECTIONS", pool.as_str())];
    if let Some(provider) = &provider {
        worker.push(("WORKER_PROVIDER_CONCURRENCY", provider.as_str()));
    }
    let stage = Stage::start_formation(opts, name, businesses, workers, &web, &worker).await?;
    stage.model.set_latency_spread(Duration::from_millis(1_500), Duration::from_secs(8));
    stage.graph.set_latency(Duration::from_millis(GRAPH_MS));
    println!(
        "bench: burst of {n} customers in 10 s, a tenth of them three messages {} ms apart; model p50 1.5 s \
         p99 8 s, Graph {GRAPH_MS} ms, debounce 3 s, provider concurrency {}; {workers} worker process(es)",
        GAP.as_millis(),
        provider.as_deref().unwrap_or("the worker's default")
    );

    let one = [Turn { business: 0, customer: "966700000000".into(), messages: 1 }];
    let alone = turns::write(&stage, &one, 1.0, GAP, Duration::from_secs(60)).await?[0].ms / 1000.0;
    let customers: Vec<Turn> = (1..=n)
        .map(|i| Turn {
            business: i % businesses,
            customer: format!("9667{i:08}"),
            messages: if i % 10 == 0 { 3 } else { 1 },
        })
        .collect();
    let answered = turns::write(&stage, &customers, n as f64 / 10.0, GAP, Duration::from_secs(900)).await?;
    let peak = stage.model.peak_in_flight() as f64;
    stage.settle(Duration::from_secs(60)).await?;
    let replies = turns::replies(&stage);
    let twice = customers.iter().filter(|c| replies.get(&c.customer).is_some_and(|&r| r > 1)).count();
    let model = turns::model_times(&stage);
    let stored = stored_at(&stage).await?;
    stage.stop().await?;

    let own: Vec<f64> = answered
        .iter()
        .map(|a| a.ms - DEBOUNCE_MS - GRAPH_MS as f64 - model.get(&a.customer).map_or(0.0, |m| m.ms))
        .collect();
    split(&answered, &model, &stored);
    let ms: Vec<f64> = answered.iter().map(|a| a.ms).collect();
    let last = ms.iter().copied().fold(0.0, f64::max) / 1000.0;
    Ok(Burst { n, alone, last, ms, own, twice, peak })
}
