//! `next=`: where to go after signing in or switching language. Only a path that is still
//! one of our paths after a browser's own reading of it is accepted: browsers drop tabs and
//! line breaks anywhere in a URL, strip leading spaces and control characters and read `\`
//! as `/`, so `/\t/evil.example` is `//evil.example` to them, another site. We refuse any
//! control character or backslash outright (400), resolve what is left with the same
//! WHATWG parser browsers use, and hand back its serialisation (percent-encoded, so the
//! `Location` header is always valid).

use super::error::WebError;

/// Where to go when no `next` is given.
pub const DEFAULT: &str = "/dashboard";

/// The path to redirect to: `next` if it is ours, the dashboard if absent; otherwise 400.
pub fn safe_next(next: Option<&str>) -> Result<String, WebError> {
    match next {
        None | Some("") => Ok(DEFAULT.to_owned()),
        Some(raw) => our_path(raw).ok_or(WebError::BadRequest),
    }
}

/// `raw` as a path of ours, serialised, or `None` if a browser could take it elsewhere.
pub fn our_path(raw: &str) -> Option<String> {
    if raw.len() > 2048 || raw.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if !raw.starts_with('/') || raw.starts_with("//") {
        return None;
    }
    let base = url::Url::parse("https://mujibak.invalid/").expect("a valid base URL");
    let resolved = base.join(raw).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let path = &resolved[url::Position::BeforePath..];
    // `/.//x` resolves to the path `//x`, which as a Location would name a host.
    (!path.starts_with("//")).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{our_path, safe_next};

    #[test]
    fn our_paths_are_kept_and_encoded() {
        assert_eq!(our_path("/profile?x=1").as_deref(), Some("/profile?x=1"));
        assert_eq!(our_path("/inbox?q=a b").as_deref(), Some("/inbox?q=a%20b"));
        assert_eq!(our_path("/inbox?q=نور").as_deref(), Some("/inbox?q=%D9%86%D9%88%D8%B1"));
        assert_eq!(
            our_path("/x?u=https://e").as_deref(),
            Some("/x?u=https://e"),
            "a URL in the query stays data"
        );
        assert_eq!(safe_next(None).unwrap(), "/dashboard");
    }

    #[test]
    fn known_open_redirect_bypasses_are_refused() {
        let bypasses = [
            "//evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example/phish",
            "/\t\\evil.example",
            "\t//evil.example",
            " //evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\x0b/evil.example",
            "/\x0c/evil.example",
            "/\x7f/evil.example",
            "/\u{0}/evil.example",
            "/.//evil.example",
            "/./\\evil.example",
            "/%2e//evil.example",
            "/\u{85}/evil.example",
        ];
        for bad in bypasses {
            assert_eq!(our_path(bad), None, "{bad:?}");
            assert!(safe_next(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
