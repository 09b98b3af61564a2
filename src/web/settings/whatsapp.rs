//! Owner settings: the WhatsApp connection — connect, check against Meta, replace the
//! token, disconnect — with its history.

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use mujibak_core::{
    connections::{self, ConnectInput, ConnectionError},
    db::connections as db_connections,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::{
    state::AppState,
    web::{
        extract::{Owner, Page},
        forms::FormView,
        session::set_flash,
        WebError,
    },
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/whatsapp", get(whatsapp).post(connect))
        .route("/settings/whatsapp/check", post(check))
        .route("/settings/whatsapp/token", post(new_token))
        .route("/settings/whatsapp/disconnect", post(disconnect))
}

#[derive(Serialize)]
struct ConnectionView {
    display_number: String,
    phone_number_id: String,
    waba_id: String,
    status: String,
    status_detail: Option<String>,
    webhook_url: String,
    verify_token: String,
    linked_at: String,
}

#[derive(Serialize)]
struct HistoryRow {
    display_number: String,
    linked_at: String,
    unlinked_at: Option<String>,
}

#[derive(Serialize)]
struct WhatsAppView {
    live: Option<ConnectionView>,
    history: Vec<HistoryRow>,
    form: FormView,
}

async fn view(
    state: &AppState,
    owner: &mujibak_core::db::users::User,
    form: FormView,
) -> Result<WhatsAppView, WebError> {
    let mut conn = state.db.acquire().await?;
    let live = db_connections::live(&mut conn, owner.tenant_id).await?.map(|c| ConnectionView {
        webhook_url: format!("{}/webhooks/whatsapp/{}", state.config.http.base_url, c.webhook_key),
        display_number: c.display_number,
        phone_number_id: c.phone_number_id,
        waba_id: c.waba_id,
        status: c.status,
        status_detail: c.status_detail,
        verify_token: c.verify_token,
        linked_at: c.linked_at.to_rfc3339(),
    });
    let history = db_connections::history(&mut conn, owner.tenant_id)
        .await?
        .into_iter()
        .map(|c| HistoryRow {
            display_number: c.display_number,
            linked_at: c.linked_at.to_rfc3339(),
            unlinked_at: c.unlinked_at.map(|t| t.to_rfc3339()),
        })
        .collect();
    Ok(WhatsAppView { live, history, form })
}

async fn whatsapp(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<impl IntoResponse, WebError> {
    page.render("settings/whatsapp.html", &view(&state, &owner, FormView::default()).await?)
}

#[derive(Deserialize)]
struct ConnectForm {
    phone_number_id: String,
    waba_id: String,
    display_number: String,
    access_token: String,
    app_secret: String,
}

async fn connect(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form(f): Form<ConnectForm>,
) -> Result<Response, WebError> {
    let mut form = FormView::default()
        .value("phone_number_id", &f.phone_number_id)
        .value("waba_id", &f.waba_id)
        .value("display_number", &f.display_number);
    for (field, value) in [
        ("phone_number_id", &f.phone_number_id),
        ("waba_id", &f.waba_id),
        ("display_number", &f.display_number),
        ("access_token", &f.access_token),
        ("app_secret", &f.app_secret),
    ] {
        if value.trim().is_empty() || value.len() > 1000 {
            form.error(&page, field, "errors.required");
        }
    }
    if !form.is_valid() {
        return page.invalid("settings/whatsapp.html", &view(&state, &owner, form).await?);
    }
    let input = ConnectInput {
        phone_number_id: f.phone_number_id,
        waba_id: f.waba_id,
        display_number: f.display_number,
        access_token: SecretString::from(f.access_token.trim().to_owned()),
        app_secret: SecretString::from(f.app_secret.trim().to_owned()),
    };
    match connections::connect(&state.db, state.keyring()?, owner.tenant_id, &input).await {
        Ok(_) => {
            set_flash(&state, &page.session, "success", "flash.connected").await?;
            Ok(Redirect::to("/settings/whatsapp").into_response())
        }
        Err(ConnectionError::NumberTaken | ConnectionError::AlreadyConnected) => {
            form.error(&page, "phone_number_id", "errors.number_taken");
            page.invalid("settings/whatsapp.html", &view(&state, &owner, form).await?)
        }
        Err(e) => Err(WebError::Internal(e.into())),
    }
}

async fn check(State(state): State<AppState>, page: Page, Owner(owner): Owner) -> Result<Response, WebError> {
    let live = db_connections::live(&mut *state.db.acquire().await?, owner.tenant_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let answer =
        connections::check(&state.graph, state.keyring()?, &live).await.map_err(anyhow::Error::from)?;
    let key = match answer {
        Ok(_) => {
            db_connections::set_status(
                &mut *state.db.acquire().await?,
                owner.tenant_id,
                live.connection_id,
                "active",
                None,
            )
            .await?;
            "flash.check_ok"
        }
        Err(e) if e.class() == mujibak_core::clients::whatsapp::GraphErrorClass::Reauthorize => {
            let why = e.to_string();
            db_connections::set_status(
                &mut *state.db.acquire().await?,
                owner.tenant_id,
                live.connection_id,
                "needs_reauth",
                Some(&why),
            )
            .await?;
            "flash.check_reauth"
        }
        Err(_) => "flash.check_failed",
    };
    set_flash(&state, &page.session, if key == "flash.check_ok" { "success" } else { "error" }, key).await?;
    Ok(Redirect::to("/settings/whatsapp").into_response())
}

#[derive(Deserialize)]
struct TokenForm {
    access_token: String,
}

async fn new_token(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form(f): Form<TokenForm>,
) -> Result<Response, WebError> {
    if f.access_token.trim().is_empty() {
        set_flash(&state, &page.session, "error", "errors.required").await?;
        return Ok(Redirect::to("/settings/whatsapp").into_response());
    }
    let token = SecretString::from(f.access_token.trim().to_owned());
    connections::reauthorize(&state.db, state.keyring()?, owner.tenant_id, &token).await.map_err(
        |e| match e {
            ConnectionError::NotConnected => WebError::NotFound,
            e => WebError::Internal(e.into()),
        },
    )?;
    set_flash(&state, &page.session, "success", "flash.token_saved").await?;
    Ok(Redirect::to("/settings/whatsapp").into_response())
}

async fn disconnect(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<Response, WebError> {
    connections::disconnect(&state.db, owner.tenant_id).await.map_err(|e| match e {
        ConnectionError::NotConnected => WebError::NotFound,
        e => WebError::Internal(e.into()),
    })?;
    set_flash(&state, &page.session, "success", "flash.disconnected").await?;
    Ok(Redirect::to("/settings/whatsapp").into_response())
}
