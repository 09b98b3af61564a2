//! Conversations, messages, contacts and connections are passed by typed id
//! (`ConversationId`, `MessageId`, `ContactId`, `ConnectionId`, like `TenantId`): no
//! parameter or field of the product's code names one of them as a bare `Uuid`, so one
//! cannot be handed where another is expected.

mod common;

use std::path::PathBuf;

use common::rust_files;

/// `conversation_id: Uuid`, `message: Option<Uuid>`, `contact_ids: &[uuid::Uuid]` …
fn bare(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    ["conversation", "message", "contact", "connection"].iter().any(|entity| {
        code.match_indices(entity).any(|(at, _)| {
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                return false;
            }
            let rest = &code[at + entity.len()..];
            let rest = rest.strip_prefix("_id").unwrap_or(rest);
            let rest = rest.strip_prefix('s').unwrap_or(rest);
            let Some(ty) = rest.strip_prefix(": ") else { return false };
            let ty = ty.trim_start_matches("Option<").trim_start_matches("&[").trim_start_matches("Vec<");
            let ty = ty.strip_prefix("uuid::").unwrap_or(ty);
            ty.starts_with("Uuid") && !ty[4..].starts_with(|c: char| c.is_alphanumeric())
        })
    })
}

#[test]
fn the_reader_spots_a_bare_uuid() {
    assert!(bare("    conversation_id: Uuid,"));
    assert!(bare("pub async fn f(message: Option<Uuid>) {"));
    assert!(bare("    contact_ids: &[uuid::Uuid],"));
    assert!(!bare("    conversation_id: ConversationId,"));
    assert!(!bare("    event_id: Uuid,"));
    assert!(!bare("    first_message_id: Uuid, // another entity's field name"));
    assert!(!bare("    // conversation_id: Uuid"));
}

#[test]
fn no_conversation_message_contact_or_connection_is_a_bare_uuid() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["core/src", "jobs/src", "src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let found: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let name = f.strip_prefix(&root).unwrap().display().to_string();
            text.lines()
                .enumerate()
                .filter(|(_, l)| bare(l))
                .map(|(n, l)| format!("{name}:{}: {}", n + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(found.is_empty(), "bare Uuid ids:\n{}", found.join("\n"));
}
