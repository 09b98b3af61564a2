//! Unit tests of the reply's prompt and history (`super`).

use chrono::TimeZone;
use sqlx::types::Json;

use super::*;

#[test]
fn the_window_closes_24_hours_after_the_last_customer_message() {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    assert!(window_open(Some(now - Duration::hours(23)), now));
    assert!(!window_open(Some(now - Duration::hours(24)), now));
    assert!(!window_open(None, now));
}

#[test]
fn business_hours_are_read_in_riyadh_time() {
    let s = BotSettings {
        business_hours: Json(
            [("wed".to_owned(), vec![("09:00".to_owned(), "17:00".to_owned())])].into_iter().collect(),
        ),
        ..Default::default()
    };
    // Wednesday 2026-11-25 06:30 UTC is 09:30 in Riyadh.
    assert!(open_now(&s, Utc.with_ymd_and_hms(2026, 11, 25, 6, 30, 0).unwrap()));
    assert!(!open_now(&s, Utc.with_ymd_and_hms(2026, 11, 25, 5, 30, 0).unwrap()));
    assert!(!open_now(&s, Utc.with_ymd_and_hms(2026, 11, 26, 6, 30, 0).unwrap()), "Thursday: closed");
}

#[test]
fn the_prompt_carries_the_business_words_and_language_rule() {
    let s = BotSettings {
        instructions: "Be brief.".into(),
        knowledge: "Q: hours?\nA: 9 to 5\n\nQ: parking?\nA: behind the shop".into(),
        reply_language: "ar".into(),
        ..Default::default()
    };
    let found = [Passage { body: "Q: hours?\nA: 9 to 5".into(), title: None, rank: 0.1 }];
    let p = system_prompt("Alnoor", &s, &found);
    assert!(
        p.contains("\"Alnoor\"")
            && p.contains("Be brief.")
            && p.contains("Q: hours?")
            && p.contains("Reply in Arabic.")
    );
    assert!(!p.contains("parking"), "only the passages found, never the whole knowledge");
    assert!(system_prompt("Alnoor", &s, &[]).contains("nothing in the business's knowledge base matches"));
}

#[test]
fn without_media_understanding_the_model_is_told_to_ask_for_text() {
    let off = BotSettings::default();
    assert!(system_prompt("Alnoor", &off, &[]).contains(MEDIA_UNSEEN));
    let on = BotSettings { media_understanding: true, ..Default::default() };
    assert!(!system_prompt("Alnoor", &on, &[]).contains(MEDIA_UNSEEN));
}
