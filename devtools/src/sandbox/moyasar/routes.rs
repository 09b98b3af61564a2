//! The fake Moyasar's handlers: the invoices and payments API (with the injected faults
//! and Moyasar's error bodies) and the hosted invoice page with its two buttons.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Json,
};
use serde_json::{json, Value};

use super::{MoyasarFake, MoyasarFault};

type Fake = State<MoyasarFake>;

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, Json(json!({ "type": kind, "message": message, "errors": null }))).into_response()
}

/// Auth, then any injected fault; `Err` is the answer to give instead.
fn gate(
    fake: &MoyasarFake,
    headers: &HeaderMap,
    creating: bool,
) -> Result<Option<MoyasarFault>, Box<Response>> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !fake.authorized(auth) {
        let refused =
            error(StatusCode::UNAUTHORIZED, "authentication_error", "Invalid authorization credentials");
        return Err(Box::new(refused));
    }
    let fault = fake.lock().faults.pop_front();
    match fault {
        Some(MoyasarFault::ServerError) => {
            Err(Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "Internal server error")))
        }
        Some(MoyasarFault::CreateThenFail) if creating => Ok(Some(MoyasarFault::CreateThenFail)),
        Some(other) => {
            fake.lock().faults.push_front(other);
            Ok(None)
        }
        None => Ok(None),
    }
}

fn sar(amount: i64) -> String {
    format!("{}.{:02} SAR", amount / 100, amount % 100)
}

pub(super) async fn create(State(fake): Fake, headers: HeaderMap, body: Bytes) -> Response {
    let fault = match gate(&fake, &headers, true) {
        Ok(fault) => fault,
        Err(response) => return *response,
    };
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "The request body is not valid JSON");
    };
    let amount = req["amount"].as_i64().unwrap_or(0);
    if amount < 100 || req["description"].as_str().is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Validation Failed: amount must be at least 100 and description is required",
        );
    }
    // A Saudi merchant's account takes SAR; the currency is required.
    if req["currency"] != "SAR" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Validation Failed: currency is invalid",
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let invoice = json!({ "id": id, "status": "initiated", "amount": amount,
        "currency": "SAR", "description": req["description"],
        "amount_format": sar(amount), "url": format!("{}/invoices/{id}?lang=ar", fake.base_url()),
        "callback_url": req["callback_url"], "success_url": req["success_url"], "back_url": req["back_url"],
        "expired_at": req["expired_at"], "payment_id": null, "paid_at": null,
        "metadata": req.get("metadata").cloned().unwrap_or(Value::Null),
        "created_at": now, "updated_at": now });
    {
        let mut inner = fake.lock();
        inner.invoices.insert(id.clone(), invoice.clone());
        inner.order.push(id);
    }
    if fault == Some(MoyasarFault::CreateThenFail) {
        tracing::info!("sandbox moyasar: invoice created, answer lost on purpose");
        return error(StatusCode::BAD_GATEWAY, "api_error", "Bad gateway");
    }
    (StatusCode::CREATED, Json(invoice)).into_response()
}

pub(super) async fn list(
    State(fake): Fake,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(response) = gate(&fake, &headers, false) {
        return *response;
    }
    let filters: Vec<(String, &String)> = q
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_owned(), v)))
        .collect();
    let status = q.get("status");
    let invoices: Vec<Value> = fake
        .invoices()
        .into_iter()
        .filter(|i| filters.iter().all(|(k, v)| i["metadata"][k].as_str() == Some(v.as_str())))
        .filter(|i| status.is_none_or(|s| i["status"].as_str() == Some(s.as_str())))
        .collect();
    let n = invoices.len();
    Json(json!({ "invoices": invoices, "meta": { "current_page": 1, "next_page": null, "prev_page": null,
        "total_pages": 1, "total_count": n } }))
    .into_response()
}

pub(super) async fn show_invoice(State(fake): Fake, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(response) = gate(&fake, &headers, false) {
        return *response;
    }
    match fake.lock().invoices.get(&id) {
        Some(invoice) => Json(invoice.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "invalid_request_error", "Object not found"),
    }
}

pub(super) async fn show_payment(State(fake): Fake, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(response) = gate(&fake, &headers, false) {
        return *response;
    }
    match fake.lock().payments.get(&id) {
        Some(payment) => Json(payment.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "invalid_request_error", "Object not found"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The hosted invoice: what is owed, and two buttons instead of a card form.
pub(super) async fn hosted_page(State(fake): Fake, Path(id): Path<String>) -> Response {
    let Some(invoice) = fake.lock().invoices.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>Not found</title><p>No such invoice.</p>"),
        )
            .into_response();
    };
    let status = invoice["status"].as_str().unwrap_or("");
    let buttons = if status == "initiated" {
        format!(
            "<form method=\"post\" action=\"/invoices/{id}/pay\"><button id=\"pay\">Pay with test card (mada 4201 3201 1111 1010)</button></form>\
             <form method=\"post\" action=\"/invoices/{id}/fail\"><button id=\"fail\">Fail (declined card)</button></form>"
        )
    } else {
        String::new()
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Moyasar (sandbox) invoice</title></head>\
         <body><h1>Moyasar sandbox checkout</h1><p id=\"description\">{d}</p>\
         <p>Amount: <strong id=\"amount\">{a}</strong></p><p>Status: <strong id=\"status\">{s}</strong></p>{buttons}</body></html>",
        d = esc(invoice["description"].as_str().unwrap_or("")),
        a = esc(invoice["amount_format"].as_str().unwrap_or("")),
        s = esc(status),
    ))
    .into_response()
}

pub(super) async fn pay_button(State(fake): Fake, Path(id): Path<String>) -> Response {
    if fake.pay(&id).is_none() {
        return (StatusCode::CONFLICT, Html("<!doctype html><p>This invoice cannot be paid.</p>"))
            .into_response();
    }
    let success = fake.lock().invoices.get(&id).and_then(|i| i["success_url"].as_str().map(str::to_owned));
    match success {
        Some(url) if !url.is_empty() => Redirect::to(&url).into_response(),
        _ => Redirect::to(&format!("/invoices/{id}")).into_response(),
    }
}

pub(super) async fn fail_button(State(fake): Fake, Path(id): Path<String>) -> Response {
    if fake.decline(&id).is_none() {
        return (StatusCode::CONFLICT, Html("<!doctype html><p>This invoice cannot be paid.</p>"))
            .into_response();
    }
    Html(format!(
        "<!doctype html><p id=\"declined\">The card was declined (INSUFFICIENT FUNDS).</p>\
         <p><a href=\"/invoices/{id}\">Try again</a></p>"
    ))
    .into_response()
}
