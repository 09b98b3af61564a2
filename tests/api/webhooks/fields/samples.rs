//! One delivery per row of the table of webhook fields in docs/whatsapp.md, shaped as Meta's webhook
//! reference shows that field (or, for `messages`, that message type), and the count that
//! must find the row it left. The customer `966500001740` wrote `wamid.cover.base` first.

use serde_json::{json, Value};

use crate::pipeline::{change, customer, envelope, metadata};

const FROM: &str = "966500001740";

/// The delivery for `field` / `item`, and a count query that is ≥ 1 once it left its row.
pub fn sample(number: &str, field: &str, item: Option<&str>) -> Option<(Value, String)> {
    let event = |key: &str| {
        format!("select count(*) from inbound_events where dedupe_key = '{key}' and processed_at is not null")
    };
    let recorded = |kind: &str| {
        format!("select count(*) from inbound_events where kind = '{kind}' and payload->>'field' = '{field}' and processed_at is not null")
    };
    if field != "messages" {
        let value = other_field(number, field)?;
        let check = match field {
            "smb_message_echoes" => event("echo:wamid.cover.echo"),
            "account_update" | "user_preferences" => {
                format!(
                    "select count(*) from inbound_events where kind = '{field}' and processed_at is not null"
                )
            }
            _ => recorded("recorded"),
        };
        return Some((change(field, value), check));
    }
    let item = item?;
    let id = format!("wamid.cover.{item}");
    let message = |m: Value| Some((customer(number, FROM, m), event(&format!("message:{id}"))));
    match item {
        "text" => message(json!({ "id": id, "type": "text", "text": { "body": "Hello there" } })),
        "image" | "video" | "audio" | "sticker" | "document" => message(json!({ "id": id, "type": item,
            item: { "id": "MEDIA-1", "mime_type": "application/octet-stream", "sha256": "abc" } })),
        "location" => message(json!({ "id": id, "type": "location",
            "location": { "latitude": 24.7, "longitude": 46.7, "name": "Olaya", "address": "Olaya St" } })),
        "contacts" => message(json!({ "id": id, "type": "contacts",
            "contacts": [{ "name": { "formatted_name": "Ali" }, "phones": [{ "phone": "+966500000002", "type": "CELL" }] }] })),
        "interactive" => message(json!({ "id": id, "type": "interactive",
            "interactive": { "type": "list_reply", "list_reply": { "id": "r1", "title": "Large cake", "description": "serves 10" } } })),
        "button" => message(json!({ "id": id, "type": "button", "button": { "payload": "YES", "text": "Yes" } })),
        "order" => message(json!({ "id": id, "type": "order", "order": { "catalog_id": "CAT", "product_items": [
            { "product_retailer_id": "SKU", "quantity": 1, "item_price": 10, "currency": "SAR" }] } })),
        "reaction" => message(json!({ "id": id, "type": "reaction", "reaction": { "message_id": "wamid.cover.base", "emoji": "❤" } })),
        "request_welcome" => message(json!({ "id": id, "type": "request_welcome" })),
        "edit" => message(json!({ "id": id, "type": "edit", "edit": { "original_message_id": "wamid.cover.base",
            "message": { "type": "text", "text": { "body": "Hello (edited)" } } } })),
        "revoke" => message(json!({ "id": id, "type": "revoke", "revoke": { "original_message_id": "wamid.cover.text" } })),
        "unsupported" => message(json!({ "id": id, "type": "unsupported",
            "errors": [{ "code": 131051, "title": "Message type unknown" }], "unsupported": { "type": "poll" } })),
        // System messages carry no contacts array (Meta's reference).
        "system" => Some((
            envelope(number, json!({ "messages": [{ "from": FROM, "id": id, "timestamp": now(), "type": "system",
                "system": { "body": "User Sara changed from 966500001740 to 966500001741", "wa_id": "966500001741",
                            "type": "user_changed_number" } }] })),
            event(&format!("message:{id}")),
        )),
        "statuses" => Some((
            envelope(number, json!({ "statuses": [{ "id": "wamid.cover.status", "status": "delivered", "timestamp": now(),
                "recipient_id": FROM, "conversation": { "id": "CONV1", "origin": { "type": "service" } },
                "pricing": { "billable": true, "pricing_model": "PMP", "category": "service" } }] })),
            event("status:wamid.cover.status:delivered"),
        )),
        "errors" => Some((
            envelope(number, json!({ "errors": [{ "code": 131000, "title": "Something went wrong",
                "message": "Something went wrong", "error_data": { "details": "unknown error" } }] })),
            "select count(*) from inbound_events where kind = 'webhook_error' and payload->>'code' = '131000'".to_owned(),
        )),
        _ => None,
    }
}

fn now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

/// The `value` of a change of `field` other than `messages`, as Meta's reference shows it.
fn other_field(number: &str, field: &str) -> Option<Value> {
    let md = metadata(number);
    Some(match field {
        "smb_message_echoes" => json!({ "messaging_product": "whatsapp", "metadata": md, "message_echoes": [
            { "from": "966500000001", "to": FROM, "id": "wamid.cover.echo", "timestamp": now(), "type": "text",
              "text": { "body": "Answered from the phone" } }] }),
        "account_update" => json!({ "phone_number": "966500000001", "event": "VERIFIED_ACCOUNT" }),
        "user_preferences" => json!({ "messaging_product": "whatsapp", "metadata": md,
            "contacts": [{ "profile": { "name": "Sara" }, "wa_id": FROM }],
            "user_preferences": [{ "wa_id": FROM, "detail": "User requested to stop marketing messages",
                "category": "marketing_messages", "value": "stop", "timestamp": 1_767_000_000 }] }),
        "message_template_status_update" => json!({ "event": "APPROVED", "message_template_id": 1,
            "message_template_name": "order_ready", "message_template_language": "en_US", "reason": "NONE" }),
        "message_template_quality_update" => {
            json!({ "previous_quality_score": "GREEN", "new_quality_score": "YELLOW",
            "message_template_id": 1, "message_template_name": "order_ready", "message_template_language": "en_US" })
        }
        "message_template_components_update" => {
            json!({ "message_template_id": 1, "message_template_name": "order_ready",
            "message_template_language": "en_US", "message_template_element": "Your order is ready" })
        }
        "template_category_update" => {
            json!({ "message_template_id": 1, "message_template_name": "order_ready",
            "message_template_language": "en_US", "previous_category": "UTILITY", "new_category": "MARKETING" })
        }
        "calls" => json!({ "messaging_product": "whatsapp", "metadata": md,
            "contacts": [{ "profile": { "name": "Sara" }, "wa_id": FROM }],
            "calls": [{ "id": "wacid.cover", "to": "966500000001", "from": FROM, "event": "connect",
                "timestamp": now(), "direction": "USER_INITIATED" }] }),
        "phone_number_quality_update" => json!({ "display_phone_number": "966500000001", "event": "FLAGGED",
            "current_limit": "TIER_1K" }),
        "phone_number_name_update" => json!({ "display_phone_number": "966500000001", "decision": "APPROVED",
            "requested_verified_name": "Alnoor Bakery", "rejection_reason": null }),
        "account_review_update" => json!({ "decision": "APPROVED" }),
        "account_alerts" => json!({ "entity_type": "PHONE_NUMBER", "entity_id": number,
            "alert_info": { "alert_severity": "INFORMATIONAL", "alert_status": "ACTIVE", "alert_type": "OBA_APPROVED",
                "alert_description": "Official Business Account approved" } }),
        "business_capability_update" => {
            json!({ "max_daily_conversation_per_phone": 1000, "max_phone_numbers_per_business": 2 })
        }
        "security" => {
            json!({ "display_phone_number": "966500000001", "event": "PIN_CHANGED", "requester": "1" })
        }
        "flows" => json!({ "event": "FLOW_STATUS_CHANGE", "message": "Flow published", "flow_id": "F1",
            "old_status": "DRAFT", "new_status": "PUBLISHED" }),
        "history" => json!({ "messaging_product": "whatsapp", "metadata": md,
            "history": [{ "metadata": { "phase": 0, "chunk_order": 1, "progress": 100 }, "threads": [] }] }),
        "smb_app_state_sync" => json!({ "messaging_product": "whatsapp", "metadata": md,
            "state_sync": [{ "type": "contact", "contact": { "full_name": "Sara", "phone_number": FROM },
                "action": "add", "metadata": { "timestamp": now() } }] }),
        "partner_solutions" => {
            json!({ "event": "SOLUTION_CREATED", "solution_id": "S1", "solution_status": "ACTIVE" })
        }
        "payment_configuration_update" => json!({ "configuration_name": "main", "provider_name": "razorpay",
            "provider_mid": "M1", "status": "Active", "created_timestamp": 1, "updated_timestamp": 2 }),
        "automatic_events" => {
            json!({ "automatic_events": [{ "id": "wamid.cover.base", "event_name": "Purchase",
            "timestamp": 1, "ctwa_clid": "C1" }] })
        }
        _ => return None,
    })
}
