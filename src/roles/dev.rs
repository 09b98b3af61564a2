//! `mujibak dev` (built only with the `dev` feature): the sandbox fakes of
//! `mujibak_devtools`, the demo business, web and worker in one process.

use anyhow::Context;
use mujibak_core::{clients::whatsapp::GraphClient, Config};
use mujibak_devtools::sandbox::{
    demo, graph::GraphFake, mail::MailSink, moyasar::MoyasarFake, openai::OpenAiFake,
};
use mujibak_jobs::schema;

use super::{connect, final_flush, require_keys, run_worker, serve};
use crate::{shutdown, state::AppState};

/// `mujibak dev`: migrate, then the sandbox (local Graph API, OpenAI-compatible server
/// and SMTP sink, used unless real ones are configured), the demo business, web and worker
/// in one process (local use only).
pub async fn dev(mut config: Config) -> anyhow::Result<()> {
    let keyring = require_keys(&config)?;
    let pool = connect(&config).await?;
    schema::migrate(&pool).await.context("migrations failed")?;
    let sb = config.sandbox.clone();
    if config.mail.smtp_url.is_none() {
        let sink = MailSink::start(&format!("127.0.0.1:{}", sb.smtp_port), Some(sb.mail_dir.clone()))
            .await
            .context("cannot start the sandbox SMTP sink (SANDBOX_SMTP_PORT)")?;
        tracing::info!(smtp = %sink.url(), folder = %sb.mail_dir.display(), "sandbox mail sink: emails land here");
        config.mail.smtp_url = Some(sink.url().into());
    }
    let graph = GraphFake::start(&format!("127.0.0.1:{}", sb.graph_port))
        .await
        .context("cannot start the sandbox Graph API (SANDBOX_GRAPH_PORT)")?;
    if config.whatsapp.graph_url == "https://graph.facebook.com" {
        config.whatsapp.graph_url = graph.base_url();
    }
    if config.ai.api_key.is_none() {
        let model = OpenAiFake::start(&format!("127.0.0.1:{}", sb.openai_port))
            .await
            .context("cannot start the sandbox model (SANDBOX_OPENAI_PORT)")?;
        config.ai.base_url = model.base_url();
        config.ai.api_key = Some("sk-sandbox".into());
        tracing::info!(url = %model.base_url(), "sandbox model: simulated, FAQ-driven answers");
    }
    if config.seller.is_none() {
        // Invoices need a seller: the sandbox prints a made-up one.
        config.seller = Some(mujibak_core::billing::Seller {
            name: "مُجيب (تجريبي)".into(),
            vat_number: "300000000000003".into(),
            address: "Riyadh (sandbox)".into(),
        });
    }
    if config.billing.moyasar.is_none() {
        config.billing.moyasar = Some(sandbox_moyasar(&config, sb.moyasar_port).await?);
    }
    // The demo number is registered first (token only), so its connection can be verified
    // like any other; its webhook is added once the connection has its key.
    graph.register_number(demo::PHONE_NUMBER_ID, demo::ACCESS_TOKEN, None, None);
    let sandbox_graph = GraphClient::new(&mujibak_core::config::WhatsAppConfig {
        graph_url: graph.base_url(),
        ..config.whatsapp.clone()
    });
    let key =
        demo::ensure(&pool, &keyring, &sandbox_graph).await.context("cannot create the demo business")?;
    let webhook = format!("{}/webhooks/whatsapp/{key}", config.http.base_url);
    graph.register_number(
        demo::PHONE_NUMBER_ID,
        demo::ACCESS_TOKEN,
        Some(webhook),
        Some(demo::APP_SECRET.into()),
    );
    let stop = shutdown::signal();
    // Web and worker get a pool each, as their processes would in production: the worker's
    // concurrency is fitted to its own pool.
    let state = AppState::new(pool, config.clone(), true)?;
    let worker_pool = connect(&config).await?;
    let (web, worker) =
        tokio::join!(serve(state, stop.clone()), run_worker(worker_pool.clone(), &config, stop));
    final_flush(&worker_pool).await;
    web.and(worker)
}

/// The sandbox's Moyasar, sending its webhooks to this app, and the configuration that
/// points billing at it.
async fn sandbox_moyasar(config: &Config, port: u16) -> anyhow::Result<mujibak_core::config::MoyasarConfig> {
    const KEY: &str = "sk_test_sandbox_moyasar_key";
    const SECRET: &str = "sandbox-moyasar-webhook-secret";
    let moyasar = MoyasarFake::start(&format!("127.0.0.1:{port}"), KEY)
        .await
        .context("cannot start the sandbox Moyasar (SANDBOX_MOYASAR_PORT)")?;
    moyasar.set_webhook(&format!("{}/webhooks/moyasar", config.http.base_url), SECRET);
    tracing::info!(url = %moyasar.base_url(), "sandbox Moyasar: invoices are paid on its local page");
    Ok(mujibak_core::config::MoyasarConfig {
        api_url: moyasar.api_url(),
        secret_key: KEY.into(),
        webhook_secret: SECRET.into(),
        live: false,
        timeout: std::time::Duration::from_secs(10),
    })
}
