//! The chaos run (`scripts/chaos`, binary `mujibak-chaos`): the real `mujibak` binary as
//! `web` and two `worker` processes against a Postgres cluster of the run's own, the
//! sandbox's Graph API, model and SMTP sink in this process, and realistic WhatsApp
//! deliveries for many businesses (and alert emails through the outbox) — while workers
//! are SIGKILLed and restarted, Postgres is restarted once, one worker is cut off from
//! Postgres by a frozen proxy for longer than the orphan window (a partition, not a
//! restart), and the Graph API and the model fail now and then. Afterwards it checks the
//! pipeline's promises (see `check`, `outbox`) and fails on any violation.

mod check;
mod outbox;

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use mujibak_core::crypto::Keyring;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::harness::{fleet, load, proxy::Proxy};
use crate::sandbox::{
    graph::{GraphFake, GraphFault},
    mail::MailSink,
    openai::{ModelFault, OpenAiFake},
};

/// How big and how rough a run is.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `mujibak` binary to run.
    pub bin: PathBuf,
    /// The run's own database (never a shared one: Postgres is restarted).
    pub database_url: String,
    /// Shell command that restarts that Postgres (none: no restart).
    pub pg_restart: Option<String>,
    pub messages: usize,
    pub businesses: usize,
    pub customers: usize,
    pub workers: usize,
    /// The deliveries are spread over this long.
    pub load_for: Duration,
    /// A worker is SIGKILLed (and restarted) this often, at most `kills` times.
    pub kill_every: Duration,
    pub kills: usize,
    /// How long the system may take to finish everything after the load.
    pub settle_within: Duration,
    /// Worker 0 reaches Postgres through a proxy frozen this long, halfway through the
    /// load (none: no partition).
    pub partition: Option<Duration>,
    /// Folder for the processes' logs.
    pub logs: PathBuf,
    pub seed: u64,
    /// The providers at their real speed (model log-normal p50 1.5 s / p99 8 s, Graph
    /// 300 ms, debounce 3 s), and kills that go on after the load while work is in flight.
    pub burst: bool,
}

/// The model's and the Graph API's speed, and the debounce, of a `burst` run.
const BURST_MODEL_P50: Duration = Duration::from_millis(1_500);
const BURST_MODEL_P99: Duration = Duration::from_secs(8);
const BURST_GRAPH: Duration = Duration::from_millis(300);

/// Runs the whole thing; `Ok(false)` when a promise was broken.
pub async fn run(opts: Options) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&opts.logs)?;
    let graph = GraphFake::start("127.0.0.1:0").await?;
    let model = OpenAiFake::start("127.0.0.1:0").await?;
    let mail = MailSink::start("127.0.0.1:0", None).await?;
    let key = Keyring::generate_entry("chaos");
    let keyring = Keyring::parse(&SecretString::from(key.clone()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base_url = format!("http://127.0.0.1:{port}");
    let (model_timeout, debounce) = if opts.burst { ("30", "3") } else { ("2", "1") };
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", opts.database_url.as_str()),
        ("ENCRYPTION_KEYS", key.as_str()),
        ("PORT", &port.to_string()),
        ("BASE_URL", &base_url),
        ("ALLOW_LOOPBACK_HTTP", "true"),
        ("SMTP_URL", &mail.url()),
        ("WHATSAPP_GRAPH_URL", &graph.base_url()),
        ("WHATSAPP_TIMEOUT_SECS", "2"),
        ("SEND_RECONCILE_SECS", "5"),
        ("OPENAI_BASE_URL", &model.base_url()),
        ("OPENAI_API_KEY", "sk-chaos"),
        ("OPENAI_TIMEOUT_SECS", model_timeout),
        ("REPLY_DEBOUNCE_SECS", debounce),
        ("SHUTDOWN_TIMEOUT_SECS", "5"),
        ("RUST_LOG", "info,sqlx=warn"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    if opts.burst {
        model.set_latency_spread(BURST_MODEL_P50, BURST_MODEL_P99);
        graph.set_latency(BURST_GRAPH);
        println!(
            "chaos: providers at their real speed: model p50 {BURST_MODEL_P50:?} p99 {BURST_MODEL_P99:?}, Graph {BURST_GRAPH:?}, debounce {debounce} s"
        );
    }
    fleet::Fleet::migrate(&opts.bin, &env, &opts.logs).await?;
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&opts.database_url).await?;
    let businesses = load::businesses(&pool, &keyring, &graph, &base_url, opts.businesses).await?;
    let deliveries = load::deliveries(&businesses, opts.messages, opts.customers, opts.seed);
    let wamids: Vec<String> = deliveries.iter().flat_map(|d| d.wamids.clone()).collect();
    let proxy = match opts.partition {
        Some(_) => Some(Proxy::start(postgres_addr(&opts.database_url).await?).await?),
        None => None,
    };
    let first_worker = match &proxy {
        Some(p) => vec![("DATABASE_URL".to_owned(), p.postgres_url(&opts.database_url)?)],
        None => Vec::new(),
    };
    let mut fleet = fleet::Fleet::start_with(&opts.bin, env, &opts.logs, opts.workers, first_worker).await?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    wait_healthy(&http, &base_url).await?;
    println!(
        "chaos: {} messages in {} deliveries to {} businesses over {:?}; {} workers, a SIGKILL every {:?} (≤ {}), {}",
        wamids.len(),
        deliveries.len(),
        businesses.len(),
        opts.load_for,
        opts.workers,
        opts.kill_every,
        opts.kills,
        if opts.pg_restart.is_some() { "one Postgres restart" } else { "no Postgres restart" }
    );

    // The load, paced over `load_for`; every 25th delivery is delivered twice.
    let stats = Arc::new(load::PostStats::default());
    let gap = opts.load_for / deliveries.len().max(1) as u32;
    let mut posting = JoinSet::new();
    let slots = Arc::new(Semaphore::new(32));
    let started = tokio::time::Instant::now();
    let mut next_kill = started + opts.kill_every;
    let restart_at = started + opts.load_for * 2 / 5;
    let mut restarted = opts.pg_restart.is_none();
    let mut restart = None;
    let partition_at = started + opts.load_for / 2;
    let mut partition = None;
    let mut emails = 0;
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    for (n, delivery) in deliveries.into_iter().enumerate() {
        let permit = slots.clone().acquire_owned().await?;
        let (http, stats) = (http.clone(), stats.clone());
        posting.spawn(async move {
            load::post(&http, &delivery, n % 25 == 11, Duration::from_secs(300), &stats).await;
            drop(permit);
        });
        inject_faults(n, &graph, &model);
        if n % 10 == 5 {
            outbox::queue(&pool, emails).await?;
            emails += 1;
        }
        if let (Some(p), Some(length), None) = (&proxy, opts.partition, &partition) {
            if tokio::time::Instant::now() >= partition_at {
                p.freeze();
                println!(
                    "chaos: t={:.1}s froze worker 0's connections to Postgres for {length:?}",
                    started.elapsed().as_secs_f64()
                );
                partition = Some(tokio::time::sleep(length));
            }
        }
        let now = tokio::time::Instant::now();
        if now >= next_kill && fleet.kills < opts.kills {
            // A worker started while its Postgres is unreachable exits (as it should):
            // while worker 0 is cut off, the kills go to the others.
            let first = usize::from(partition.is_some() && opts.workers > 1);
            fleet.kill_worker(rng.random_range(first..opts.workers)).await?;
            println!(
                "chaos: t={:.1}s SIGKILLed a worker and started another",
                started.elapsed().as_secs_f64()
            );
            next_kill = now + opts.kill_every;
        }
        if !restarted && now >= restart_at {
            // In the background: deliveries keep coming (and are refused) while it is down.
            restarted = true;
            let command = opts.pg_restart.clone().unwrap_or_default();
            restart = Some(tokio::spawn(async move {
                println!("chaos: t={:.1}s stopping Postgres", started.elapsed().as_secs_f64());
                let done = fleet::restart_postgres(&command).await;
                println!("chaos: t={:.1}s Postgres is back", started.elapsed().as_secs_f64());
                done
            }));
        }
        tokio::time::sleep_until(started + gap * (n as u32 + 1)).await;
    }
    while posting.join_next().await.is_some() {}
    if let Some(restart) = restart {
        restart.await??;
    }
    if let (Some(p), Some(until)) = (&proxy, partition) {
        until.await;
        p.restore();
        println!("chaos: t={:.1}s worker 0 reaches Postgres again", started.elapsed().as_secs_f64());
    }
    fleet.check_alive()?;
    println!(
        "chaos: load done at t={:.1}s; waiting for the system to settle",
        started.elapsed().as_secs_f64()
    );

    // A burst's work is mostly still in flight when its load ends: the kills go on.
    while opts.burst && fleet.kills < opts.kills && check::live_jobs(&pool).await.unwrap_or(0) > 0 {
        tokio::time::sleep_until(next_kill).await;
        fleet.kill_worker(rng.random_range(0..opts.workers)).await?;
        println!(
            "chaos: t={:.1}s SIGKILLed a worker with work in flight and started another",
            started.elapsed().as_secs_f64()
        );
        next_kill = tokio::time::Instant::now() + opts.kill_every;
    }
    let settled = settle(&pool, opts.settle_within).await;
    let mut findings = check::all(&pool, &graph, &wamids).await?;
    findings.push(outbox::check(&pool, &mail, emails).await?);
    let ordered = std::sync::atomic::Ordering::Relaxed;
    // During the restart a webhook either waits for a connection (up to the pool's 5 s)
    // and is stored, or is refused and must be stored on Meta's retry: none may be lost.
    let retried = stats.retried.load(ordered);
    let webhook_ok = stats.lost.load(ordered) == 0;
    println!("chaos: results after {:.1}s (settled: {settled})", started.elapsed().as_secs_f64());
    println!(
        "  [{}] no delivery lost (refused ones, e.g. during the Postgres restart, accepted on retry): {} posted, {} needed a retry, {} never accepted, {} redelivered",
        if webhook_ok { "ok" } else { "FAIL" },
        stats.posted.load(ordered),
        retried,
        stats.lost.load(ordered),
        stats.redelivered.load(ordered)
    );
    for f in &findings {
        println!("  [{}] {}: {}", if f.ok { "ok" } else { "FAIL" }, f.name, f.detail);
    }
    println!("  workers SIGKILLed: {}; {}", fleet.kills, check::what_happened(&pool).await?);
    for line in check::live_job_report(&pool).await? {
        println!("  still live: {line}");
    }
    println!("  logs in {}", opts.logs.display());
    fleet.stop().await.context("stopping the processes")?;
    Ok(webhook_ok && settled && findings.iter().all(|f| f.ok))
}

/// The provider faults of the run, by delivery number: Graph 503s, sends Meta takes but
/// never answers (past the client's timeout), answers without an id, requests that time
/// out before Meta takes them; model 500s and timeouts. Intermittent: a fault is injected
/// only once the previous one was served (they would otherwise pile up while sends are
/// few, and become an outage of one message's every retry).
fn inject_faults(n: usize, graph: &GraphFake, model: &OpenAiFake) {
    if graph.pending_faults() > 0 || model.pending_faults() > 0 {
        return;
    }
    match n % 50 {
        3 | 13 | 23 | 33 | 43 => graph.fail_next(GraphFault::ServerError, 1),
        7 | 32 => graph.fail_next(GraphFault::AcceptThenHang { ms: 3_000 }, 1),
        19 => graph.fail_next(GraphFault::NoId, 1),
        27 => graph.fail_next(GraphFault::Timeout { ms: 3_000 }, 1),
        17 => model.fail_next(ModelFault::ServerError, 1),
        41 => model.fail_next(ModelFault::Timeout, 1),
        _ => {}
    }
}

async fn wait_healthy(http: &reqwest::Client, base_url: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base_url}/readyz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("web did not become ready within 20 s")
}

/// The address Postgres listens on, from its URL.
async fn postgres_addr(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    let parsed = url::Url::parse(url)?;
    let host = parsed.host_str().filter(|h| !h.is_empty()).unwrap_or("127.0.0.1").to_owned();
    tokio::net::lookup_host((host, parsed.port().unwrap_or(5432)))
        .await?
        .next()
        .context("Postgres must listen on TCP for the partition")
}

/// Waits until no job will run any more and every webhook event is processed.
async fn settle(pool: &sqlx::PgPool, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        let live = check::live_jobs(pool).await.unwrap_or(-1);
        let events = check::unprocessed_events(pool).await.unwrap_or(-1);
        if live == 0 && events == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}
