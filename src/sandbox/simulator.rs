//! The customer simulator (sandbox mode only): an owner types as a customer; the message
//! becomes a real Meta-format delivery, signed with the connection's app secret and POSTed
//! to the app's own webhook URL, so it takes exactly the production path.

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
        extract::{Owner, Page},
        input::Form,
        routes::Routes,
        session::set_flash,
        WebError,
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
    let body = json!({ "object": "whatsapp_business_account", "entry": [{ "id": conn.waba_id, "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": conn.display_number, "phone_number_id": conn.phone_number_id },
        "contacts": [{ "profile": { "name": f.name.trim() }, "wa_id": phone }],
        "messages": [{ "from": phone, "id": format!("wamid.SIM{}", uuid::Uuid::new_v4().simple()),
            "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": { "body": f.text.trim() } }]
    }}]}]})
    .to_string();
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
