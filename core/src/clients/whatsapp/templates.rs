//! Message templates on the Graph API: listing a business account's approved templates
//! (`GET /{waba_id}/message_templates`) and sending one (`POST /{phone_number_id}/messages`
//! with `type: template`), which Meta accepts after the 24-hour window has closed.

use secrecy::SecretString;
use serde_json::{json, Value};

use super::{Creds, GraphClient, GraphError, Recipient};
use crate::domain::template::{Template, TemplateSend};

impl GraphClient {
    /// The account's approved templates (the first 100), as Meta lists them.
    pub async fn templates(&self, waba_id: &str, token: &SecretString) -> Result<Vec<Template>, GraphError> {
        let object = Creds { phone_number_id: waba_id, access_token: token };
        let path = "message_templates?fields=name,language,status,category,components&limit=100";
        let v = self.call(reqwest::Method::GET, &object, path, None).await?;
        let Some(data) = v.get("data").and_then(Value::as_array) else {
            return Err(GraphError::Ambiguous("unexpected answer: no data".into()));
        };
        Ok(data.iter().filter(|t| t["status"] == "APPROVED").filter_map(template).collect())
    }

    /// Sends `template` with its variables as the body's parameters; returns Meta's message id.
    pub async fn send_template(
        &self,
        creds: &Creds<'_>,
        to: Recipient<'_>,
        template: &TemplateSend,
        callback: &str,
    ) -> Result<String, GraphError> {
        let parameters: Vec<Value> =
            template.params.iter().map(|p| json!({ "type": "text", "text": p })).collect();
        let mut components = Vec::new();
        if !parameters.is_empty() {
            components.push(json!({ "type": "body", "parameters": parameters }));
        }
        let body = json!({ "type": "template",
            "template": { "name": template.name, "language": { "code": template.language }, "components": components } });
        self.send(creds, to, body, callback).await
    }
}

/// A listed template the inbox can send: a body, and nothing else that needs a value (a
/// media header, or a variable in the header or a button, would need parameters the inbox
/// does not ask for, and Meta would refuse the send).
fn template(t: &Value) -> Option<Template> {
    let components = t["components"].as_array()?;
    let needs_more = components.iter().filter(|c| c["type"] != "BODY").any(|c| {
        let media = c["type"] == "HEADER" && c["format"].as_str().is_some_and(|f| f != "TEXT");
        media || c.to_string().contains("{{")
    });
    if needs_more {
        return None;
    }
    let body = components.iter().find(|c| c["type"] == "BODY")?["text"].as_str()?;
    Some(Template {
        name: t["name"].as_str()?.to_owned(),
        language: t["language"].as_str()?.to_owned(),
        category: t["category"].as_str().unwrap_or("").to_owned(),
        body: body.to_owned(),
    })
}
