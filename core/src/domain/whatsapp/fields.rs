//! Every webhook field of the WhatsApp Business Account object and every part of a
//! `messages` change that Mujibak knows, and what it does with each. The table in docs/whatsapp.md of
//! webhook fields lists the same names; `webhooks::fields::every_field_in_the_documented_table_…`
//! checks that both agree and posts each in Meta's shape. A field not listed here is kept
//! as `ignored` with a warning; a message type not listed is stored as `unsupported`.

/// What happens to a change of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Processed by `handle_inbound` (messages, statuses, echoes, account updates,
    /// marketing preferences).
    Processed,
    /// Kept as a `recorded` event with an info log line naming the field; nothing else.
    Recorded,
}

/// Every field Mujibak knows.
pub const FIELDS: &[(&str, Handling)] = &[
    ("messages", Handling::Processed),
    ("smb_message_echoes", Handling::Processed),
    ("account_update", Handling::Processed),
    ("user_preferences", Handling::Processed),
    ("account_alerts", Handling::Recorded),
    ("account_review_update", Handling::Recorded),
    ("automatic_events", Handling::Recorded),
    ("business_capability_update", Handling::Recorded),
    ("calls", Handling::Recorded),
    ("flows", Handling::Recorded),
    ("history", Handling::Recorded),
    ("message_template_components_update", Handling::Recorded),
    ("message_template_quality_update", Handling::Recorded),
    ("message_template_status_update", Handling::Recorded),
    ("partner_solutions", Handling::Recorded),
    ("payment_configuration_update", Handling::Recorded),
    ("phone_number_name_update", Handling::Recorded),
    ("phone_number_quality_update", Handling::Recorded),
    ("security", Handling::Recorded),
    ("smb_app_state_sync", Handling::Recorded),
    ("template_category_update", Handling::Recorded),
];

/// The parts of a `messages` change: every `messages[].type`, then the `statuses` and
/// `errors` arrays.
pub const MESSAGE_ITEMS: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "order",
    "reaction",
    "system",
    "request_welcome",
    "edit",
    "revoke",
    "unsupported",
    "statuses",
    "errors",
];

/// How `field` is handled; `None` for a field Mujibak does not know.
pub fn handling(field: &str) -> Option<Handling> {
    FIELDS.iter().find(|(f, _)| *f == field).map(|(_, h)| *h)
}

/// Message types stored as a message of their own (an edit or a revoke changes another
/// message; any other type is stored as `unsupported`).
pub fn stored_kind(kind: &str) -> &str {
    match kind {
        "statuses" | "errors" | "edit" | "revoke" => "unsupported",
        k if MESSAGE_ITEMS.contains(&k) => k,
        _ => "unsupported",
    }
}
