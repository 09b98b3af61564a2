//! Business hours that keep their promise: hours typed with Arabic-Indic digits are read,
//! hours the form cannot read are refused with a reason and nothing is saved (they used to
//! be dropped while the page said "Saved"); outside the hours a customer gets the away
//! message once per closed period, not once per message (three messages used to get three
//! identical notices), and the business chooses whether the AI keeps answering meanwhile.
//! Hours past midnight (`16:00-02:00`, cafés open late) are one range of the day they start
//! (they used to be refused).

use chrono::{Datelike, Timelike, Utc};
use chrono_tz::Asia::Riyadh;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::pipeline::{text, Pipeline};

const AWAY: &str = "We are closed now and open at 9:00.";

/// A weekday other than today's (Riyadh), so the business is closed all day today.
fn another_day() -> &'static str {
    let today = Utc::now().with_timezone(&Riyadh).weekday().num_days_from_monday() as usize;
    ["tue", "wed", "thu", "fri", "sat", "sun", "mon"][today]
}

async fn hours(p: &Pipeline) -> Value {
    sqlx::query_scalar("select business_hours from bot_settings").fetch_one(&p.pool).await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn hours_in_arabic_digits_are_read_and_unreadable_hours_are_refused_saving_nothing(pool: PgPool) {
    // Arrange
    let p = Pipeline::start(pool, "owner@hours.sa", "PN1401").await;

    // Act: Arabic-Indic digits and the Arabic comma.
    p.configure_bot(&[("hours_sun", "٠٩:٠٠-١٣:٠٠، ١٦:٠٠-٢٣:٠٠")]).await;

    // Assert: stored as the clock times they are.
    assert_eq!(hours(&p).await, serde_json::json!({ "sun": [["09:00", "13:00"], ["16:00", "23:00"]] }));

    // Act: hours the form cannot read (after the page the browser was sent back to).
    p.owner.get("/settings/bot").await;
    let refused = p
        .owner
        .post(
            "/settings/bot",
            &[
                ("enabled", "on"),
                ("reply_language", "match"),
                ("hours_sun", "09:00-17:00"),
                ("hours_mon", "4pm-11pm"),
            ],
        )
        .await;

    // Assert: refused with the reason beside the field, what was typed shown again, nothing saved.
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Write hours like 09:00-17:00"), "{}", refused.body);
    assert!(refused.body.contains("Nothing was saved") && refused.body.contains(r#"value="4pm-11pm""#));
    assert!(!refused.body.contains("The bot settings are saved."), "the page never says saved");
    assert_eq!(hours(&p).await, serde_json::json!({ "sun": [["09:00", "13:00"], ["16:00", "23:00"]] }));
}

#[sqlx::test(migrations = false)]
async fn outside_the_hours_the_away_message_goes_once_and_the_ai_answers_if_the_business_chose_it(
    pool: PgPool,
) {
    // Arrange: closed all day today; the away message alone.
    let p = Pipeline::start(pool, "owner@away.sa", "PN1402").await;
    let open_day = format!("hours_{}", another_day());
    p.configure_bot(&[
        (open_day.as_str(), "09:00-17:00"),
        ("away_message", AWAY),
        ("away_mode", "notice_only"),
    ])
    .await;

    // Act: three messages from one customer, each after the last was handled.
    for (i, said) in ["Hello?", "Are you there?", "Anyone?"].iter().enumerate() {
        p.deliver(&text("PN1402", &format!("wamid.A{i}"), "966500001402", said, 1)).await;
        p.until_count("select count(*) from messages where direction = 'in'", i as i64 + 1).await;
        p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    }

    // Assert: one away message, no model call.
    let sends = p.sends(1).await;
    assert_eq!(p.graph.sends().len(), 1, "one notice for the closed period");
    assert_eq!(sends[0].body["text"]["body"], AWAY);
    assert!(p.model.requests().is_empty(), "the AI waits for the team");

    // Act: the AI keeps answering; a second customer writes twice.
    p.configure_bot(&[
        (open_day.as_str(), "09:00-17:00"),
        ("away_message", AWAY),
        ("away_mode", "notice_and_ai"),
    ])
    .await;
    p.deliver(&text("PN1402", "wamid.B1", "966500001403", "When do you open?", 1)).await;
    let first = p.sends(2).await[1].body["text"]["body"].as_str().unwrap().to_owned();
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    p.deliver(&text("PN1402", "wamid.B2", "966500001403", "When do you open?", 1)).await;
    let second = p.sends(3).await[2].body["text"]["body"].as_str().unwrap().to_owned();

    // Assert: both answered by the AI, in one message each; the notice only in the first.
    assert_eq!(p.model.requests().len(), 2);
    assert!(first.contains("We open daily from 7am to 11pm.") && first.ends_with(AWAY), "{first}");
    assert!(second.contains("We open daily from 7am to 11pm.") && !second.contains(AWAY), "{second}");
}

#[sqlx::test(migrations = false)]
async fn hours_past_midnight_are_saved_and_the_bot_answers_until_they_end(pool: PgPool) {
    // Arrange: a range that crosses midnight and is open now: yesterday's, running on past
    // midnight to an hour and a half from now (or, late in the evening, today's 22:00-02:00).
    let p = Pipeline::start(pool, "owner@late.sa", "PN1404").await;
    let now = Utc::now().with_timezone(&Riyadh);
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let today = now.weekday().num_days_from_monday() as usize;
    let (day, range) = if now.hour() >= 22 {
        (days[today], "22:00-02:00".to_owned())
    } else {
        let end = now.hour() * 60 + now.minute() + 90;
        let start = end + 1;
        (
            days[(today + 6) % 7],
            format!("{:02}:{:02}-{:02}:{:02}", start / 60, start % 60, end / 60, end % 60),
        )
    };
    let field = format!("hours_{day}");

    // Act
    p.configure_bot(&[
        (field.as_str(), range.as_str()),
        ("away_message", AWAY),
        ("away_mode", "notice_only"),
    ])
    .await;
    p.deliver(&text("PN1404", "wamid.L1", "966500001404", "Are you open?", 1)).await;

    // Assert: saved as typed; open now, so the AI answers and no away message goes.
    let (from, to) = range.split_once('-').unwrap();
    assert_eq!(hours(&p).await, serde_json::json!({ day: [[from, to]] }));
    let sends = p.sends(1).await;
    assert!(!sends[0].body["text"]["body"].as_str().unwrap().contains(AWAY), "closed at {now}: {range}");
    assert_eq!(p.model.requests().len(), 1, "the AI answered");
}
