//! WhatsApp message templates (pure): the only messages Meta lets a business send once a
//! customer's 24-hour window has closed. A template's body holds numbered variables
//! (`{{1}}`, `{{2}}` …) filled in when it is sent; what an agent may fill them with.

use serde::{Deserialize, Serialize};

/// Variables a template may have and the inbox can fill (the form has this many fields).
pub const MAX_PARAMS: usize = 10;
/// Characters of one variable (Meta allows more; a follow-up needs less).
pub const MAX_PARAM_CHARS: usize = 200;

/// An approved template as Meta lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    /// Meta's language code (`ar`, `en`, `en_US`).
    pub language: String,
    /// `UTILITY`, `MARKETING` or `AUTHENTICATION`.
    pub category: String,
    /// The body text with its `{{n}}` variables.
    pub body: String,
}

/// What a template message carries, stored with the message (`details.template`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSend {
    pub name: String,
    pub language: String,
    pub params: Vec<String>,
}

/// Why the values for a template were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamError {
    /// A variable is empty, or there are too few or too many.
    Count,
    /// A variable is too long, or holds a line break or tab (Meta refuses those: 132018).
    Shape,
}

impl Template {
    /// How many variables the body has (the highest `{{n}}`).
    pub fn params(&self) -> usize {
        let mut highest = 0;
        let mut rest = self.body.as_str();
        while let Some(open) = rest.find("{{") {
            rest = &rest[open + 2..];
            if let Some(close) = rest.find("}}") {
                if let Ok(n) = rest[..close].trim().parse::<usize>() {
                    highest = highest.max(n);
                }
                rest = &rest[close + 2..];
            }
        }
        highest
    }

    /// The body with `values` in place of its variables (as the customer reads it).
    pub fn render(&self, values: &[String]) -> String {
        let mut text = self.body.clone();
        for (i, value) in values.iter().enumerate() {
            text = text.replace(&format!("{{{{{}}}}}", i + 1), value);
        }
        text
    }

    /// The message to send with `values` (trimmed), if they fit the template.
    pub fn fill(&self, values: &[String]) -> Result<TemplateSend, ParamError> {
        let params: Vec<String> = values.iter().map(|v| v.trim().to_owned()).collect();
        if params.len() != self.params() || params.iter().any(String::is_empty) {
            return Err(ParamError::Count);
        }
        if params.iter().any(|p| p.chars().count() > MAX_PARAM_CHARS || p.contains(['\n', '\r', '\t'])) {
            return Err(ParamError::Shape);
        }
        Ok(TemplateSend { name: self.name.clone(), language: self.language.clone(), params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(body: &str) -> Template {
        Template {
            name: "order_ready".into(),
            language: "ar".into(),
            category: "UTILITY".into(),
            body: body.into(),
        }
    }

    #[test]
    fn variables_are_counted_filled_and_checked() {
        let t = template("مرحبًا {{1}}، طلبك رقم {{2}} جاهز.");
        assert_eq!(t.params(), 2);
        assert_eq!(t.render(&["سارة".into(), "1042".into()]), "مرحبًا سارة، طلبك رقم 1042 جاهز.");
        let sent = t.fill(&[" سارة ".into(), "1042".into()]).unwrap();
        assert_eq!(sent.params, vec!["سارة".to_owned(), "1042".to_owned()]);
        assert_eq!(t.fill(&["سارة".into()]), Err(ParamError::Count));
        assert_eq!(t.fill(&["سارة".into(), " ".into()]), Err(ParamError::Count));
        assert_eq!(t.fill(&["سارة\nمرحبًا".into(), "1".into()]), Err(ParamError::Shape));
        assert_eq!(template("Hello World").params(), 0);
        assert_eq!(template("Hello World").fill(&[]).unwrap().params, Vec::<String>::new());
    }
}
