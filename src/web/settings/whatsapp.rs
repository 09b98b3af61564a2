//! Owner settings: the WhatsApp connection — a step-by-step guide through Meta's dashboard,
//! connect (once the owner proved their address; Meta must accept the token for the number
//! and the account must hold it, see `connections::connect`), check against Meta, replace
//! the token, disconnect — with a setup checklist and the history (`view`). Meta's refusal
//! is shown as the step that fixes it; it never says whether another business holds the
//! number unless Meta accepted the token for it.

mod view;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use mujibak_core::{
    connections::{self, ConnectInput, ConnectionError},
    db::{audit::Actor, connections as db_connections},
};
use secrecy::SecretString;
use serde::Deserialize;
use view::view;

use crate::{
    state::AppState,
    web::{
        error::WebError,
        extract::{Owner, Page},
        forms::FormView,
        input::Form,
        routes::Routes,
        session::set_flash,
    },
};

pub(super) fn routes() -> Routes {
    Routes::new()
        .route("/settings/whatsapp", get(whatsapp).post(connect))
        .route("/settings/whatsapp/check", post(check))
        .route("/settings/whatsapp/token", post(new_token))
        .route("/settings/whatsapp/disconnect", get(confirm_disconnect).post(disconnect))
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
    Form { data: f, refused }: Form<ConnectForm>,
) -> Result<Response, WebError> {
    let mut form = FormView::default()
        .value("phone_number_id", &f.phone_number_id)
        .value("waba_id", &f.waba_id)
        .value("display_number", &f.display_number);
    form.refuse(&page, &refused);
    if !owner.email_verified {
        page.alert("errors.verify_first");
        let view = view(&state, &owner, form).await?;
        return Ok((StatusCode::FORBIDDEN, page.render("settings/whatsapp.html", &view)?).into_response());
    }
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
    // Meta's ids are short tokens of letters, digits, `-` and `_` (they go into Graph URLs).
    for (field, value) in [("phone_number_id", &f.phone_number_id), ("waba_id", &f.waba_id)] {
        let id = value.trim();
        if !id.is_empty()
            && (id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            form.error(&page, field, "errors.meta_id");
        }
    }
    let number = f.display_number.trim();
    if number.chars().count() > 40 || !number.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
        form.error(&page, "display_number", "errors.display_number");
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
    let actor = Actor::User(owner.user_id);
    let key = match connections::connect(
        &state.db,
        state.keyring()?,
        &state.graph,
        owner.tenant_id,
        &input,
        &actor,
    )
    .await
    {
        Ok(_) => {
            tracing::info!(tenant.id = %owner.tenant_id, "number connected (Meta accepted the token)");
            set_flash(&state, &page.session, "success", "flash.connected").await?;
            return Ok(Redirect::to("/settings/whatsapp").into_response());
        }
        Err(ConnectionError::Refused(refused)) => {
            tracing::info!(tenant.id = %owner.tenant_id, refusal = ?refused, "Meta refused the connection");
            match view::refusal(&page, refused) {
                (Some(field), text) => {
                    form.errors.insert(field.to_owned(), text);
                }
                (None, text) => page.alert_text(text),
            }
            return page.invalid("settings/whatsapp.html", &view(&state, &owner, form).await?);
        }
        Err(ConnectionError::NumberTaken) => "errors.number_held",
        Err(ConnectionError::AlreadyConnected) => "errors.already_connected",
        Err(e) => return Err(WebError::Internal(e.into())),
    };
    form.error(&page, "phone_number_id", key);
    page.invalid("settings/whatsapp.html", &view(&state, &owner, form).await?)
}

async fn check(State(state): State<AppState>, page: Page, Owner(owner): Owner) -> Result<Response, WebError> {
    let live = db_connections::live(&mut *state.db.acquire().await?, owner.tenant_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let answer =
        connections::check(&state.graph, state.keyring()?, &live).await.map_err(anyhow::Error::from)?;
    let key = match answer {
        Ok(_) => match connections::confirm_verified(&state.db, &live).await {
            Ok(()) => "flash.check_ok",
            Err(ConnectionError::NumberTaken) => "flash.check_number_held",
            Err(e) => return Err(WebError::Internal(e.into())),
        },
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
    Form { data: f, refused }: Form<TokenForm>,
) -> Result<Response, WebError> {
    if !refused.is_empty() {
        page.refuse(&refused);
        return page.invalid("settings/whatsapp.html", &view(&state, &owner, FormView::default()).await?);
    }
    if f.access_token.trim().is_empty() || f.access_token.len() > 1000 {
        set_flash(&state, &page.session, "error", "errors.required").await?;
        return Ok(Redirect::to("/settings/whatsapp").into_response());
    }
    let token = SecretString::from(f.access_token.trim().to_owned());
    let actor = Actor::User(owner.user_id);
    let flash = match connections::reauthorize(
        &state.db,
        state.keyring()?,
        &state.graph,
        owner.tenant_id,
        &token,
        &actor,
    )
    .await
    {
        Ok(()) => ("success", "flash.token_saved"),
        Err(ConnectionError::NotConnected) => return Err(WebError::NotFound),
        Err(ConnectionError::Refused(refused)) => {
            set_flash(&state, &page.session, "error", refused.message_key()).await?;
            return Ok(Redirect::to("/settings/whatsapp").into_response());
        }
        Err(ConnectionError::NumberTaken) => ("error", "errors.number_held"),
        Err(e) => return Err(WebError::Internal(e.into())),
    };
    set_flash(&state, &page.session, flash.0, flash.1).await?;
    Ok(Redirect::to("/settings/whatsapp").into_response())
}

/// What disconnecting does, before it is done (one click never disconnects).
async fn confirm_disconnect(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<Response, WebError> {
    let view = view(&state, &owner, FormView::default()).await?;
    if !view.is_connected() {
        return Err(WebError::NotFound);
    }
    Ok(page.render("settings/disconnect.html", &view)?.into_response())
}

async fn disconnect(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<Response, WebError> {
    connections::disconnect(&state.db, owner.tenant_id, &Actor::User(owner.user_id)).await.map_err(|e| {
        match e {
            ConnectionError::NotConnected => WebError::NotFound,
            e => WebError::Internal(e.into()),
        }
    })?;
    set_flash(&state, &page.session, "success", "flash.disconnected").await?;
    Ok(Redirect::to("/settings/whatsapp").into_response())
}
