//! What a form page shows: the values typed (kept on error, never passwords) and the error
//! of each field, already translated.

use std::collections::BTreeMap;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{extract::Page, WebError};

/// Values and per-field errors of one form.
#[derive(Debug, Default, Serialize)]
pub struct FormView {
    pub values: BTreeMap<&'static str, String>,
    pub errors: BTreeMap<&'static str, String>,
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
    pub fn error(&mut self, page: &Page, field: &'static str, key: &str) {
        self.errors.insert(field, page.text(key));
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

impl Page {
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
