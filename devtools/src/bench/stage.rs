//! One benchmark scenario's world: a fresh database on the bench's Postgres, migrated by
//! the real binary; the sandbox's Graph API, model and SMTP sink in this process (no
//! latency); businesses with connected numbers; and the real `web` and `worker`
//! processes, release-built, with production settings but for a zero reply debounce.

use std::{path::Path, time::Duration};

use anyhow::bail;
use mujibak_core::crypto::Keyring;
use secrecy::SecretString;
use sqlx::PgPool;

use super::Options;
use crate::{
    harness::{
        fleet::Fleet,
        load::{self, Business},
    },
    sandbox::{graph::GraphFake, mail::MailSink, openai::OpenAiFake},
};

/// A running scenario.
pub struct Stage {
    pub db: PgPool,
    pub graph: GraphFake,
    pub businesses: Vec<Business>,
    pub base_url: String,
    pub http: reqwest::Client,
    pub fleet: Fleet,
    /// Resident memory (KiB) of the web process and the largest worker once ready, idle.
    pub idle_kib: (u64, u64),
    pub model: OpenAiFake,
    _mail: MailSink,
}

impl Stage {
    /// Database `mujibak_bench_<name>` (recreated), `businesses` businesses, one web and
    /// `workers` worker processes.
    pub async fn start(
        opts: &Options,
        name: &str,
        businesses: usize,
        workers: usize,
    ) -> anyhow::Result<Self> {
        Self::start_with(opts, name, businesses, workers, &[]).await
    }

    /// As [`Self::start`], the processes also getting the variables `extra`.
    pub async fn start_with(
        opts: &Options,
        name: &str,
        businesses: usize,
        workers: usize,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::start_formation(opts, name, businesses, workers, extra, &[]).await
    }

    /// As [`Self::start_with`]; every worker (not `web`) also gets `worker` (over `extra`).
    pub async fn start_formation(
        opts: &Options,
        name: &str,
        businesses: usize,
        workers: usize,
        extra: &[(&str, &str)],
        worker: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let db_name = format!("mujibak_bench_{name}");
        let admin = PgPool::connect(&format!("{}/postgres", opts.server_url)).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {db_name} with (force)")))
            .execute(&admin)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {db_name}"))).execute(&admin).await?;
        admin.close().await;
        let url = format!("{}/{db_name}", opts.server_url);
        let graph = GraphFake::start("127.0.0.1:0").await?;
        let model = OpenAiFake::start("127.0.0.1:0").await?;
        let mail = MailSink::start("127.0.0.1:0", None).await?;
        let key = Keyring::generate_entry("bench");
        let keyring = Keyring::parse(&SecretString::from(key.clone()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let env: Vec<(String, String)> = [
            ("DATABASE_URL", url.as_str()),
            ("ENCRYPTION_KEYS", key.as_str()),
            ("PORT", &port.to_string()),
            ("BASE_URL", &base_url),
            ("ALLOW_LOOPBACK_HTTP", "true"),
            ("SMTP_URL", &mail.url()),
            ("WHATSAPP_GRAPH_URL", &graph.base_url()),
            ("OPENAI_BASE_URL", &model.base_url()),
            ("OPENAI_API_KEY", "sk-bench"),
            ("REPLY_DEBOUNCE_SECS", "0"),
            ("RUST_LOG", "warn"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let logs = opts.logs.join(name);
        std::fs::create_dir_all(&logs)?;
        Fleet::migrate(&opts.bin, &env, &logs).await?;
        let db = sqlx::postgres::PgPoolOptions::new().max_connections(8).connect(&url).await?;
        let businesses = load::businesses(&db, &keyring, &graph, &base_url, businesses).await?;
        let worker = worker.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let fleet = Fleet::start_split(&opts.bin, env, worker, &logs, workers, Vec::new()).await?;
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(64).build()?;
        wait_ready(&http, &base_url, &logs).await?;
        let (web, workers) = fleet.rss_kib();
        let idle_kib = (web, workers.into_iter().max().unwrap_or(0));
        Ok(Self { db, graph, businesses, base_url, http, fleet, idle_kib, model, _mail: mail })
    }

    /// Stops the processes (SIGTERM) and closes the pool.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.fleet.stop().await?;
        self.db.close().await;
        Ok(())
    }

    /// Waits until no job will run any more and every webhook event is processed.
    pub async fn settle(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (live, events): (i64, i64) = sqlx::query_as(
                "select (select count(*) from apalis.jobs where status in ('Pending', 'Queued', 'Running')
                           or (status = 'Failed' and attempts < max_attempts)),
                        (select count(*) from inbound_events where processed_at is null)",
            )
            .fetch_one(&self.db)
            .await?;
            if live == 0 && events == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("not settled after {within:?}: {live} live jobs, {events} unprocessed events");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn wait_ready(http: &reqwest::Client, base_url: &str, logs: &Path) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base_url}/readyz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("web did not become ready within 30 s; see {}", logs.display())
}
