//! What a form page shows: the values typed (kept on error, never passwords) and the error
//! of each field, already translated; and how a page answers a form it refuses.

use std::collections::BTreeMap;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{error::WebError, extract::Page};

/// Values and per-field errors of one form.
#[derive(Debug, Default, Serialize)]
pub struct FormView {
    pub values: BTreeMap<&'static str, String>,
    pub errors: BTreeMap<String, String>,
    /// Page-specific extras (a `next` path, a business name …).
    pub extra: BTreeMap<&'static str, String>,
}

impl FormView {
    pub fn value(mut self, field: &'static str, value: &str) -> Self {
        self.values.insert(field, value.to_owned());
        self
    }

    pub fn extra(mut self, key: &'static str, value: &str) -> Self {
        self.extra.insert(key, value.to_owned());
        self
    }

    /// Records the error of `field` as the catalog text `key`.
    pub fn error(&mut self, page: &Page, field: &str, key: &str) {
        self.errors.insert(field.to_owned(), page.text(key));
    }

    /// Marks the fields an [`input::Form`](super::input::Form) refused (their values held
    /// characters no field accepts), each with the message, also shown atop the page.
    pub fn refuse(&mut self, page: &Page, refused: &[String]) {
        for field in refused {
            self.error(page, field, REFUSED);
        }
        page.refuse(refused);
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The message for a value holding characters no field accepts.
pub const REFUSED: &str = "errors.invalid_characters";

impl Page {
    /// Shows the refused-characters message atop the page if any field was refused.
    pub fn refuse(&self, refused: &[String]) {
        if !refused.is_empty() {
            self.alert(REFUSED);
        }
    }

    /// A catalog string in this page's language.
    pub fn text(&self, key: &str) -> String {
        self.state.views.text(self.session.locale, key)
    }

    /// The form again, with its errors: 422.
    pub fn invalid(&self, template: &str, view: &impl Serialize) -> Result<Response, WebError> {
        Ok((StatusCode::UNPROCESSABLE_ENTITY, self.render(template, view)?).into_response())
    }

    /// An emailed link that is used, expired or unknown: 410.
    pub fn link_invalid(&self) -> Result<Response, WebError> {
        Ok((StatusCode::GONE, self.render("auth/link_invalid.html", &FormView::default())?).into_response())
    }
}
