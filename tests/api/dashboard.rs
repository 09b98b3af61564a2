//! The dashboard an owner understands: a setup checklist (confirm the address, connect a
//! number, write the bot, send a test message, invite the team) shown until every step
//! is done, and the last 30 days in plain words (typical reply in seconds, the share the
//! bot answered, who is waiting for a person) instead of percentiles and milliseconds.

use sqlx::PgPool;

use crate::pipeline::{text, Pipeline};

fn step(page: &str, key: &str) -> &'static str {
    if page.contains(&format!(r#"<li class="done" data-step="{key}">"#)) {
        "done"
    } else if page.contains(&format!(r#"<li class="todo" data-step="{key}">"#)) {
        "todo"
    } else {
        "absent"
    }
}

#[sqlx::test(migrations = false)]
async fn the_checklist_shows_until_setup_is_done_and_the_figures_read_plainly(pool: PgPool) {
    // Arrange: signed up, confirmed, connected and the bot written (as the pipeline does).
    let p = Pipeline::start(pool, "owner@dashboard.sa", "PN1701").await;

    // Assert: the steps left are the test message and the team; no figures yet.
    let first = p.owner.get("/dashboard").await.body;
    let steps: Vec<_> =
        ["verify", "connect", "bot", "test", "team"].iter().map(|k| step(&first, k)).collect();
    assert_eq!(steps, ["done", "done", "done", "todo", "todo"], "{first}");
    assert!(first.contains("No replies yet") && first.contains("Waiting for a person: 0"));

    // Act: one customer is answered by the bot; two ask for a person, one gets a reply.
    p.deliver(&text("PN1701", "wamid.D1", "966500001701", "When do you open?", 1)).await;
    p.deliver(&text("PN1701", "wamid.D2", "966500001702", "أبغى أكلم موظف", 1)).await;
    p.deliver(&text("PN1701", "wamid.D3", "966500001703", "I want a real person", 1)).await;
    p.sends(3).await;
    let answered: String = sqlx::query_scalar(
        "select c.conversation_id::text from conversations c join contacts k using (contact_id) where k.wa_id = '966500001702'",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    p.owner.get(&format!("/inbox/{answered}")).await;
    p.owner.post(&format!("/inbox/{answered}/reply"), &[("text", "Hello, this is Alnoor.")]).await;
    p.sends(4).await;
    p.owner.get("/team").await;
    p.owner.post("/team/invite", &[("email", "agent@dashboard.sa")]).await;

    // Assert: every step done, so no checklist; the figures in words.
    let page = p.owner.get("/dashboard").await.body;
    assert!(!page.contains(r#"id="setup""#), "the checklist goes once setup is done");
    assert!(page.contains("Answered by the bot: 50 %"), "one bot reply, one by a person: {page}");
    assert!(page.contains("Waiting for a person: 1"));
    let typical = page.split("Typical reply: ").nth(1).expect("a typical reply time");
    let secs: f64 = typical.split(" s").next().unwrap().parse().expect("seconds, one decimal");
    assert!((0.0..60.0).contains(&secs), "{secs}");
    assert!(!page.contains("p95") && !page.contains("p50") && !page.contains(" ms"), "no percentiles or ms");
    // Each legend key sits with its own label (in Arabic too: no loose keys to swap).
    for (key, label) in [("key-in", "received"), ("key-out", "sent"), ("key-typical", "typical reply")] {
        let item = format!(r#"<span class="legend-item"><span class="key {key}"></span> {label}</span>"#);
        assert!(page.contains(&item), "{item}");
    }
}
