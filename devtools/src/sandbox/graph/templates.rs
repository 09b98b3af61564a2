//! The fake's message templates: a few approved ones in Arabic and English (one marketing),
//! one still pending and one with an image header, listed by `GET
//! /{waba_id}/message_templates` as Meta lists them, and the checks Meta makes on a
//! template send (the name in that language exists and is approved: 132001; the body's
//! parameters match its variables: 132000).

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use super::{wire::graph_error, GraphFake};

/// The account's templates, in Meta's listing shape.
pub(super) fn all() -> Value {
    let body = |text: &str| json!({ "type": "BODY", "text": text });
    json!([
        { "name": "order_ready", "language": "ar", "status": "APPROVED", "category": "UTILITY", "id": "100001",
          "components": [body("مرحبًا {{1}}، طلبك رقم {{2}} جاهز للاستلام.")] },
        { "name": "follow_up", "language": "en", "status": "APPROVED", "category": "UTILITY", "id": "100002",
          "components": [body("Hi {{1}}, thanks for contacting us. Is there anything else we can help you with?")] },
        { "name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "100003",
          "components": [{ "type": "HEADER", "format": "TEXT", "text": "Hello World" },
                         body("Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta.")] },
        { "name": "summer_offer", "language": "ar", "status": "APPROVED", "category": "MARKETING", "id": "100004",
          "components": [body("عرض الصيف: خصم {{1}} على كل التمور حتى نهاية الشهر.")] },
        { "name": "pending_news", "language": "en", "status": "PENDING", "category": "MARKETING", "id": "100005",
          "components": [body("News: {{1}}")] },
        { "name": "menu_image", "language": "ar", "status": "APPROVED", "category": "MARKETING", "id": "100006",
          "components": [{ "type": "HEADER", "format": "IMAGE" }, body("قائمتنا الجديدة")] },
    ])
}

/// `GET /{version}/{waba_id}/message_templates`.
pub(super) async fn list(
    State(fake): State<GraphFake>,
    Path((_, waba)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    fake.delay().await;
    if let Err(response) = fake.account(&waba, &headers) {
        return *response;
    }
    Json(json!({ "data": all(), "paging": { "cursors": { "before": "MAZDZD", "after": "MjQZD" } } }))
        .into_response()
}

/// Meta's checks on a template send, or its error.
pub(super) fn check(body: &Value) -> Result<(), Box<Response>> {
    let name = body.pointer("/template/name").and_then(Value::as_str).unwrap_or("");
    let language = body.pointer("/template/language/code").and_then(Value::as_str).unwrap_or("");
    let known = all();
    let found = known
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == name && t["language"] == language && t["status"] == "APPROVED");
    let Some(template) = found else {
        let details = format!("template name ({name}) does not exist in {language}");
        let text = "Template name does not exist in the translation";
        return Err(Box::new(graph_error(StatusCode::NOT_FOUND, 132001, None, text, &details)));
    };
    let text = template["components"].to_string();
    let variables = (1..=10).filter(|n| text.contains(&format!("{{{{{n}}}}}"))).count();
    let given = body.pointer("/template/components").and_then(Value::as_array).map_or(0, |components| {
        components
            .iter()
            .filter(|c| c["type"] == "body")
            .map(|c| c["parameters"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    });
    if given != variables {
        let details = format!("body: number of localizable_params ({given}) does not match the expected number of params ({variables})");
        let text = "Number of parameters does not match the expected number of params";
        return Err(Box::new(graph_error(StatusCode::BAD_REQUEST, 132000, None, text, &details)));
    }
    Ok(())
}
