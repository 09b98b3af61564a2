//! Our own `Form` and `Query` extractors, in place of axum's. No field of ours accepts a
//! NUL byte or another control character (tabs and line breaks aside), and Postgres
//! refuses NUL in text, so such values never reach a handler: in a form each is emptied
//! and its field named in [`Form::refused`], for the handler to show the form again with
//! the message (422); in a query the request is refused (400). A body or query that does
//! not fit its type (a field missing) is a 400 page, never serde's own words.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

use super::error::WebError;

/// Whether `s` holds only characters a field of ours accepts.
pub fn acceptable(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// A parsed form, with the fields whose values were refused (and emptied).
pub struct Form<T> {
    pub data: T,
    pub refused: Vec<String>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| WebError::BadRequest)?;
        let mut refused = Vec::new();
        let mut clean = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(&bytes) {
            if !acceptable(&key) {
                refused.push("form".to_owned());
            } else if !acceptable(&value) {
                clean.append_pair(&key, "");
                refused.push(key.into_owned());
            } else {
                clean.append_pair(&key, &value);
            }
        }
        let data = serde_urlencoded::from_str(&clean.finish()).map_err(|_| WebError::BadRequest)?;
        Ok(Form { data, refused })
    }
}

/// A parsed query string; any refused character is a 400 (a query has no form to show).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        let query = parts.uri.query().unwrap_or("");
        if form_urlencoded::parse(query.as_bytes()).any(|(k, v)| !acceptable(&k) || !acceptable(&v)) {
            return Err(WebError::BadInput);
        }
        serde_urlencoded::from_str(query).map(Query).map_err(|_| WebError::BadRequest)
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn text_with_line_breaks_is_accepted_and_control_characters_are_not() {
        assert!(acceptable("سطر\r\nline\ttab <b>{{ x }}</b> \u{202E}"));
        for bad in ["a\0b", "\x0b", "\x7f", "\u{85}", "\x1b[31m"] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }
}
