//! The load of a chaos run: businesses with a connected number and the bot on, and their
//! customers' messages delivered as Meta delivers them — signed, batched (several
//! messages of one number per delivery), some with a status for a message nobody knows,
//! some delivered twice — and retried the way Meta retries a delivery that did not get
//! a 200 (with backoff, for as long as it takes, bounded here by `give_up_after`).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use mujibak_core::{
    clients::whatsapp::GraphClient,
    config::WhatsAppConfig,
    connections::{self, ConnectInput},
    crypto::Keyring,
    db::{audit::Actor, bot_settings, plans, tenants},
    domain::{whatsapp::signature, TenantId},
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::sandbox::graph::GraphFake;

/// A business of the run.
#[derive(Debug, Clone)]
pub struct Business {
    pub phone_number_id: String,
    pub app_secret: String,
    pub webhook_url: String,
}

/// Creates `n` businesses (tenant, connected sandbox number, bot on with a fallback) and
/// registers their numbers with the Graph fake.
pub async fn businesses(
    pool: &PgPool,
    keyring: &Keyring,
    graph: &GraphFake,
    base_url: &str,
    n: usize,
) -> anyhow::Result<Vec<Business>> {
    let mut out = Vec::with_capacity(n);
    // Connections are verified against the Graph fake, as against Meta.
    let client = GraphClient::new(&WhatsAppConfig {
        graph_url: graph.base_url(),
        api_version: "v24.0".into(),
        timeout: Duration::from_secs(10),
        reconcile_after: Duration::from_secs(120),
        media_max_bytes: 16 * 1024 * 1024,
    });
    let unlimited = plans::Plan {
        plan_id: "load-test".into(),
        name_en: "Load test".into(),
        name_ar: "اختبار الحمل".into(),
        price_halalas: 0,
        ai_replies: i32::MAX,
        numbers: 1,
        seats: 1,
        models: Vec::new(),
    };
    plans::insert_if_missing(&mut *pool.acquire().await?, &unlimited, 1000).await?;
    for i in 0..n {
        let tenant = TenantId::new();
        tenants::insert(&mut *pool.acquire().await?, tenant, &format!("Chaos business {i}")).await?;
        // Load runs send far more replies than a plan allows in a month.
        plans::set_for(&mut *pool.acquire().await?, tenant, "load-test").await?;
        let bot = bot_settings::BotSettings {
            enabled: true,
            description: "A test business.".into(),
            knowledge: "Q: When do you open?\nA: Daily from 7am to 11pm.".into(),
            reply_language: "match".into(),
            fallback_message: "A team member will reply shortly.".into(),
            ..Default::default()
        };
        bot_settings::save(&mut *pool.acquire().await?, tenant, &bot).await?;
        let (phone_number_id, token, secret) =
            (format!("CHAOS-PN-{i}"), format!("chaos-token-{i}"), format!("chaos-secret-{i}"));
        let input = ConnectInput {
            phone_number_id: phone_number_id.clone(),
            waba_id: "CHAOS-WABA".into(),
            display_number: format!("+966 50 {i:03} 0000"),
            access_token: SecretString::from(token.clone()),
            app_secret: SecretString::from(secret.clone()),
        };
        graph.register_number(&phone_number_id, &token, None, None);
        let key =
            connections::connect(pool, keyring, &client, tenant, &input, &Actor::System).await?.webhook_key;
        let webhook_url = format!("{base_url}/webhooks/whatsapp/{key}");
        graph.register_number(&phone_number_id, &token, Some(webhook_url.clone()), Some(secret.clone()));
        out.push(Business { phone_number_id, app_secret: secret, webhook_url });
    }
    Ok(out)
}

/// One signed POST, as Meta would make it (and make again until it gets a 200).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub secret: String,
    pub body: Value,
    /// The customer messages it carries.
    pub wamids: Vec<String>,
}

/// `messages` customer messages over `businesses` (customers per business: `customers`),
/// grouped in deliveries of one to three; `unknown_every`-th delivery starts with a status
/// for an unknown message. Deterministic for a `seed`.
pub fn deliveries(businesses: &[Business], messages: usize, customers: usize, seed: u64) -> Vec<Delivery> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut k = 0;
    while k < messages {
        let bi = rng.random_range(0..businesses.len());
        let b = &businesses[bi];
        let batch = rng.random_range(1..=3).min(messages - k);
        let mut msgs = Vec::new();
        let mut contacts = Vec::new();
        for _ in 0..batch {
            let customer = format!("96650{bi:03}{:04}", rng.random_range(0..customers));
            let wamid = format!("wamid.CHAOS{seed:x}.{k:07}");
            msgs.push(json!({ "from": customer, "id": wamid, "timestamp": now(), "type": "text",
                "text": { "body": format!("Hello, when do you open? ({k})") } }));
            contacts.push(json!({ "profile": { "name": "Chaos customer" }, "wa_id": customer }));
            k += 1;
        }
        let metadata =
            json!({ "display_phone_number": "966500000000", "phone_number_id": b.phone_number_id });
        let mut changes = Vec::new();
        if out.len() % 20 == 7 {
            let status = json!({ "id": format!("wamid.UNKNOWN.{seed:x}.{}", out.len()), "status": "delivered",
                "timestamp": now(), "recipient_id": "966500000001" });
            changes.push(json!({ "field": "messages", "value": { "messaging_product": "whatsapp",
                "metadata": metadata, "statuses": [status] } }));
        }
        let wamids = msgs.iter().map(|m| m["id"].as_str().unwrap_or_default().to_owned()).collect();
        changes.push(json!({ "field": "messages", "value": { "messaging_product": "whatsapp",
            "metadata": metadata, "contacts": contacts, "messages": msgs } }));
        let body = json!({ "object": "whatsapp_business_account",
            "entry": [{ "id": "CHAOS-WABA", "changes": changes }] });
        out.push(Delivery { url: b.webhook_url.clone(), secret: b.app_secret.clone(), body, wamids });
    }
    out
}

/// One text from customer `from` to business `b`, as Meta delivers it.
pub fn text_delivery(b: &Business, wamid: &str, from: &str, text: &str) -> Delivery {
    let message =
        json!({ "from": from, "id": wamid, "timestamp": now(), "type": "text", "text": { "body": text } });
    let value = json!({ "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "966500000000", "phone_number_id": b.phone_number_id },
        "contacts": [{ "profile": { "name": "Customer" }, "wa_id": from }], "messages": [message] });
    wrap(b, value, vec![wamid.to_owned()])
}

/// Statuses (`(wamid, status)`) Meta reports for messages `b` sent to `recipient`, in one
/// delivery.
pub fn status_delivery(b: &Business, statuses: &[(String, &str)], recipient: &str) -> Delivery {
    let items: Vec<Value> = statuses
        .iter()
        .map(|(id, status)| json!({ "id": id, "status": status, "timestamp": now(), "recipient_id": recipient }))
        .collect();
    let value = json!({ "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "966500000000", "phone_number_id": b.phone_number_id },
        "statuses": items });
    wrap(b, value, Vec::new())
}

fn wrap(b: &Business, value: Value, wamids: Vec<String>) -> Delivery {
    let body = json!({ "object": "whatsapp_business_account",
        "entry": [{ "id": "CHAOS-WABA", "changes": [{ "field": "messages", "value": value }] }] });
    Delivery { url: b.webhook_url.clone(), secret: b.app_secret.clone(), body, wamids }
}

/// Posts once, signed (no retry): whether it was accepted, and how long the answer took.
pub async fn post_once(http: &reqwest::Client, d: &Delivery) -> (bool, Duration) {
    let body = d.body.to_string().into_bytes();
    let sig = signature(&d.secret, &body);
    let started = std::time::Instant::now();
    let res = http
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await;
    (matches!(&res, Ok(r) if r.status().is_success()), started.elapsed())
}

/// What posting the deliveries took.
#[derive(Debug, Default)]
pub struct PostStats {
    pub posted: AtomicUsize,
    /// Deliveries refused at least once (5xx, connection error) and retried.
    pub retried: AtomicUsize,
    /// Deliveries never accepted.
    pub lost: AtomicUsize,
    pub redelivered: AtomicUsize,
}

/// Posts `delivery` until it gets a 200 (Meta's retry, with backoff), giving up after
/// `give_up_after`; then, if `redeliver`, posts it once more, as Meta sometimes does.
pub async fn post(
    http: &reqwest::Client,
    delivery: &Delivery,
    redeliver: bool,
    give_up_after: Duration,
    stats: &Arc<PostStats>,
) {
    // Meta stamps a delivery when it sends it first; its retries repeat it unchanged.
    let mut first = delivery.body.clone();
    stamp(&mut first, &now());
    let body = first.to_string().into_bytes();
    let sig = signature(&delivery.secret, &body);
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(200);
    let mut refused = false;
    loop {
        let res = http
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &sig)
            .body(body.clone())
            .send()
            .await;
        if matches!(&res, Ok(r) if r.status().is_success()) {
            break;
        }
        refused = true;
        if started.elapsed() > give_up_after {
            stats.lost.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
    stats.posted.fetch_add(1, Ordering::Relaxed);
    if refused {
        stats.retried.fetch_add(1, Ordering::Relaxed);
    }
    if redeliver {
        let res = http
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &sig)
            .body(body)
            .send()
            .await;
        if matches!(&res, Ok(r) if r.status().is_success()) {
            stats.redelivered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Sets the `timestamp` of every message and status of a delivery.
fn stamp(body: &mut Value, at: &str) {
    for change in body["entry"][0]["changes"].as_array_mut().into_iter().flatten() {
        for kind in ["messages", "statuses"] {
            for item in change["value"][kind].as_array_mut().into_iter().flatten() {
                item["timestamp"] = Value::String(at.to_owned());
            }
        }
    }
}

fn now() -> String {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().to_string()
}
