//! The customer simulator (sandbox mode only): an owner types as a customer; the message
//! (a text, a voice note that says it, or a photo that shows it: the file is put in the
//! sandbox Graph API, as Meta holds a customer's media) becomes a real Meta-format
//! delivery, signed with the connection's app secret and POSTed to the app's own webhook
//! URL, so it takes exactly the production path.

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use mujibak_core::{connections, db::connections as db_connections, domain::whatsapp::signature};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use crate::{
    state::AppState,
    web::{
        error::WebError,
        extract::{Owner, Page},
        input::Form,
        routes::Routes,
        session::set_flash,
    },
};

/// Mounted only when the app runs in sandbox mode.
pub fn routes() -> Routes {
    Routes::new().route("/sandbox/simulator", get(form).post(send))
}

#[derive(serde::Serialize)]
struct SimulatorView {
    phone: String,
    name: String,
}

async fn form(page: Page, Owner(_): Owner) -> Result<impl IntoResponse, WebError> {
    page.render(
        "sandbox/simulator.html",
        &SimulatorView { phone: "966500000001".into(), name: "عميل تجريبي".into() },
    )
}

#[derive(Deserialize)]
struct SimulatorForm {
    phone: String,
    name: String,
    text: String,
    #[serde(default)]
    kind: String,
}

async fn send(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused }: Form<SimulatorForm>,
) -> Result<Response, WebError> {
    if !refused.is_empty() {
        page.refuse(&refused);
        let view = SimulatorView { phone: f.phone, name: f.name };
        return page.invalid("sandbox/simulator.html", &view);
    }
    let conn = db_connections::live(&mut *state.db.acquire().await?, owner.tenant_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let secret = connections::app_secret(state.keyring()?, &conn).map_err(anyhow::Error::from)?;
    let phone: String = f.phone.chars().filter(char::is_ascii_digit).take(15).collect();
    let content = content(&state, &conn.phone_number_id, &f.kind, f.text.trim()).await?;
    let mut body = json!({ "object": "whatsapp_business_account", "entry": [{ "id": conn.waba_id, "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": conn.display_number, "phone_number_id": conn.phone_number_id },
        "contacts": [{ "profile": { "name": f.name.trim() }, "wa_id": phone }],
        "messages": [{ "from": phone, "id": format!("wamid.SIM{}", uuid::Uuid::new_v4().simple()),
            "timestamp": chrono::Utc::now().timestamp().to_string() }]
    }}]}]});
    let message = &mut body["entry"][0]["changes"][0]["value"]["messages"][0];
    for (k, v) in content {
        message[k] = v;
    }
    let body = body.to_string();
    let signature = signature(secret.expose_secret(), body.as_bytes());
    let url = format!("{}/webhooks/whatsapp/{}", state.config.http.base_url, conn.webhook_key);
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("the webhook did not answer: {e}"))?;
    let (kind, key) = if answer.status().is_success() {
        ("success", "flash.simulated")
    } else {
        ("error", "flash.simulation_failed")
    };
    set_flash(&state, &page.session, kind, key).await?;
    Ok(Redirect::to("/inbox").into_response())
}

/// The message's type and content: a text, or a voice note or photo put in the sandbox
/// Graph API first (which says or shows `text`).
async fn content(
    state: &AppState,
    phone_number_id: &str,
    kind: &str,
    text: &str,
) -> Result<Vec<(&'static str, serde_json::Value)>, WebError> {
    let (kind, file) = match kind {
        "voice_note" => ("audio", json!({ "phone_number_id": phone_number_id, "voice_note": text })),
        "image" => ("image", json!({ "phone_number_id": phone_number_id, "image": text })),
        _ => return Ok(vec![("type", json!("text")), ("text", json!({ "body": text }))]),
    };
    let url = format!("{}/_sandbox/graph/media", state.config.whatsapp.graph_url);
    let added: serde_json::Value = reqwest::Client::new()
        .post(url)
        .json(&file)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| anyhow::anyhow!("the sandbox Graph API did not take the file: {e}"))?
        .json()
        .await
        .map_err(|e| anyhow::anyhow!("the sandbox Graph API answered oddly: {e}"))?;
    let mut media = json!({ "id": added["id"], "mime_type": added["mime_type"] });
    if kind == "audio" {
        media["voice"] = json!(true);
    }
    Ok(vec![("type", json!(kind)), (kind, media)])
}
