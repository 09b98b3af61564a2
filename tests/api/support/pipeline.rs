//! The WhatsApp pipeline under test: the app, every pipeline worker, the sandbox's Graph
//! API, OpenAI-compatible server and SMTP sink, all over real HTTP/SMTP on loopback; an
//! owner signed up with a connected number and the bot switched on.

use std::net::SocketAddr;

use hmac::{Hmac, Mac};
use mujibak_core::{
    clients::{openai::ReplyModel, smtp::Mailer, whatsapp::GraphClient},
    Config,
};
use mujibak_devtools::sandbox::{graph::GraphFake, mail::MailSink, openai::OpenAiFake};
use mujibak_jobs::{
    fetch_media::FetchMedia, generate_reply::GenerateReply, handle_inbound::HandleInbound,
    reconcile_send::ReconcileSend, send_email::SendEmail, send_message::SendMessage, JobContext,
    WhatsAppContext,
};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::PgPool;

mod inspect;

use crate::{
    cli::TEST_KEYS,
    helpers::{fast_options, job_context, TestApp, TestWorker},
    web::{verify_email, Browser},
};

pub const TOKEN: &str = "EAAG-sandbox-access-token-1234567890";
pub const APP_SECRET: &str = "sandbox-app-secret-abcdef";

/// What [`Pipeline::start_opts`] leaves out or changes.
#[derive(Default)]
pub struct Options<'a> {
    /// No `send_message` worker until [`Pipeline::start_sending`].
    pub hold_sends: bool,
    /// No `handle_inbound` worker until [`Pipeline::start_inbound`].
    pub hold_inbound: bool,
    /// Configuration variables added to (or replacing) the pipeline's.
    pub vars: &'a [(&'a str, &'a str)],
    /// Serve the app as `mujibak dev` does (the sandbox's pages too).
    pub dev: bool,
}

pub struct Pipeline {
    pub pool: PgPool,
    pub addr: SocketAddr,
    pub graph: GraphFake,
    pub model: OpenAiFake,
    pub mail: MailSink,
    pub owner: Browser,
    pub phone_number_id: String,
    pub webhook_url: String,
    workers: Vec<TestWorker>,
    sending: Option<TestWorker>,
    emailing: Option<TestWorker>,
    ctx: JobContext,
}

impl Pipeline {
    /// Everything running, owner `email` signed in, number connected, bot on with `knowledge`.
    pub async fn start(pool: PgPool, email: &str, phone_number_id: &str) -> Self {
        Self::start_with(pool, email, phone_number_id, true).await
    }

    /// As [`Self::start`]; without `send_worker` replies stay queued until [`Self::start_sending`].
    pub async fn start_with(pool: PgPool, email: &str, phone_number_id: &str, send_worker: bool) -> Self {
        Self::start_opts(
            pool,
            email,
            phone_number_id,
            Options { hold_sends: !send_worker, ..Options::default() },
        )
        .await
    }

    /// As [`Self::start`], with `opts`.
    pub async fn start_opts(pool: PgPool, email: &str, phone_number_id: &str, opts: Options<'_>) -> Self {
        // The app and four workers share one database, as `mujibak dev` does: give them a
        // production-sized pool rather than the test harness's small one.
        let pool = crate::helpers::sized_pool(&pool, 40).await;
        let graph = GraphFake::start("127.0.0.1:0").await.unwrap();
        let model = OpenAiFake::start("127.0.0.1:0").await.unwrap();
        let mail = MailSink::start("127.0.0.1:0", None).await.unwrap();
        let (graph_url, model_url, smtp_url) = (graph.base_url(), model.base_url(), mail.url());
        let mut vars = vec![
            ("ENCRYPTION_KEYS", TEST_KEYS),
            ("WHATSAPP_GRAPH_URL", graph_url.as_str()),
            ("WHATSAPP_TIMEOUT_SECS", "2"),
            ("SEND_RECONCILE_SECS", "2"),
            ("OPENAI_BASE_URL", model_url.as_str()),
            ("OPENAI_API_KEY", "sk-sandbox"),
            ("OPENAI_TIMEOUT_SECS", "1"),
            ("REPLY_DEBOUNCE_SECS", "2"),
            ("SMTP_URL", smtp_url.as_str()),
        ];
        for (name, value) in opts.vars {
            vars.retain(|(k, _)| k != name);
            vars.push((name, value));
        }
        let addr = TestApp::new(pool.clone()).vars(&vars).dev(opts.dev).spawn().await;
        let config = Config::from_lookup(|n| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
                .or_else(|| (n == "DATABASE_URL").then(|| "postgres://x".into()))
        })
        .unwrap();
        let ctx = JobContext {
            mailer: Some(Mailer::new(&config.mail).unwrap()),
            whatsapp: Some(WhatsAppContext {
                graph: GraphClient::new(&config.whatsapp),
                model: ReplyModel::new(&config.ai),
                keyring: config.keyring.clone().unwrap(),
                debounce: config.ai.debounce,
                settings_url: format!("http://{addr}/settings/whatsapp"),
            }),
            base_url: format!("http://{addr}"),
            ..job_context(&pool)
        };
        let fast = fast_options();
        let mut workers = vec![
            TestWorker::start_with::<GenerateReply>(&ctx, &fast),
            TestWorker::start_with::<FetchMedia>(&ctx, &fast),
            TestWorker::start_with::<ReconcileSend>(&ctx, &fast),
        ];
        let emailing = Some(TestWorker::start_with::<SendEmail>(&ctx, &fast));
        let mut sending = None;
        if !opts.hold_inbound {
            workers.push(TestWorker::start_with::<HandleInbound>(&ctx, &fast));
        }
        if !opts.hold_sends {
            sending = Some(TestWorker::start_with::<SendMessage>(&ctx, &fast));
        }
        let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
        owner.sign_up("Owner", email, "Alnoor Bakery", "en").await;
        verify_email(&owner, &mail, email).await;
        // Meta knows the number with its token (the connection is verified against it);
        // its webhook is added once the connection has its URL.
        graph.register_number(phone_number_id, TOKEN, None, None);
        owner.get("/settings/whatsapp").await;
        let connected = owner
            .post(
                "/settings/whatsapp",
                &[
                    ("phone_number_id", phone_number_id),
                    ("waba_id", "WABA1"),
                    ("display_number", "+966 50 000 0001"),
                    ("access_token", TOKEN),
                    ("app_secret", APP_SECRET),
                ],
            )
            .await;
        assert_eq!(connected.status, reqwest::StatusCode::SEE_OTHER, "{}", connected.body);
        let mut page = owner.get("/settings/whatsapp").await;
        page.body = page.body.replace("&#x2F;", "/");
        let start = page
            .body
            .find("/webhooks/whatsapp/")
            .unwrap_or_else(|| panic!("no webhook URL shown ({}): {}", page.status, page.body));
        let key: String = page.body[start + "/webhooks/whatsapp/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let webhook_url = format!("http://{addr}/webhooks/whatsapp/{key}");
        graph.register_number(phone_number_id, TOKEN, Some(webhook_url.clone()), Some(APP_SECRET.to_owned()));
        let p = Self {
            pool,
            addr,
            graph,
            model,
            mail,
            owner,
            phone_number_id: phone_number_id.to_owned(),
            webhook_url,
            workers,
            sending,
            emailing,
            ctx,
        };
        p.configure_bot(&[]).await;
        p
    }

    pub fn start_sending(&mut self) {
        self.sending = Some(TestWorker::start_with::<SendMessage>(&self.ctx, &fast_options()));
    }

    /// Ends the `send_message` worker like SIGKILL would (its running sends are abandoned).
    pub async fn kill_sending(&mut self) {
        if let Some(worker) = self.sending.take() {
            worker.kill().await;
        }
    }

    /// Stops the `send_email` worker (a second pipeline on the same database then gets its
    /// own emails: this one's worker would otherwise send them to this one's sink).
    pub async fn stop_email(&mut self) {
        if let Some(worker) = self.emailing.take() {
            worker.kill().await;
        }
    }

    pub fn start_inbound(&mut self) {
        self.workers.push(TestWorker::start_with::<HandleInbound>(&self.ctx, &fast_options()));
    }

    /// The workers' job context (to run a job's handler directly).
    pub fn ctx(&self) -> &JobContext {
        &self.ctx
    }

    /// Saves the bot settings: on, with instructions and an FAQ, plus `extra` fields.
    pub async fn configure_bot(&self, extra: &[(&str, &str)]) {
        self.owner.get("/settings/bot").await;
        let mut fields = vec![
            ("enabled", "on"),
            ("description", "A family bakery in Riyadh."),
            ("instructions", "Always greet the customer warmly."),
            ("knowledge", "Q: When do you open?\nA: We open daily from 7am to 11pm."),
            ("reply_language", "match"),
        ];
        for (k, v) in extra {
            fields.retain(|(f, _)| f != k);
            fields.push((k, v));
        }
        let saved = self.owner.post("/settings/bot", &fields).await;
        assert_eq!(saved.status, reqwest::StatusCode::SEE_OTHER);
    }

    /// POSTs `body` to the webhook, signed with the app secret.
    pub async fn deliver(&self, body: &Value) -> reqwest::StatusCode {
        let raw = body.to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
        mac.update(raw.as_bytes());
        let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        self.post_raw(&self.webhook_url, raw, Some(&sig)).await
    }

    pub async fn post_raw(&self, url: &str, body: String, signature: Option<&str>) -> reqwest::StatusCode {
        let mut req = reqwest::Client::new().post(url).header("content-type", "application/json").body(body);
        if let Some(sig) = signature {
            req = req.header("x-hub-signature-256", sig);
        }
        req.send().await.unwrap().status()
    }
}

/// A Meta delivery envelope around `value` (messages/statuses/contacts) for `number`.
pub fn envelope(number: &str, value: Value) -> Value {
    let mut v = json!({ "messaging_product": "whatsapp", "metadata": { "display_phone_number": "966500000001", "phone_number_id": number } });
    v.as_object_mut().unwrap().extend(value.as_object().unwrap().clone());
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA1", "changes": [{ "field": "messages", "value": v }] }] })
}

/// A text message from a phone customer, sent `ago` seconds ago.
pub fn text(number: &str, wamid: &str, from: &str, body: &str, ago: i64) -> Value {
    let ts = (chrono::Utc::now().timestamp() - ago).to_string();
    envelope(
        number,
        json!({
            "contacts": [{ "profile": { "name": "Sara" }, "wa_id": from }],
            "messages": [{ "from": from, "id": wamid, "timestamp": ts, "type": "text", "text": { "body": body } }]
        }),
    )
}

/// One customer message `msg` (Meta's `messages[]` object, `from` and `timestamp` filled in
/// when missing) from phone customer `from`, with the contact Meta sends beside it.
pub fn customer(number: &str, from: &str, mut msg: Value) -> Value {
    let ts = (chrono::Utc::now().timestamp() - 1).to_string();
    let m = msg.as_object_mut().unwrap();
    m.entry("from").or_insert(json!(from));
    m.entry("timestamp").or_insert(json!(ts));
    envelope(
        number,
        json!({ "contacts": [{ "profile": { "name": "Sara" }, "wa_id": from }], "messages": [msg] }),
    )
}

/// A delivery of one change of `field` (any webhook field of the WhatsApp Business Account
/// object) with `value` as Meta sends it.
pub fn change(field: &str, value: Value) -> Value {
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA1", "time": chrono::Utc::now().timestamp(),
        "changes": [{ "field": field, "value": value }] }] })
}

/// The `metadata` of a change for business number `number`.
pub fn metadata(number: &str) -> Value {
    json!({ "display_phone_number": "966500000001", "phone_number_id": number })
}

/// The user turns of model request `request`, in order.
pub fn user_turns(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect()
}
