//! Everything else Meta sends is recorded, never silently dropped (issue 16, item 7): a
//! marketing opt-out is kept on the contact; template, call and account notices are
//! recorded; and the table of webhook fields in docs/whatsapp.md is walked, so a field or message
//! type cannot be forgotten.
//!
//! Shapes: Meta's webhook reference for each field (`user_preferences`,
//! `message_template_status_update`, `calls`, …); `samples` says which.

use std::collections::BTreeSet;

use mujibak_core::domain::whatsapp::fields::{FIELDS, MESSAGE_ITEMS};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::pipeline::{change, metadata, text, Pipeline};

mod samples;

#[sqlx::test(migrations = false)]
async fn a_marketing_opt_out_is_recorded_on_the_contact_and_a_resume_clears_it(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@prefs.sa", "PN1720").await;
    let from = "966500001720";
    p.deliver(&text("PN1720", "wamid.P1", from, "Hello", 2)).await;
    p.sends(1).await;

    // Meta: user_preferences[] with category marketing_messages and value stop / resume.
    let preference = |value: &str, ts: i64| {
        change(
            "user_preferences",
            json!({ "messaging_product": "whatsapp", "metadata": metadata("PN1720"),
                "contacts": [{ "profile": { "name": "Sara" }, "wa_id": from }],
                "user_preferences": [{ "wa_id": from, "detail": "User requested to stop marketing messages",
                    "category": "marketing_messages", "value": value, "timestamp": ts }] }),
        )
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(p.deliver(&preference("stop", now - 10)).await, StatusCode::OK);
    p.until_finished(&["handle_inbound"]).await;
    let thread = p.owner.get(&format!("/inbox/{}", p.conversation_id().await)).await;
    assert!(thread.body.contains("Opted out of marketing messages"), "the inbox shows the opt-out");
    assert_eq!(p.count("select count(*) from contacts where marketing_opt_out_at is not null").await, 1);

    assert_eq!(p.deliver(&preference("resume", now)).await, StatusCode::OK);
    p.until_count("select count(*) from contacts where marketing_opt_out_at is null", 1).await;
    assert_eq!(p.count("select count(*) from inbound_events where kind = 'user_preferences'").await, 2);
}

#[sqlx::test(migrations = false)]
async fn template_updates_and_calls_are_recorded_not_ignored(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@recorded.sa", "PN1730").await;
    let template = change(
        "message_template_status_update",
        json!({ "event": "APPROVED", "message_template_id": 594425479261596_i64,
            "message_template_name": "order_ready", "message_template_language": "en_US", "reason": "NONE" }),
    );
    let call = change(
        "calls",
        json!({ "messaging_product": "whatsapp", "metadata": metadata("PN1730"),
            "contacts": [{ "profile": { "name": "Sara" }, "wa_id": "966500001730" }],
            "calls": [{ "id": "wacid.C1", "to": "966500000001", "from": "966500001730", "event": "connect",
                "timestamp": chrono::Utc::now().timestamp().to_string(), "direction": "USER_INITIATED" }] }),
    );
    assert_eq!(p.deliver(&template).await, StatusCode::OK);
    assert_eq!(p.deliver(&call).await, StatusCode::OK);
    assert_eq!(
        p.count("select count(*) from inbound_events where kind = 'recorded' and payload->>'field' in ('message_template_status_update', 'calls')")
            .await,
        2,
        "known fields are recorded as such, not as ignored"
    );
    assert_eq!(p.count("select count(*) from inbound_events where kind = 'ignored'").await, 0);
}

/// The rows of the table of webhook fields in docs/whatsapp.md: (field, message type or part).
fn readme_rows() -> Vec<(String, Option<String>)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/whatsapp.md")).unwrap();
    let start = readme.find("| field | item |").expect("docs/whatsapp.md has the table of webhook fields");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells[1].to_owned(), Some(cells[2].to_owned()).filter(|i| i != "—"))
        })
        .collect()
}

#[sqlx::test(migrations = false)]
async fn every_field_in_the_documented_table_leaves_a_row_and_agrees_with_the_parser(pool: PgPool) {
    let rows = readme_rows();
    assert!(rows.len() > 20, "the table lists every field and message type ({})", rows.len());
    let listed: BTreeSet<String> =
        rows.iter().map(|(f, i)| i.as_ref().map_or(f.clone(), |i| format!("{f}.{i}"))).collect();
    let parser: BTreeSet<String> = FIELDS
        .iter()
        .filter(|(f, _)| *f != "messages")
        .map(|(f, _)| f.to_string())
        .chain(MESSAGE_ITEMS.iter().map(|i| format!("messages.{i}")))
        .collect();
    assert_eq!(listed, parser, "docs/whatsapp.md's table and the parser's lists must agree");

    let p = Pipeline::start(pool, "owner@coverage.sa", "PN1740").await;
    p.configure_bot(&[("enabled", "off")]).await;
    // A customer known beforehand, so edits, deletions and identity changes have a target.
    p.deliver(&text("PN1740", "wamid.cover.base", "966500001740", "Hello", 5)).await;
    p.until_finished(&["handle_inbound"]).await;
    let mut checks = Vec::new();
    for (field, item) in &rows {
        let (body, check) = samples::sample("PN1740", field, item.as_deref())
            .unwrap_or_else(|| panic!("no Meta-shaped sample for {field} {item:?}: add one to samples.rs"));
        assert_eq!(p.deliver(&body).await, StatusCode::OK, "{field} {item:?}");
        checks.push((field, item, check));
    }
    p.until_finished(&["handle_inbound"]).await;
    for (field, item, check) in checks {
        assert!(
            p.count(&check).await >= 1,
            "{field} {item:?} left no row ({check}); {}",
            p.diagnostics().await
        );
    }
    assert_eq!(
        p.count("select count(*) from inbound_events where kind in ('ignored', 'unprocessable', 'misfiled')")
            .await,
        0
    );
    assert_eq!(
        p.count("select count(*) from inbound_events where processed_at is null or attempts > 0").await,
        0,
        "every event processed at the first attempt"
    );
}
