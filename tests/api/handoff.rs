//! Hand-off to a person: a customer writing "أبغى أكلم موظف" (or any way the built-in
//! list, the business's own phrases or the model recognise) is told a person will answer,
//! in the business's words; the bot pauses for that conversation, the inbox flags it
//! ("needs a person" filter and count), and no model token is spent on a request the list
//! recognises. Resuming the bot brings it back.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::pipeline::{text, Pipeline};

const TOLD: &str = "حوّلناك إلى موظف، وسيرد عليك خلال دقائق.";

async fn flags(p: &Pipeline, customer: &str) -> (bool, bool, Option<String>) {
    sqlx::query_as(
        "select c.bot_paused, c.needs_human, c.notice from conversations c join contacts k using (contact_id)
          where k.wa_id = $1",
    )
    .bind(customer)
    .fetch_one(&p.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn asking_for_a_person_pauses_the_bot_tells_the_customer_and_flags_the_inbox(pool: PgPool) {
    // Arrange
    let p = Pipeline::start(pool, "owner@handoff.sa", "PN1410").await;
    p.configure_bot(&[("handoff_message", TOLD)]).await;

    // Act: a Gulf-dialect request for a person.
    p.deliver(&text("PN1410", "wamid.H1", "966500001410", "أبغى أكلم موظف", 1)).await;

    // Assert: told in the business's words, no model call, the conversation flagged.
    let sends = p.sends(1).await;
    assert_eq!(sends[0].body["text"]["body"], TOLD);
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert!(p.model.requests().is_empty(), "no token spent on a request the list knows");
    assert_eq!(flags(&p, "966500001410").await, (true, true, Some("handoff".into())));
    let listed = p.owner.get("/inbox?filter=person").await;
    assert!(listed.body.contains("+966500001410") && listed.body.contains(r#"id="needing-person">1<"#));
    let conversation = p.conversation_id().await;
    let thread = p.owner.get(&format!("/inbox/{conversation}")).await;
    assert!(thread.body.contains("The customer asked for a person"), "the thread says why");

    // Act: the customer writes again; the bot stays quiet.
    p.deliver(&text("PN1410", "wamid.H2", "966500001410", "When do you open?", 1)).await;
    p.until_count("select count(*) from messages where direction = 'in'", 2).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert_eq!(p.graph.sends().len(), 1, "the bot is paused for this conversation");

    // Act: the team resumes the bot; the next message is answered by it.
    p.owner.get(&format!("/inbox/{conversation}")).await;
    let resumed = p.owner.post(&format!("/inbox/{conversation}/resume"), &[]).await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER);
    p.deliver(&text("PN1410", "wamid.H3", "966500001410", "When do you open?", 1)).await;
    let sends = p.sends(2).await;
    assert!(sends[1].body["text"]["body"].as_str().unwrap().contains("We open daily from 7am to 11pm."));
    assert!(
        !p.owner.get("/inbox?filter=person").await.body.contains("+966500001410"),
        "answered: no longer flagged"
    );
}

#[sqlx::test(migrations = false)]
async fn the_models_judgement_and_the_businesss_own_phrases_hand_off_too(pool: PgPool) {
    // Arrange: the model is told to answer HANDOFF when asked for a person (the sandbox
    // model answers from the FAQ); the business adds "المدير".
    let p = Pipeline::start(pool, "owner@judge.sa", "PN1411").await;
    let faq = "Q: When do you open?\nA: We open daily from 7am to 11pm.\nQ: Can your boss call me about my order\nA: HANDOFF";
    p.configure_bot(&[("knowledge", faq), ("handoff_phrases", "المدير\n")]).await;

    // Act: a request the list does not know, which the model recognises.
    p.deliver(&text("PN1411", "wamid.J1", "966500001411", "Can your boss call me about my order", 1)).await;

    // Assert: the model was asked, and the customer got the hand-off, not "HANDOFF".
    let sends = p.sends(1).await;
    let said = sends[0].body["text"]["body"].as_str().unwrap();
    assert!(
        said.contains("A member of our team will reply to you shortly") && !said.contains("HANDOFF"),
        "{said}"
    );
    assert_eq!(p.model.requests().len(), 1);
    assert_eq!(flags(&p, "966500001411").await, (true, true, Some("handoff".into())));

    // Act: the business's own phrase, with other letter forms.
    p.deliver(&text("PN1411", "wamid.J2", "966500001412", "أَبِي المُدير لو سمحت", 1)).await;

    // Assert: handed off without asking the model.
    p.sends(2).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert_eq!(p.model.requests().len(), 1, "no model call for the business's phrase");
    assert_eq!(flags(&p, "966500001412").await, (true, true, Some("handoff".into())));
}
