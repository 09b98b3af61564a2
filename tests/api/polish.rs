//! Small polish from the Arabic and visual review (#14, point 5): the reply window's time
//! left reads as a duration ("23 h 59 min", "23 ساعة و59 دقيقة"), not a clock time; the
//! team table's column says "Name", not "Your name"; the skip link shows when focused.

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
