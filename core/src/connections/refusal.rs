//! Why Meta refused to connect a number, as the one thing the owner can do about it. Each
//! Graph error class (see `clients::whatsapp::GraphErrorClass`) and the step that met it
//! name a [`Refusal`]; the settings page shows its plain action in the owner's language.
//! Meta's answer alone decides it: whether another business holds the number is never told.

use crate::clients::whatsapp::{GraphError, GraphErrorClass};

/// The step of connecting that Meta answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reading the phone number with the token.
    Number,
    /// Listing the WhatsApp Business Account's numbers, or subscribing the app to it.
    Account,
}

/// What the owner should fix before connecting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Meta has no number with this id that the token may read (code 100): the id is not
    /// the Phone number ID of API Setup, or the system user was not given the account.
    UnknownNumber,
    /// The account id is wrong, or the account does not hold this number.
    WrongAccount,
    /// The token is wrong or expired (190, 0): API Setup's temporary token lasts 24 hours.
    TokenInvalid,
    /// The token lacks a permission (10, 200–299): `whatsapp_business_messaging` and
    /// `whatsapp_business_management`.
    MissingPermission,
    /// Meta asked us to slow down (rate limits): try again in a minute.
    Busy,
    /// Meta could not be reached, or did not answer: nothing was saved, try again.
    Unreachable,
    /// Any other refusal: Meta's error code, for support.
    Other(i64),
}

impl Refusal {
    /// The refusal Meta's error at `step` means.
    pub fn of(step: Step, e: &GraphError) -> Self {
        let code = match e {
            GraphError::Api { code, .. } => *code,
            GraphError::Unreachable(_) | GraphError::Ambiguous(_) => return Refusal::Unreachable,
        };
        match (e.class(), code) {
            (GraphErrorClass::RateLimited { .. } | GraphErrorClass::RecipientLimited { .. }, _) => {
                Refusal::Busy
            }
            (GraphErrorClass::Retry, _) => Refusal::Unreachable,
            (_, 190 | 0) => Refusal::TokenInvalid,
            (_, 10 | 200..=299) => Refusal::MissingPermission,
            (_, 100) if step == Step::Number => Refusal::UnknownNumber,
            (_, 100) => Refusal::WrongAccount,
            (_, code) => Refusal::Other(code),
        }
    }

    /// The key of its message (the owner's next step) in the locale files.
    pub fn message_key(self) -> &'static str {
        match self {
            Refusal::UnknownNumber => "connect_refusals.unknown_number",
            Refusal::WrongAccount => "connect_refusals.wrong_account",
            Refusal::TokenInvalid => "connect_refusals.token_invalid",
            Refusal::MissingPermission => "connect_refusals.missing_permission",
            Refusal::Busy => "connect_refusals.busy",
            Refusal::Unreachable => "connect_refusals.unreachable",
            Refusal::Other(_) => "connect_refusals.other",
        }
    }

    /// Meta's error code, where the refusal is not one of the known classes.
    pub fn code(self) -> Option<i64> {
        match self {
            Refusal::Other(code) => Some(code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(http: u16, code: i64) -> GraphError {
        GraphError::Api { http, code, message: String::new() }
    }

    #[test]
    fn each_graph_error_class_names_one_action() {
        assert_eq!(Refusal::of(Step::Number, &api(400, 100)), Refusal::UnknownNumber);
        assert_eq!(Refusal::of(Step::Account, &api(400, 100)), Refusal::WrongAccount);
        assert_eq!(Refusal::of(Step::Number, &api(401, 190)), Refusal::TokenInvalid);
        assert_eq!(Refusal::of(Step::Account, &api(403, 200)), Refusal::MissingPermission);
        assert_eq!(Refusal::of(Step::Number, &api(403, 10)), Refusal::MissingPermission);
        assert_eq!(Refusal::of(Step::Number, &api(429, 80007)), Refusal::Busy);
        assert_eq!(Refusal::of(Step::Number, &api(503, 2)), Refusal::Unreachable);
        assert_eq!(Refusal::of(Step::Number, &GraphError::Ambiguous(String::new())), Refusal::Unreachable);
        assert_eq!(Refusal::of(Step::Account, &api(400, 368)), Refusal::Other(368));
        assert_eq!(Refusal::Other(368).code(), Some(368));
    }
}
