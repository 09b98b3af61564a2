//! Small polish from the Arabic and visual review (#14, point 5): the reply window's time
//! left reads as a duration ("23 h 59 min", "23 ساعة و59 دقيقة"), not a clock time; the
//! team table's column says "Name", not "Your name"; the skip link shows when focused;
//! WhatsApp's errors read as a plain action in the user's language, Meta's own words kept
//! under "details" for support; a user who prefers Hijri dates reads them (Umm al-Qura).

use sqlx::PgPool;

use crate::pipeline::{text, Pipeline};

#[sqlx::test(migrations = false)]
async fn the_window_reads_as_a_duration_the_team_column_is_name_and_the_skip_link_shows_on_focus(
    pool: PgPool,
) {
    // Arrange
    let p = Pipeline::start(pool, "owner@polish.sa", "PN1405").await;
    p.deliver(&text("PN1405", "wamid.P1", "966500001405", "Hello", 5)).await;
    p.sends(1).await;
    let conversation = p.conversation_id().await;

    // Act
    let english = p.owner.get(&format!("/inbox/{conversation}")).await;
    p.owner.post("/lang", &[("lang", "ar"), ("next", "/inbox")]).await;
    let arabic = p.owner.get(&format!("/inbox/{conversation}")).await;
    p.owner.post("/lang", &[("lang", "en"), ("next", "/team")]).await;
    let team = p.owner.get("/team").await;
    let css = p.owner.get("/static/app.css").await;

    // Assert
    assert!(english.body.contains(r#"<span class="window-left">23 h 5"#), "{}", english.body);
    assert!(arabic.body.contains(r#"<span class="window-left">23 ساعة و5"#), "{}", arabic.body);
    assert!(team.body.contains("<th>Name</th>") && !team.body.contains("Your name"));
    assert!(css.body.contains(".sr-only:focus"), "the skip link is shown when focused");
}

#[sqlx::test(migrations = false)]
async fn whatsapps_errors_read_as_a_plain_action_in_the_users_language(pool: PgPool) {
    // Arrange: Meta accepts the bot's reply, then reports it failed: the window had closed.
    let p = Pipeline::start(pool, "owner@graph-errors.sa", "PN1406").await;
    p.graph.fail_next(mujibak_devtools::sandbox::graph::GraphFault::WindowClosed, 1);

    // Act
    p.deliver(&text("PN1406", "wamid.G1", "966500001406", "Hello", 5)).await;
    p.until_count("select count(*) from messages where status = 'failed'", 1).await;
    let conversation = p.conversation_id().await;
    let english = p.owner.get(&format!("/inbox/{conversation}")).await.body;
    p.owner.post("/lang", &[("lang", "ar"), ("next", "/inbox")]).await;
    let arabic = p.owner.get(&format!("/inbox/{conversation}")).await.body;

    // Assert: the action in each language; Meta's English only inside the details.
    assert!(english.contains("only allows an approved template until they write again"), "{english}");
    assert!(arabic.contains("فلا يسمح واتساب إلا بقالب معتمد حتى يكتب العميل من جديد"), "{arabic}");
    let details =
        arabic.find("<details class=\"error-details\">").expect("the raw error is kept for support");
    let raw = arabic.find("131047: Re-engagement message").unwrap();
    assert!(raw > details, "Meta's English is under details, not in the message");
}

#[sqlx::test(migrations = false)]
async fn a_user_who_prefers_hijri_dates_reads_them_in_the_inbox(pool: PgPool) {
    // Arrange
    let p = Pipeline::start(pool, "owner@hijri.sa", "PN1407").await;
    p.deliver(&text("PN1407", "wamid.H1", "966500001407", "Hello", 5)).await;
    p.sends(1).await;
    let conversation = p.conversation_id().await;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Riyadh).date_naive();
    let gregorian = today.format("%Y-%m-%d").to_string();
    assert!(
        p.owner.get(&format!("/inbox/{conversation}")).await.body.contains(&gregorian),
        "Gregorian by default"
    );

    // Act: Hijri chosen on the profile, read in Arabic and in English.
    p.owner.get("/profile").await;
    let fields = [
        ("name", "Owner"),
        ("email", "owner@hijri.sa"),
        ("business_name", "Alnoor Bakery"),
        ("locale", "ar"),
        ("calendar", "hijri"),
    ];
    assert_eq!(p.owner.post("/profile", &fields).await.status, reqwest::StatusCode::SEE_OTHER);
    let arabic = p.owner.get(&format!("/inbox/{conversation}")).await.body;
    p.owner.post("/lang", &[("lang", "en"), ("next", "/inbox")]).await;
    let english = p.owner.get(&format!("/inbox/{conversation}")).await.body;

    // Assert
    let ar = mujibak_core::domain::hijri::format(today, mujibak_core::domain::Locale::Ar);
    let en = mujibak_core::domain::hijri::format(today, mujibak_core::domain::Locale::En);
    assert!(ar.ends_with(" هـ") && en.ends_with(" AH"));
    assert!(arabic.contains(&ar) && !arabic.contains(&format!(">{gregorian} ")), "{arabic}");
    assert!(english.contains(&en));
    assert!(p.owner.get("/profile").await.body.contains(r#"<option value="hijri" selected>"#));
}
