//! Follow-ups after the 24-hour window: `/inbox/{id}/template` lists the business
//! account's approved templates (read from the Graph API with the connection's token) and
//! sends one, with its variables, to the conversation's customer through `send_message`.
//! The thread offers it once a free-form reply is no longer allowed. A marketing template
//! is neither offered nor sent to a customer who asked to stop marketing messages.

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use mujibak_core::{
    connections::{access_token, Refusal, Step},
    db::{connections, conversations, conversations::Conversation, messages::sending},
    domain::template::{ParamError, Template, MAX_PARAMS},
};
use mujibak_jobs::{enqueue, send_message::SendMessage};
use serde::{Deserialize, Serialize};

use super::{
    error::WebError,
    extract::{CurrentUser, Page, PathId},
    input::Form,
    routes::Routes,
    session::set_flash,
};
use crate::state::AppState;
use mujibak_core::domain::ConversationId;

pub(super) fn routes() -> Routes {
    Routes::new().route("/inbox/{id}/template", get(page).post(send))
}

#[derive(Serialize)]
struct Offered {
    /// `name|language`, the form's value.
    key: String,
    name: String,
    language: String,
    category: String,
    body: String,
    /// The variable numbers, 1 to n.
    fields: Vec<usize>,
}

#[derive(Serialize)]
struct TemplatesView {
    conversation_id: ConversationId,
    contact_name: String,
    templates: Vec<Offered>,
}

/// The conversation (the caller's business's) and the templates it may be sent, or why
/// Meta could not list them.
async fn offered(
    state: &AppState,
    tenant: mujibak_core::domain::TenantId,
    uuid: ConversationId,
) -> Result<(Conversation, Result<Vec<Template>, Refusal>), WebError> {
    let mut conn = state.db.acquire().await?;
    let conv = conversations::get(&mut conn, tenant, uuid).await?.ok_or(WebError::NotFound)?;
    let Some(link) = connections::get(&mut conn, tenant, conv.connection_id).await? else {
        return Ok((conv, Err(Refusal::TokenInvalid)));
    };
    drop(conn);
    let token = access_token(state.keyring()?, &link).map_err(|e| WebError::Internal(e.into()))?;
    let listed = state.graph.templates(&link.waba_id, &token).await.map_err(|e| {
        tracing::warn!(tenant.id = %tenant, error = %e, "templates could not be listed");
        Refusal::of(Step::Account, &e)
    });
    let opted_out = conv.marketing_opt_out_at.is_some();
    let allowed = listed.map(|all| {
        all.into_iter()
            .filter(|t| t.params() <= MAX_PARAMS && !(opted_out && t.category == "MARKETING"))
            .collect()
    });
    Ok((conv, allowed))
}

/// The page: each template with a field per variable, or Meta's refusal as an alert.
fn view(page: &Page, conv: Conversation, templates: Result<Vec<Template>, Refusal>) -> TemplatesView {
    let templates = templates.unwrap_or_else(|refusal| {
        page.alert(refusal.message_key());
        Vec::new()
    });
    TemplatesView {
        conversation_id: conv.conversation_id,
        contact_name: conv.contact_name,
        templates: templates
            .into_iter()
            .map(|t| Offered {
                key: format!("{}|{}", t.name, t.language),
                fields: (1..=t.params()).collect(),
                name: t.name,
                language: t.language,
                category: t.category,
                body: t.body,
            })
            .collect(),
    }
}

async fn page(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    PathId(id): PathId<ConversationId>,
) -> Result<Response, WebError> {
    let (conv, templates) = offered(&state, me.tenant_id, id).await?;
    let view = view(&page, conv, templates);
    Ok(page.render("inbox/template.html", &view)?.into_response())
}

/// The chosen template (`name|language`) and its variables `p1` … `p10`.
#[derive(Deserialize)]
struct SendForm {
    template: String,
    #[serde(default)]
    p1: String,
    #[serde(default)]
    p2: String,
    #[serde(default)]
    p3: String,
    #[serde(default)]
    p4: String,
    #[serde(default)]
    p5: String,
    #[serde(default)]
    p6: String,
    #[serde(default)]
    p7: String,
    #[serde(default)]
    p8: String,
    #[serde(default)]
    p9: String,
    #[serde(default)]
    p10: String,
}

impl SendForm {
    /// The first `n` variables.
    fn values(&self, n: usize) -> Vec<String> {
        let all = [
            &self.p1, &self.p2, &self.p3, &self.p4, &self.p5, &self.p6, &self.p7, &self.p8, &self.p9,
            &self.p10,
        ];
        all.into_iter().take(n).cloned().collect()
    }
}

async fn send(
    State(state): State<AppState>,
    page: Page,
    CurrentUser(me): CurrentUser,
    PathId(id): PathId<ConversationId>,
    Form { data: f, refused }: Form<SendForm>,
) -> Result<Response, WebError> {
    let tenant = me.tenant_id;
    let (conv, templates) = offered(&state, tenant, id).await?;
    let back = format!("/inbox/{}/template", conv.conversation_id);
    if !refused.is_empty() {
        page.refuse(&refused);
        return page.invalid("inbox/template.html", &view(&page, conv, templates));
    }
    let chosen = templates
        .ok()
        .and_then(|all| all.into_iter().find(|t| f.template == format!("{}|{}", t.name, t.language)));
    let Some(template) = chosen else {
        set_flash(&state, &page.session, "error", "errors.template_unknown").await?;
        return Ok(Redirect::to(&back).into_response());
    };
    let sent = match template.fill(&f.values(template.params())) {
        Ok(sent) => sent,
        Err(e) => {
            let key =
                if e == ParamError::Count { "errors.template_values" } else { "errors.template_value_shape" };
            set_flash(&state, &page.session, "error", key).await?;
            return Ok(Redirect::to(&back).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    conversations::lock(&mut tx, tenant, conv.conversation_id).await?.ok_or(WebError::NotFound)?;
    let body = template.render(&sent.params);
    let message_id =
        sending::insert_template(&mut tx, tenant, conv.conversation_id, &body, &sent, me.user_id).await?;
    conversations::answered(&mut tx, tenant, conv.conversation_id).await?;
    enqueue(&mut tx, &SendMessage { tenant_id: tenant, message_id }).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant, "template queued");
    set_flash(&state, &page.session, "success", "flash.template_queued").await?;
    Ok(Redirect::to(&format!("/inbox/{}", conv.conversation_id)).into_response())
}
