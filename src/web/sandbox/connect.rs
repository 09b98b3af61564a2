//! A sandbox number in one click (sandbox mode only): any business in `mujibak dev`, not
//! only the demo, gets its own number. The number is created at the sandbox Graph API
//! (`POST /_sandbox/graph/numbers`, as Meta's dashboard would) with a fresh token and app
//! secret, then connected through the same path as a real one (`connections::connect`
//! verifies the token against the Graph API, checks the account holds the number and
//! subscribes to it), and its webhook set to the connection's URL and verify token, which
//! the sandbox Graph API checks with Meta's handshake.

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use mujibak_core::{
    auth::new_token,
    connections::{self, ConnectInput, ConnectionError},
    db::{audit::Actor, connections as db_connections},
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::{
    state::AppState,
    web::{
        error::WebError,
        extract::{Owner, Page},
        routes::Routes,
        session::set_flash,
    },
};

/// The sandbox's one WhatsApp Business Account, holding every sandbox number.
const WABA_ID: &str = "SANDBOX-WABA";

/// Mounted only when the app runs in sandbox mode.
pub fn routes() -> Routes {
    Routes::new().route("/sandbox/connect", post(connect))
}

/// Tells the sandbox Graph API about a number (its webhook, once known).
async fn register(state: &AppState, number: serde_json::Value) -> Result<(), WebError> {
    let url = format!("{}/_sandbox/graph/numbers", state.config.whatsapp.graph_url);
    let answer = reqwest::Client::new().post(url).json(&number).send().await;
    match answer {
        Ok(r) if r.status().is_success() => Ok(()),
        _ => Err(WebError::Internal(anyhow::anyhow!("the sandbox Graph API did not take the number"))),
    }
}

async fn connect(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<Response, WebError> {
    if db_connections::live(&mut *state.db.acquire().await?, owner.tenant_id).await?.is_some() {
        set_flash(&state, &page.session, "error", "errors.already_connected").await?;
        return Ok(Redirect::to("/settings/whatsapp").into_response());
    }
    let (token, _) = new_token();
    let (secret, _) = new_token();
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(10).collect();
    let phone_number_id = format!("SANDBOX-PN-{suffix}");
    let digits: String = suffix.chars().filter(char::is_ascii_digit).chain("0000".chars()).take(4).collect();
    let number = json!({ "phone_number_id": phone_number_id, "access_token": token, "waba_id": WABA_ID });
    register(&state, number).await?;
    let input = ConnectInput {
        phone_number_id: phone_number_id.clone(),
        waba_id: WABA_ID.into(),
        display_number: format!("+966 50 111 {digits}"),
        access_token: SecretString::from(token.clone()),
        app_secret: SecretString::from(secret.clone()),
    };
    let actor = Actor::User(owner.user_id);
    let connected = match connections::connect(
        &state.db,
        state.keyring()?,
        &state.graph,
        owner.tenant_id,
        &input,
        &actor,
    )
    .await
    {
        Ok(c) => c,
        Err(ConnectionError::AlreadyConnected) => {
            set_flash(&state, &page.session, "error", "errors.already_connected").await?;
            return Ok(Redirect::to("/settings/whatsapp").into_response());
        }
        Err(e) => return Err(WebError::Internal(e.into())),
    };
    let webhook = format!("{}/webhooks/whatsapp/{}", state.config.http.base_url, connected.webhook_key);
    let number = json!({ "phone_number_id": phone_number_id, "access_token": token, "waba_id": WABA_ID,
        "webhook_url": webhook, "app_secret": input.app_secret.expose_secret(),
        "verify_token": connections::verify_token(state.keyring()?, &connected)
            .map_err(anyhow::Error::from)?.expose_secret() });
    register(&state, number).await?;
    tracing::info!(tenant.id = %owner.tenant_id, "sandbox number connected");
    set_flash(&state, &page.session, "success", "flash.sandbox_connected").await?;
    Ok(Redirect::to("/settings/whatsapp").into_response())
}
