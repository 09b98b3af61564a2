//! Shared state of the web process, built once at start.

use std::sync::Arc;

use mujibak_core::{
    clients::{openai::ReplyModel, whatsapp::GraphClient},
    Config,
};
use sqlx::PgPool;

use crate::web::{
    background::{self, Background},
    connection_cache::ConnectionCache,
    live::Live,
    views::Views,
    webhook_body::InFlight,
};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The Postgres pool (sessions, data, the queue).
    pub db: PgPool,
    /// The process configuration.
    pub config: Arc<Config>,
    /// Compiled templates and UI strings.
    pub views: Arc<Views>,
    /// Sandbox mode (`mujibak dev`): local fakes instead of Meta, OpenAI, Moyasar, SMTP.
    pub sandbox: bool,
    /// The Graph API (connecting a number, "check connection").
    pub graph: GraphClient,
    /// Work a page hands off so its answer cannot depend on it (`web::background`).
    pub background: Background,
    /// Connections by webhook key, for the webhook path (`web::connection_cache`).
    pub connections: Arc<ConnectionCache>,
    /// Changes pushed to the open inbox pages (`web::live`).
    pub live: Live,
    /// The model, for "try the bot".
    pub model: ReplyModel,
    /// Webhook body bytes being read at once (`web::webhook_body`).
    pub webhook_bytes: InFlight,
}

impl AsRef<PgPool> for AppState {
    fn as_ref(&self) -> &PgPool {
        &self.db
    }
}

impl AppState {
    /// The keys for secrets at rest (`web` refuses to start without them).
    pub fn keyring(&self) -> anyhow::Result<&mujibak_core::crypto::Keyring> {
        self.config.keyring.as_ref().ok_or_else(|| anyhow::anyhow!("ENCRYPTION_KEYS is not set"))
    }

    /// Loads the templates (fails if any template or catalog is broken) and starts the
    /// background task, the announcers of inbox changes and of new jobs, and the process's
    /// metrics flusher (so it must be called inside the Tokio runtime).
    pub fn new(db: PgPool, config: Config, sandbox: bool) -> anyhow::Result<Self> {
        let graph = GraphClient::new(&config.whatsapp);
        let model = ReplyModel::new(&config.ai);
        let background = Background::default();
        let webhook_bytes = InFlight::new(config.http.webhook_inflight_bytes);
        let state = Self {
            live: Live::new(&db, config.http.max_streams, config.session.idle),
            db,
            config: Arc::new(config),
            views: Arc::new(Views::load()?),
            sandbox,
            graph,
            background,
            connections: Arc::default(),
            model,
            webhook_bytes,
        };
        let mailer = background::Mailer {
            db: state.db.clone(),
            views: state.views.clone(),
            base_url: state.config.http.base_url.clone(),
        };
        tokio::spawn(background::run(mailer, state.background.clone()));
        state.live.announce_news();
        mujibak_queue::announce::start(&state.db);
        mujibak_core::metrics::flush::start(state.db.clone(), "web");
        Ok(state)
    }
}
