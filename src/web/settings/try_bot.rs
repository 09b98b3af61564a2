//! "Try the bot" on the bot page: a question answered as a customer's would be (the
//! passages the search finds, the default model), shown with the passages it used; or the
//! owner's own sample questions (one per line, with the facts each answer must state) asked
//! and judged the way `mujibak eval` judges its set: grounded in the passages, in the
//! question's language, handed off when it should be. Nothing is sent to anyone; each
//! question counts toward the business's tries an hour; an owner whose address is not
//! proven asks nothing (no model call is made for an unverified account).

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    routing::post,
};
use mujibak_core::{
    clients::openai::Turn,
    db::{bot_settings, knowledge, tenants},
    domain::{knowledge as rules, reply},
    eval::{self, Case, Outcome, Totals},
};
use serde::{Deserialize, Serialize};

use crate::{
    state::AppState,
    web::{
        error::WebError,
        extract::{Owner, Page},
        input::Form,
        limits,
        routes::Routes,
    },
};

/// Sample questions asked in one run.
const MAX_SAMPLES: usize = 10;

pub(super) fn routes() -> Routes {
    Routes::new().route("/settings/bot/try", post(try_bot))
}

#[derive(Deserialize)]
struct TryForm {
    #[serde(default)]
    question: String,
    /// Sample questions, one per line (`question => fact; fact`).
    #[serde(default)]
    samples: String,
}

#[derive(Serialize, Default)]
struct TryView {
    question: String,
    answer: Option<String>,
    /// Why no answer came (the model's failure class), if none did.
    failed: bool,
    passages: Vec<knowledge::Passage>,
    samples: String,
    judged: Vec<Judged>,
    totals: Option<Totals>,
}

/// One sample question's outcome, with whether it passed.
#[derive(Serialize)]
struct Judged {
    #[serde(flatten)]
    outcome: Outcome,
    passed: bool,
    handed_off: bool,
}

async fn try_bot(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused: bad }: Form<TryForm>,
) -> Result<Response, WebError> {
    if !owner.email_verified {
        // An account whose address is not proven costs nobody a model call.
        page.alert("errors.verify_first");
        let view = TryView { question: f.question, samples: f.samples, ..TryView::default() };
        return page.invalid("settings/try.html", &view);
    }
    let samples: Vec<Case> = f.samples.lines().filter_map(Case::from_line).take(MAX_SAMPLES).collect();
    if bad.is_empty() && !samples.is_empty() {
        return run_samples(&state, &page, owner.tenant_id, f.samples, &samples).await;
    }
    let question: String = f.question.trim().chars().take(1_000).collect();
    if !bad.is_empty() || question.is_empty() {
        page.refuse(&bad);
        page.alert("errors.try_question");
        return page.invalid("settings/try.html", &TryView { question, ..TryView::default() });
    }
    limits::BOT_TRIALS.check(&state, &owner.tenant_id.to_string()).await?;
    let mut conn = state.db.acquire().await?;
    let settings = bot_settings::get(&mut conn, owner.tenant_id).await?;
    let business = tenants::get(&mut conn, owner.tenant_id).await?.business_name;
    let terms = rules::terms(&question);
    let passages = knowledge::relevant(&mut conn, owner.tenant_id, &terms, rules::MAX_PASSAGES).await?;
    drop(conn);
    let system = reply::system_prompt(&business, &settings, &passages);
    let asked = [Turn { from_customer: true, text: question.clone() }];
    let answer = state.model.reply(None, &system, &asked).await;
    if let Err(e) = &answer {
        tracing::warn!(tenant.id = %owner.tenant_id, error = %e, "try the bot: the model failed");
    }
    let failed = answer.is_err();
    let view = TryView { question, answer: answer.ok(), failed, passages, ..TryView::default() };
    Ok(page.render("settings/try.html", &view)?.into_response())
}

/// Asks and judges each sample question (no connection held while the model answers).
async fn run_samples(
    state: &AppState,
    page: &Page,
    tenant: mujibak_core::domain::TenantId,
    typed: String,
    cases: &[Case],
) -> Result<Response, WebError> {
    for _ in cases {
        limits::BOT_TRIALS.check(state, &tenant.to_string()).await?;
    }
    let mut conn = state.db.acquire().await?;
    let settings = bot_settings::get(&mut conn, tenant).await?;
    let business = tenants::get(&mut conn, tenant).await?.business_name;
    let mut found = Vec::with_capacity(cases.len());
    for case in cases {
        found.push(eval::passages(&mut conn, tenant, case).await?);
    }
    drop(conn);
    let mut outcomes = Vec::with_capacity(cases.len());
    for (case, passages) in cases.iter().zip(&found) {
        outcomes.push(eval::ask(&state.model, &business, &settings, case, passages).await);
    }
    let totals = eval::totals(&outcomes);
    let judged = outcomes
        .into_iter()
        .map(|outcome| Judged {
            passed: outcome.verdict.passed(),
            handed_off: outcome.verdict.grounded.is_none() && !outcome.failed,
            outcome,
        })
        .collect();
    let view = TryView { samples: typed, judged, totals: Some(totals), ..TryView::default() };
    Ok(page.render("settings/try.html", &view)?.into_response())
}
