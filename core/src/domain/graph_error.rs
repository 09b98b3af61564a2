//! What a WhatsApp (Graph API) error means for the team, as the inbox says it in their
//! language: each class of error becomes a plain action. The stored error reads
//! "Graph API error <code> (HTTP <status>): <message>" (a refused send) or
//! "<code>: <title>" (a failed status from Meta's webhook); anything else is a network
//! problem.

/// The class of `error`, as a key of the `inbox.graph_errors` catalog.
pub fn class(error: &str) -> &'static str {
    if error.starts_with("Graph API unreachable") || error.starts_with("Graph API outcome unknown") {
        return "unreachable";
    }
    let rest = error.strip_prefix("Graph API error ").unwrap_or(error);
    let code: Option<u32> = rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|d| d.parse().ok());
    match code {
        Some(131047) => "window",
        Some(131026) => "undeliverable",
        Some(0 | 10 | 190 | 200..=299) => "reconnect",
        Some(4 | 80007 | 130429 | 131056) => "rate",
        Some(131048 | 131049) => "spam",
        Some(368) => "restricted",
        Some(131051 | 131062) => "unsupported",
        Some(131042) => "payment",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::class;

    #[test]
    fn each_stored_form_of_an_error_finds_its_class() {
        assert_eq!(class("Graph API error 190 (HTTP 401): Error validating access token"), "reconnect");
        assert_eq!(class("131047: Re-engagement message"), "window");
        assert_eq!(class("131026: Message undeliverable"), "undeliverable");
        assert_eq!(class("Graph API error 131056 (HTTP 400): pair rate limit"), "rate");
        assert_eq!(class("Graph API error 368 (HTTP 403): restricted"), "restricted");
        assert_eq!(class("Graph API unreachable: connection refused"), "unreachable");
        assert_eq!(class("Graph API error 100 (HTTP 400): Invalid parameter"), "other");
        assert_eq!(class("something else entirely"), "other");
    }
}
