//! Owner settings: the bot — on/off, the business's own words, reply language, business
//! hours with an away message, the fallback message, the welcome for customers opening
//! the chat for the first time, whether customers' voice notes and photos go to the model
//! provider (media understanding, off until turned on), and the model, chosen from the models the operator lists
//! (`OPENAI_MODELS`): any other is refused (422). Saving re-indexes the pasted knowledge
//! text as knowledge-base passages (`bot_settings::save`).

use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use mujibak_core::{db::bot_settings, domain::hours};
use serde::{Deserialize, Serialize};

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

pub(super) fn routes() -> Routes {
    Routes::new().route("/settings/bot", get(bot).post(save_bot))
}

async fn bot(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
) -> Result<impl IntoResponse, WebError> {
    let mut conn = state.db.acquire().await?;
    let settings = bot_settings::get(&mut conn, owner.tenant_id).await?;
    let models = allowed_models(&mut conn, &state, owner.tenant_id).await?;
    page.render("settings/bot.html", &BotView::from(&settings).with_models(models))
}

/// The bot form: hours as one `HH:MM-HH:MM` text field per weekday.
#[derive(Debug, Default, Serialize, Deserialize)]
struct BotView {
    #[serde(default)]
    enabled: Option<String>,
    /// `on` when voice notes and photos are sent to the model provider.
    #[serde(default)]
    media_understanding: Option<String>,
    description: String,
    instructions: String,
    knowledge: String,
    reply_language: String,
    away_message: String,
    fallback_message: String,
    welcome_message: String,
    model: String,
    #[serde(default)]
    hours: std::collections::BTreeMap<String, String>,
    /// `notice_only` or `notice_and_ai`.
    away_mode: String,
    handoff_message: String,
    handoff_phrases: String,
    /// Minutes, as typed (Arabic-Indic digits accepted).
    handoff_email_minutes: String,
    /// A day's hours that could not be read: why, in the visitor's language.
    #[serde(default)]
    hour_errors: std::collections::BTreeMap<String, String>,
    /// The models the plan allows among those the operator lists, the default first
    /// (shown as "default").
    #[serde(default)]
    models: Vec<String>,
}

impl BotView {
    fn with_models(mut self, models: Vec<String>) -> Self {
        self.models = models;
        self
    }
}

/// The models `tenant`'s plan allows among the operator's (`OPENAI_MODELS`).
async fn allowed_models(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    tenant: mujibak_core::domain::TenantId,
) -> Result<Vec<String>, WebError> {
    let plan = mujibak_core::db::plans::of(conn, tenant).await?;
    Ok(mujibak_core::billing::plan::models_allowed(&plan.models, &state.config.ai.models))
}

const DAYS: [&str; 7] = ["sat", "sun", "mon", "tue", "wed", "thu", "fri"];

impl From<&bot_settings::BotSettings> for BotView {
    fn from(s: &bot_settings::BotSettings) -> Self {
        let hours =
            DAYS.iter()
                .map(|d| {
                    let ranges =
                        s.business_hours.0.get(*d).map(|r| {
                            r.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(", ")
                        });
                    (d.to_string(), ranges.unwrap_or_default())
                })
                .collect();
        BotView {
            enabled: s.enabled.then(|| "on".into()),
            media_understanding: s.media_understanding.then(|| "on".into()),
            description: s.description.clone(),
            instructions: s.instructions.clone(),
            knowledge: s.knowledge.clone(),
            reply_language: s.reply_language.clone(),
            away_message: s.away_message.clone(),
            away_mode: s.away_mode.clone(),
            handoff_message: s.handoff_message.clone(),
            handoff_phrases: s.handoff_phrases.clone(),
            handoff_email_minutes: s.handoff_email_minutes.to_string(),
            hour_errors: Default::default(),
            fallback_message: s.fallback_message.clone(),
            welcome_message: s.welcome_message.clone(),
            model: s.model.clone(),
            hours,
            models: Vec::new(),
        }
    }
}

async fn save_bot(
    State(state): State<AppState>,
    page: Page,
    Owner(owner): Owner,
    Form { data: f, refused }: Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let get =
        |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let mut hours = bot_settings::Hours::new();
    let mut hour_errors = std::collections::BTreeMap::new();
    for day in DAYS {
        match hours::parse_day(&get(&format!("hours_{day}"))) {
            Ok(ranges) if ranges.is_empty() => {}
            Ok(ranges) => {
                hours.insert(day.to_owned(), ranges);
            }
            Err(e) => {
                hour_errors.insert(day.to_owned(), page.text(e.key()));
            }
        }
    }
    let typed_minutes = get("handoff_email_minutes");
    // Left empty: the default, 5.
    let minutes = match mujibak_core::domain::digits::ascii_digits(&typed_minutes).as_str() {
        "" => Some(5),
        typed => typed.parse::<i32>().ok().filter(|m| (0..=1440).contains(m)),
    };
    let language = get("reply_language");
    let settings = bot_settings::BotSettings {
        enabled: get("enabled") == "on",
        description: cap(get("description")),
        instructions: cap(get("instructions")),
        knowledge: cap(get("knowledge")),
        reply_language: if ["ar", "en"].contains(&language.as_str()) { language } else { "match".into() },
        business_hours: sqlx::types::Json(hours),
        away_message: cap(get("away_message")),
        away_mode: if get("away_mode") == "notice_and_ai" {
            "notice_and_ai".into()
        } else {
            "notice_only".into()
        },
        fallback_message: cap(get("fallback_message")),
        welcome_message: cap(get("welcome_message")),
        handoff_message: cap(get("handoff_message")),
        handoff_phrases: cap(get("handoff_phrases")),
        handoff_email_minutes: minutes.unwrap_or(5),
        media_understanding: get("media_understanding") == "on",
        model: get("model"),
    };
    let allowed = allowed_models(&mut *state.db.acquire().await?, &state, owner.tenant_id).await?;
    let known = settings.model.is_empty() || allowed.contains(&settings.model);
    if !refused.is_empty() || !known || !hour_errors.is_empty() || minutes.is_none() {
        page.refuse(&refused);
        if minutes.is_none() {
            page.alert("errors.handoff_minutes");
        }
        if !known {
            page.alert("errors.model_unknown");
        }
        if !hour_errors.is_empty() {
            page.alert("errors.hours_not_saved");
        }
        let mut view = BotView::from(&settings).with_models(allowed);
        // Show what was typed (the hours as entered, the model as the stored choice).
        view.hours = DAYS.iter().map(|d| (d.to_string(), get(&format!("hours_{d}")))).collect();
        view.hour_errors = hour_errors;
        view.handoff_email_minutes = typed_minutes;
        if !known {
            view.model = String::new();
        }
        return page.invalid("settings/bot.html", &view);
    }
    bot_settings::save(&mut *state.db.acquire().await?, owner.tenant_id, &settings).await?;
    set_flash(&state, &page.session, "success", "flash.bot_saved").await?;
    Ok(Redirect::to("/settings/bot").into_response())
}

/// Business-provided text is bounded so the prompt stays bounded.
fn cap(s: String) -> String {
    s.chars().take(8_000).collect()
}
