//! Tenants: search by business name, email or number; one tenant's page (its status,
//! connection health, plan, invoices with their Moyasar payment and any mismatch flagged
//! for staff, the bot's pause for an unpaid invoice, usage, recent failures, its audit
//! trail; the actions are in
//! `tenant_actions`); and, with support:read and a stated
//! reason, its conversations — each such view writes an audit row with the reason and is
//! shown under a banner saying so. Without a reason the page asks for one and shows nothing.

use axum::{
    extract::{Path, State},
    response::Response,
    routing::get,
};
use mujibak_core::{
    accounts::{self, TenantStatus},
    billing::money,
    db::{audit, inbox, invoices, messages, ops_tenants, payments, plans, usage},
    domain::{ConversationId, TenantId},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{show, StaffCtx};
use crate::{
    state::AppState,
    web::{error::WebError, extract::PathId, input::Query, routes::Routes},
};

pub fn routes() -> Routes {
    Routes::new()
        .route("/ops/tenants", get(search))
        .route("/ops/tenants/{tenant}", get(detail))
        .route("/ops/tenants/{tenant}/conversations", get(conversation_list))
        .route("/ops/tenants/{tenant}/conversations/{id}", get(conversation))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

#[derive(Serialize)]
struct SearchView {
    q: String,
    tenants: Vec<ops_tenants::TenantRow>,
}

async fn search(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Query(q): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let q = q.q.unwrap_or_default().trim().to_owned();
    let tenants = if q.is_empty() { Vec::new() } else { ops_tenants::search(&state.db, &q, 50).await? };
    show(&state, &ctx, "ops/tenants.html", &SearchView { q, tenants })
}

/// A tenant id from the path (not one: 404).
pub(super) fn tenant_id(raw: &str) -> Result<TenantId, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

/// 404 unless the tenant exists.
pub(super) async fn existing(
    conn: &mut sqlx::PgConnection,
    id: TenantId,
) -> Result<ops_tenants::TenantRow, WebError> {
    ops_tenants::get(conn, id).await?.ok_or(WebError::NotFound)
}

#[derive(Serialize)]
struct DetailView {
    tenant: ops_tenants::TenantRow,
    /// active, suspended, deleting or deleted.
    status: &'static str,
    /// The suspension's reason, or when the purge runs.
    status_note: Option<String>,
    usage: Vec<usage::Day>,
    failures: Vec<ops_tenants::Failure>,
    audit: Vec<audit::Entry>,
    billing: BillingFacts,
}

/// The plan, the bot's pause for an unpaid invoice, and the invoices with their payment.
#[derive(Serialize)]
struct BillingFacts {
    plan: String,
    hold_since: Option<chrono::DateTime<chrono::Utc>>,
    invoices: Vec<OpsInvoice>,
}

#[derive(Serialize)]
struct OpsInvoice {
    number: String,
    issued_at: chrono::DateTime<chrono::Utc>,
    total: String,
    status: String,
    moyasar_id: Option<String>,
    flagged: Option<String>,
}

async fn billing_facts(state: &AppState, id: TenantId) -> Result<BillingFacts, WebError> {
    let mut conn = state.db.acquire().await?;
    let plan = plans::of(&mut conn, id).await?.plan_id;
    let hold_since = payments::hold_since(&mut conn, id).await?;
    let invoices = invoices::for_tenant(&mut conn, id, 24)
        .await?
        .into_iter()
        .map(|l| OpsInvoice {
            number: l.invoice.number,
            issued_at: l.invoice.issued_at,
            total: money::sar(l.invoice.total),
            status: l.status,
            moyasar_id: l.moyasar_id,
            flagged: l.flagged,
        })
        .collect();
    Ok(BillingFacts { plan, hold_since, invoices })
}

async fn detail(
    State(state): State<AppState>,
    ctx: StaffCtx,
    PathId(id): PathId<TenantId>,
) -> Result<Response, WebError> {
    let mut conn = state.db.acquire().await?;
    let tenant = existing(&mut conn, id).await?;
    let gate = accounts::status(&mut conn, id).await?;
    drop(conn);
    let status_note = match &gate {
        TenantStatus::Active => None,
        TenantStatus::Suspended { reason } => Some(reason.clone()),
        TenantStatus::Deleting { purge_after, .. } => {
            Some(format!("purge after {}", purge_after.to_rfc3339()))
        }
    };
    let usage = usage::last_days(&state.db, id, 30).await?;
    let failures = ops_tenants::recent_failures(&state.db, id, 20).await?;
    let audit =
        audit::search(&state.db, &audit::Search { tenant: Some(id), ..Default::default() }, 20).await?;
    let billing = billing_facts(&state, id).await?;
    let view = DetailView { tenant, status: gate.as_str(), status_note, usage, failures, audit, billing };
    show(&state, &ctx, "ops/tenant.html", &view)
}

#[derive(Deserialize)]
struct Reason {
    reason: Option<String>,
}

/// The stated reason, if one is given: 10 to 500 characters, or the request is refused.
pub(super) fn stated_reason(given: Option<String>) -> Result<Option<String>, WebError> {
    let Some(text) = given.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else { return Ok(None) };
    let n = text.chars().count();
    if !(10..=500).contains(&n) {
        return Err(WebError::Invalid("a reason is 10 to 500 characters".into()));
    }
    Ok(Some(text))
}

#[derive(Serialize)]
struct SupportView<T: Serialize> {
    tenant: ops_tenants::TenantRow,
    /// `None`: the page asks for a reason and shows no content.
    reason: Option<String>,
    conversation: Option<ConversationId>,
    content: Option<T>,
}

async fn support_view<T: Serialize>(
    state: &AppState,
    ctx: &StaffCtx,
    id: TenantId,
    conversation: Option<ConversationId>,
    why: Reason,
    load: impl AsyncFnOnce(&mut sqlx::PgConnection, TenantId) -> Result<Option<T>, sqlx::Error>,
) -> Result<Response, WebError> {
    let mut conn = state.db.acquire().await?;
    let tenant = existing(&mut conn, id).await?;
    let Some(reason) = stated_reason(why.reason)? else {
        if ctx.json {
            return Err(WebError::Invalid("reading a tenant's conversations needs a reason".into()));
        }
        let view: SupportView<T> = SupportView { tenant, reason: None, conversation, content: None };
        return show(state, ctx, "ops/conversations.html", &view);
    };
    let content = load(&mut conn, id).await?.ok_or(WebError::NotFound)?;
    let detail = json!({ "reason": reason, "conversation": conversation });
    audit::record(&mut conn, Some(id), &ctx.staff.actor(), "conversations_viewed", detail).await?;
    let view = SupportView { tenant, reason: Some(reason), conversation, content: Some(content) };
    show(state, ctx, "ops/conversations.html", &view)
}

async fn conversation_list(
    State(state): State<AppState>,
    ctx: StaffCtx,
    PathId(id): PathId<TenantId>,
    Query(why): Query<Reason>,
) -> Result<Response, WebError> {
    support_view(&state, &ctx, id, None, why, async |conn, id| {
        inbox::list(conn, id, inbox::InboxFilter::default(), None, 100)
            .await
            .map(|rows| Some(json!({ "conversations": rows })))
    })
    .await
}

async fn conversation(
    State(state): State<AppState>,
    ctx: StaffCtx,
    Path((raw, conversation)): Path<(String, ConversationId)>,
    Query(why): Query<Reason>,
) -> Result<Response, WebError> {
    support_view(&state, &ctx, tenant_id(&raw)?, Some(conversation), why, async |conn, id| {
        let messages = messages::recent(conn, id, conversation, 200).await?;
        Ok((!messages.is_empty()).then(|| json!({ "messages": messages })))
    })
    .await
}
