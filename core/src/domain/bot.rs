//! What an owner configures for the bot ([`BotSettings`]) and the opening hours it keeps
//! ([`Hours`]): the domain's own types, stored one row per tenant by `db::bot_settings`.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;

/// Opening hours: weekday (`sun` … `sat`) → ranges `["09:00","17:00"]`. Empty = always open.
pub type Hours = std::collections::BTreeMap<String, Vec<(String, String)>>;

/// What the owner configures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow)]
pub struct BotSettings {
    pub enabled: bool,
    pub description: String,
    pub instructions: String,
    pub knowledge: String,
    /// `match` (the customer's language), `ar` or `en`.
    pub reply_language: String,
    pub business_hours: Json<Hours>,
    pub away_message: String,
    /// Outside the hours: `notice_only` (the away message alone, once per closed period)
    /// or `notice_and_ai` (the AI answers, the away message added once per closed period).
    pub away_mode: String,
    pub fallback_message: String,
    /// Empty: the configured default model.
    pub model: String,
    /// Sent once to each customer who opens the chat for the first time (empty: none).
    pub welcome_message: String,
    /// Said when a person takes over (empty: `domain::handoff::DEFAULT_MESSAGE`).
    pub handoff_message: String,
    /// The business's own phrases asking for a person, one per line.
    pub handoff_phrases: String,
    /// Minutes after a hand-off that the team is emailed if nobody opened the
    /// conversation (0: never; at most 1440).
    pub handoff_email_minutes: i32,
    /// Whether customers' voice notes and photos are sent to the model provider to be
    /// transcribed or described. Off until the owner turns it on: when off, the files are
    /// kept for the team but never leave for the model.
    pub media_understanding: bool,
}
