//! The billing page (owner only): the plan, this month's AI replies against it, the plans
//! to choose from (prices without and with VAT) and the invoices issued so far with their
//! status and, while unpaid, a "pay" button to Moyasar's hosted page; a banner while the
//! bot is paused for an unpaid invoice, and a thank-you on the way back from paying.
//! A dearer plan takes effect at once; a cheaper one when the month ends (the page says
//! when, and choosing the current plan again keeps it); a cheaper plan the team does not
//! fit is refused, saying so; an owner whose address is not proven chooses none
//! (`billing::plan`, audited).

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono_tz::Asia::Riyadh;
use mujibak_core::{
    billing::{
        money,
        plan::{self, PlanChange},
    },
    db::{ai_usage, invoices, plans},
    domain::TenantId,
};
use serde::{Deserialize, Serialize};

use super::{
    error::WebError,
    extract::{Owner, Page},
    forms::FormView,
    input::Form,
    routes::Routes,
    session::set_flash,
};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().route("/billing", get(billing_page)).route("/billing/plan", post(choose))
}

#[derive(Serialize)]
struct PlanView {
    id: String,
    name_en: String,
    name_ar: String,
    price: String,
    price_with_vat: String,
    ai_replies: i32,
    numbers: i32,
    seats: i32,
    current: bool,
    /// Paid plans can be chosen; the trial is where a business starts.
    choosable: bool,
}

#[derive(Serialize)]
struct InvoiceView {
    id: String,
    number: String,
    issued_at: chrono::DateTime<chrono::Utc>,
    total: String,
    status: String,
    /// Moyasar's payment page while unpaid.
    pay_url: Option<String>,
}

#[derive(Serialize, Default)]
struct BillingView {
    #[serde(flatten)]
    form: FormView,
    plans: Vec<PlanView>,
    /// This month's AI replies and the allowance, as printed.
    used: String,
    limit: String,
    used_up: bool,
    percent: i64,
    invoices: Vec<InvoiceView>,
    /// The bot is paused for an unpaid invoice.
    on_hold: bool,
    /// Back from Moyasar's page: the payment is being confirmed.
    returning: bool,
    /// `mujibak dev`: the button that runs this month's invoice run now.
    sandbox: bool,
    /// The cheaper plan chosen (its name by language), and the day it starts (Riyadh).
    next_plan: Option<std::collections::BTreeMap<&'static str, String>>,
    next_plan_on: Option<String>,
}

async fn view(state: &AppState, tenant: TenantId, form: FormView) -> Result<BillingView, WebError> {
    let mut conn = state.db.acquire().await?;
    let current = plans::of(&mut conn, tenant).await?.plan_id;
    let next = plans::scheduled(&mut conn, tenant).await?;
    let allowance = ai_usage::allowance(&mut conn, tenant).await?;
    let listed = plans::listed(&mut conn).await?;
    let next_plan = next
        .as_ref()
        .and_then(|(id, _)| listed.iter().find(|p| &p.plan_id == id))
        .map(|p| [("en", p.name_en.clone()), ("ar", p.name_ar.clone())].into_iter().collect());
    let plans = listed
        .into_iter()
        .map(|p| PlanView {
            current: p.plan_id == current,
            choosable: p.price_halalas > 0,
            price: money::sar(p.price_halalas),
            price_with_vat: money::sar(money::totals(&[p.price_halalas]).total),
            id: p.plan_id,
            name_en: p.name_en,
            name_ar: p.name_ar,
            ai_replies: p.ai_replies,
            numbers: p.numbers,
            seats: p.seats,
        })
        .collect();
    let invoices = invoices::for_tenant(&mut conn, tenant, 24)
        .await?
        .into_iter()
        .map(|l| InvoiceView {
            id: l.invoice.invoice_id.to_string(),
            number: l.invoice.number,
            issued_at: l.invoice.issued_at,
            total: money::sar(l.invoice.total),
            pay_url: l.pay_url.filter(|_| l.status == "open"),
            status: l.status,
        })
        .collect();
    let percent = if allowance.limit > 0 {
        (i64::from(allowance.used) * 100 / i64::from(allowance.limit)).min(100)
    } else {
        100
    };
    Ok(BillingView {
        form,
        plans,
        used: allowance.used.to_string(),
        limit: allowance.limit.to_string(),
        used_up: allowance.used >= allowance.limit,
        percent,
        invoices,
        on_hold: allowance.on_hold,
        returning: false,
        sandbox: state.sandbox,
        next_plan_on: next.as_ref().map(|(_, at)| at.with_timezone(&Riyadh).format("%Y-%m-%d").to_string()),
        next_plan,
    })
}

#[derive(Deserialize)]
struct Back {
    /// Moyasar's `success_url` names the invoice just paid.
    paid: Option<String>,
}

async fn billing_page(
    page: Page,
    Owner(user): Owner,
    Query(back): Query<Back>,
) -> Result<Response, WebError> {
    let mut v = view(&page.state, user.tenant_id, FormView::default()).await?;
    v.returning = back.paid.is_some();
    Ok(page.render("billing/page.html", &v)?.into_response())
}

#[derive(Deserialize)]
struct PlanForm {
    plan: String,
}

async fn choose(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    Form { data: f, refused }: Form<PlanForm>,
) -> Result<Response, WebError> {
    let mut form = FormView::default();
    form.refuse(&page, &refused);
    if !user.email_verified {
        form.error(&page, "plan", "errors.verify_first");
        return page.invalid("billing/page.html", &view(&state, user.tenant_id, form).await?);
    }
    let mut tx = state.db.begin().await?;
    let outcome = if form.is_valid() {
        plan::choose(&mut tx, user.tenant_id, user.user_id, f.plan.trim()).await?
    } else {
        PlanChange::Unknown
    };
    tx.commit().await?;
    let flash = match outcome {
        PlanChange::Changed { .. } => "flash.plan_changed",
        PlanChange::Scheduled { .. } => "flash.plan_scheduled",
        PlanChange::Cancelled => "flash.plan_change_cancelled",
        PlanChange::Unchanged => return Ok(Redirect::to("/billing").into_response()),
        PlanChange::TeamTooLarge { members, seats } => {
            let text = page.text("errors.team_too_large").replace("{members}", &members.to_string());
            form.errors.insert("plan".into(), text.replace("{seats}", &seats.to_string()));
            return page.invalid("billing/page.html", &view(&state, user.tenant_id, form).await?);
        }
        PlanChange::Unknown => {
            form.error(&page, "plan", "errors.unknown_plan");
            return page.invalid("billing/page.html", &view(&state, user.tenant_id, form).await?);
        }
    };
    set_flash(&state, &page.session, "success", flash).await?;
    Ok(Redirect::to("/billing").into_response())
}
