//! What an `account_update` does to the connection: the events that stop a number (deleted,
//! disabled, restricted from answering customers, unshared from us, offboarded), the ones
//! that undo them, and the informational rest.

use serde_json::Value;

use super::parse::str_at;

/// What an account update does to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEffect {
    /// The number can no longer answer: the connection takes `status` (the bot stops, the
    /// owner is emailed), with `detail` for the settings page.
    Stop { status: &'static str, detail: String },
    /// The number answers again: the connection is `active` again if it was in one of `from`.
    Restore { from: &'static [&'static str] },
    /// Recorded only.
    Inform,
}

/// The effect of Meta's `event` with its `value` (`ban_info`, `restriction_info`, …).
pub fn account_effect(update: &str, value: &Value) -> AccountEffect {
    let stop = |status, detail: String| AccountEffect::Stop { status, detail };
    match update {
        "ACCOUNT_DELETED" => stop("deleted", update.to_owned()),
        "DISABLED_UPDATE" => {
            let state = str_at(value, &["ban_info", "waba_ban_state"]).unwrap_or_default();
            match state.as_str() {
                "DISABLE" => {
                    let date = str_at(value, &["ban_info", "waba_ban_date"]).unwrap_or_default();
                    stop("disabled", format!("{update}: {state} {date}").trim().to_owned())
                }
                "REINSTATE" => AccountEffect::Restore { from: &["disabled"] },
                _ => AccountEffect::Inform,
            }
        }
        "ACCOUNT_RESTRICTION" => {
            let restrictions: Vec<&Value> = ["restriction_info", "restrictions"]
                .iter()
                .filter_map(|k| value.get(*k))
                .flat_map(|r| r.as_array().map(|a| a.iter().collect()).unwrap_or_else(|| vec![r]))
                .collect();
            let answering = restrictions.iter().find(|r| {
                str_at(r, &["restriction_type"]).as_deref() == Some("RESTRICTED_CUSTOMER_INITIATED_MESSAGING")
            });
            match answering {
                Some(r) => {
                    let until = str_at(r, &["expiration"]).map(|e| format!(" until {e}")).unwrap_or_default();
                    stop("restricted", format!("{update}: RESTRICTED_CUSTOMER_INITIATED_MESSAGING{until}"))
                }
                None => AccountEffect::Inform,
            }
        }
        "PARTNER_REMOVED" | "PARTNER_APP_UNINSTALLED" => stop("removed", update.to_owned()),
        "PARTNER_ADDED" | "PARTNER_APP_INSTALLED" => AccountEffect::Restore { from: &["removed"] },
        "ACCOUNT_OFFBOARDED" => stop("offboarded", update.to_owned()),
        "ACCOUNT_RECONNECTED" => AccountEffect::Restore { from: &["offboarded"] },
        _ => AccountEffect::Inform,
    }
}
