//! What the WhatsApp settings page shows: the live connection with its setup checklist
//! (Meta accepted the token, Meta verified the webhook URL, a customer's message arrived),
//! the history of numbers, and the text of a refusal from Meta (`connections::Refusal`)
//! as the owner's next step.

use mujibak_core::{
    connections::{self, Refusal},
    db::connections as db_connections,
    db::users::User,
};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::{
    state::AppState,
    web::{error::WebError, extract::Page, forms::FormView},
};

#[derive(Serialize)]
pub(super) struct ConnectionView {
    display_number: String,
    phone_number_id: String,
    waba_id: String,
    status: String,
    status_detail: Option<String>,
    webhook_url: String,
    verify_token: String,
    linked_at: String,
    setup: Setup,
}

/// The three things that make a number answer, each done or not.
#[derive(Serialize)]
struct Setup {
    /// Meta accepted the stored token for the number.
    token: bool,
    /// Meta verified the callback URL and verify token (or its deliveries already arrive).
    webhook: bool,
    /// A customer's message has arrived.
    message: bool,
    /// All three.
    done: bool,
}

#[derive(Serialize)]
struct HistoryRow {
    display_number: String,
    linked_at: String,
    unlinked_at: Option<String>,
}

#[derive(Serialize)]
pub(super) struct WhatsAppView {
    live: Option<ConnectionView>,
    history: Vec<HistoryRow>,
    form: FormView,
    /// `mujibak dev`: offer a sandbox number in one click.
    sandbox: bool,
}

impl WhatsAppView {
    pub(super) fn is_connected(&self) -> bool {
        self.live.is_some()
    }
}

pub(super) async fn view(state: &AppState, owner: &User, form: FormView) -> Result<WhatsAppView, WebError> {
    let mut conn = state.db.acquire().await?;
    let live = match db_connections::live(&mut conn, owner.tenant_id).await? {
        Some(c) => {
            let verify_token = connections::verify_token(state.keyring()?, &c)
                .map_err(anyhow::Error::from)?
                .expose_secret()
                .to_owned();
            let message = db_connections::has_customers(&mut conn, owner.tenant_id, c.connection_id).await?;
            let token = c.verified_at.is_some() && c.status == "active";
            let webhook = c.webhook_verified_at.is_some() || message;
            Some(ConnectionView {
                webhook_url: format!("{}/webhooks/whatsapp/{}", state.config.http.base_url, c.webhook_key),
                display_number: c.display_number,
                phone_number_id: c.phone_number_id,
                waba_id: c.waba_id,
                status: c.status,
                status_detail: c.status_detail,
                verify_token,
                linked_at: c.linked_at.to_rfc3339(),
                setup: Setup { token, webhook, message, done: token && webhook && message },
            })
        }
        None => None,
    };
    let history = db_connections::history(&mut conn, owner.tenant_id)
        .await?
        .into_iter()
        .map(|c| HistoryRow {
            display_number: c.display_number,
            linked_at: c.linked_at.to_rfc3339(),
            unlinked_at: c.unlinked_at.map(|t| t.to_rfc3339()),
        })
        .collect();
    Ok(WhatsAppView { live, history, form, sandbox: state.sandbox })
}

/// Meta's refusal as the field it concerns and the step to take (in the page's language);
/// no field: the whole form (Meta busy or unreachable, or an error Mujibak does not know).
pub(super) fn refusal(page: &Page, refusal: Refusal) -> (Option<&'static str>, String) {
    let text = page.text(refusal.message_key());
    let field = match refusal {
        Refusal::UnknownNumber => Some("phone_number_id"),
        Refusal::WrongAccount => Some("waba_id"),
        Refusal::TokenInvalid | Refusal::MissingPermission => Some("access_token"),
        Refusal::Busy | Refusal::Unreachable | Refusal::Other(_) => None,
    };
    match refusal.code() {
        Some(code) => (field, format!("{text} ({code})")),
        None => (field, text),
    }
}
