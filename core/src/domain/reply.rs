//! Reply policy (pure): is the 24-hour window open, is the business open, what the model
//! is told, which turns it sees (and whether the latest one leaves anything to answer),
//! and how a stored message reads as text (a voice note by its transcript, an image by
//! its description).

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{
    bot::BotSettings,
    knowledge::{Passage, MAX_PASSAGE_CHARS},
    message::{Direction, Message},
};

/// One earlier turn of the conversation.
#[derive(Debug, Clone)]
pub struct Turn {
    pub from_customer: bool,
    pub text: String,
}

/// Turns of history the model sees, and their total size.
pub const MAX_TURNS: usize = 20;
pub const MAX_HISTORY_CHARS: usize = 6_000;

/// Free-form replies are allowed only within 24 hours of the customer's last message.
pub fn window_open(last_inbound_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_inbound_at.is_some_and(|at| now - at < Duration::hours(24))
}

/// Whether `now` falls in the business hours (Asia/Riyadh). No hours set: always open.
pub fn open_now(settings: &BotSettings, now: DateTime<Utc>) -> bool {
    super::hours::open_at(&settings.business_hours.0, now)
}

/// Told to the model when the business keeps its customers' files from it (media
/// understanding off): it sees that a file came, never what it holds.
pub const MEDIA_UNSEEN: &str = "You cannot open voice notes or photos: when the customer's message is \
    \"[audio sent]\" or \"[image sent]\", kindly ask them to write what they need in a message.\n";

/// The system prompt: who the bot speaks for, the business's own words, the rules, and
/// the passages of its knowledge base that match the customer's question (`passages`,
/// best first; the whole knowledge is never sent).
pub fn system_prompt(business_name: &str, s: &BotSettings, passages: &[Passage]) -> String {
    let language = match s.reply_language.as_str() {
        "ar" => "Reply in Arabic.",
        "en" => "Reply in English.",
        _ => "Reply in the language the customer writes in (Arabic or English).",
    };
    let mut p = format!(
        "You are the WhatsApp assistant of \"{business_name}\". Answer the customer's latest messages in one short \
         message (under 700 characters), politely, using only what the business tells you below. If you do not know \
         the answer, say a member of the team will follow up. Never invent prices, hours or policies: state only \
         those written in the knowledge below. {language}\n{}\n",
        super::handoff::PROMPT
    );
    if !s.media_understanding {
        p.push_str(MEDIA_UNSEEN);
    }
    for (title, text) in
        [("About the business", &s.description), ("Instructions from the business", &s.instructions)]
    {
        if !text.trim().is_empty() {
            p.push_str(&format!("\n{title}:\n{}\n", text.trim()));
        }
    }
    let mut size = 0;
    let kept: Vec<&str> = passages
        .iter()
        .map(|x| x.body.trim())
        .take_while(|b| {
            size += b.chars().count();
            size <= MAX_PASSAGE_CHARS
        })
        .collect();
    if kept.is_empty() {
        p.push_str("\nKnowledge: nothing in the business's knowledge base matches this question.\n");
    } else {
        p.push_str("\nKnowledge (the passages of the business's knowledge base that match the question):\n");
        for body in kept {
            p.push_str(&format!("\n{body}\n"));
        }
    }
    p
}

/// The conversation as the model sees it: the last turns, bounded in count and size.
/// Deleted messages, notices (identity changes, a customer opening the chat) and failed or
/// skipped sends are not part of it.
pub fn turns(history: &[Message]) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::new();
    let mut size = 0;
    for m in history.iter().rev().filter(|m| in_conversation(m)).take(MAX_TURNS) {
        let text = as_text(m);
        size += text.chars().count();
        if size > MAX_HISTORY_CHARS && !out.is_empty() {
            break;
        }
        out.push(Turn { from_customer: m.direction == Direction::In, text });
    }
    out.reverse();
    out
}

fn in_conversation(m: &Message) -> bool {
    m.deleted_at.is_none()
        && !m.status.ended_unsent()
        && !matches!(m.kind.as_str(), "system" | "request_welcome")
}

/// The customer's messages since the last reply. Arrival is our clock (`received_at`),
/// never Meta's timestamp: Meta delivers late when it retries, and a late message is
/// still a new turn.
pub(crate) fn latest_turn_messages(history: &[Message]) -> impl Iterator<Item = &Message> {
    let last_reply = history
        .iter()
        .filter(|m| m.direction == Direction::Out && !m.status.ended_unsent())
        .map(|m| m.received_at)
        .max();
    history.iter().filter(move |m| {
        m.direction == Direction::In && last_reply.is_none_or(|at| m.received_at > at) && in_conversation(m)
    })
}

/// The customer's latest turn as one text.
pub fn latest_turn(history: &[Message]) -> String {
    latest_turn_messages(history).map(as_text).collect::<Vec<_>>().join("\n")
}

/// A voice note or an image as the model reads it: its transcript or description when
/// there is one, else what became of the file; then the customer's caption.
fn media_text(m: &Message, caption: &str) -> String {
    let head = match (m.kind.as_str(), m.media_text.as_deref(), m.media_failure.as_deref()) {
        ("audio", Some(text), _) => format!("[voice note, transcribed: {text}]"),
        ("image", Some(text), _) => format!("[image, showing: {text}]"),
        (kind, None, Some(_)) => format!("[{kind} sent; it could not be opened]"),
        (kind, ..) => format!("[{kind} sent]"),
    };
    if caption.is_empty() {
        head
    } else {
        format!("{head} {caption}")
    }
}

/// Whether the customer's latest turn leaves anything to answer: not when every one of
/// its messages was deleted or carries nothing.
pub fn turn_has_substance(history: &[Message]) -> bool {
    latest_turn_messages(history).any(|m| !as_text(m).trim().is_empty())
}

/// A stored message as one line of text: what the customer said or sent, with the
/// substance the model can use (captions, a document's name, a location's name and
/// address, shared contacts' names, an order's items, a flow's answers).
pub fn as_text(m: &Message) -> String {
    let body = m.body.clone().unwrap_or_default();
    let details = m.details.as_ref().map(|d| &d.0).unwrap_or(&Value::Null);
    let at = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let with_body = |head: String| if body.is_empty() { head } else { format!("{head} {body}") };
    match m.kind.as_str() {
        "text" | "button" => body,
        "interactive" => {
            let fields: Vec<String> = details
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| format!("{}: {}", at(f, "name"), at(f, "value")))
                .collect();
            if fields.is_empty() {
                body
            } else {
                with_body(format!("[form answers: {}]", fields.join("; ")))
            }
        }
        "location" => {
            let place: Vec<String> =
                [at(details, "name"), at(details, "address")].into_iter().filter(|s| !s.is_empty()).collect();
            let place = if place.is_empty() {
                let coordinate = |k: &str| details.get(k).map(Value::to_string).unwrap_or_default();
                format!("{}, {}", coordinate("latitude"), coordinate("longitude"))
            } else {
                place.join(", ")
            };
            format!("[location shared: {place}]")
        }
        "contacts" => {
            let names: Vec<String> = details
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c.pointer("/name/formatted_name").and_then(Value::as_str).unwrap_or("").to_owned())
                .filter(|n| !n.is_empty())
                .collect();
            format!("[contact card shared: {}]", names.join(", "))
        }
        "order" => {
            let items: Vec<String> = details
                .get("product_items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|i| {
                    let number =
                        |k: &str| i.get(k).map(|v| v.as_str().map(str::to_owned).unwrap_or(v.to_string()));
                    let price = number("item_price")
                        .map(|p| format!(" at {p} {}", at(i, "currency")))
                        .unwrap_or_default();
                    format!(
                        "{} × {}{}",
                        number("quantity").unwrap_or_else(|| "1".into()),
                        at(i, "product_retailer_id"),
                        price.trim_end()
                    )
                })
                .collect();
            let text = at(details, "text");
            let order = format!("[order: {}]", items.join(", "));
            if text.is_empty() {
                order
            } else {
                format!("{order} {text}")
            }
        }
        "document" => {
            let name = at(details, "filename");
            with_body(if name.is_empty() {
                "[document sent]".into()
            } else {
                format!("[document sent: {name}]")
            })
        }
        "audio" | "image" => media_text(m, &body),
        "video" | "sticker" => with_body(format!("[{} sent]", m.kind)),
        "reaction" => format!("[reaction: {body}]"),
        other => format!("[{other}]"),
    }
}

#[cfg(test)]
mod tests;
