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

#[sqlx::test(migrations = false)]
async fn the_team_is_emailed_when_nobody_opens_a_handed_off_conversation_in_time(pool: PgPool) {
    // Arrange: emails after 10 minutes, typed in Arabic-Indic digits; nonsense is refused.
    let p = Pipeline::start(pool, "owner@alert.sa", "PN1412").await;
    p.owner.get("/settings/bot").await;
    let refused =
        p.owner.post("/settings/bot", &[("enabled", "on"), ("handoff_email_minutes", "soon")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("whole number from 0 to 1440"));
    p.configure_bot(&[("handoff_email_minutes", "١٠")]).await;
    assert!(p
        .owner
        .get("/settings/bot")
        .await
        .body
        .contains(r#"name="handoff_email_minutes" inputmode="numeric" dir="ltr" value="10""#));

    // Act: two customers ask for a person; the team opens the first conversation only.
    p.deliver(&text("PN1412", "wamid.A1", "966500001413", "أبغى أكلم موظف", 1)).await;
    p.deliver(&text("PN1412", "wamid.A2", "966500001414", "I want a real person", 1)).await;
    p.sends(2).await;
    p.until_finished(&["handle_inbound", "generate_reply"]).await;
    let id_of = |wa_id: &'static str| {
        let pool = p.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select c.conversation_id::text from conversations c join contacts k using (contact_id) where k.wa_id = $1",
            )
            .bind(wa_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (opened, waiting) = (id_of("966500001413").await, id_of("966500001414").await);
    let due: Vec<f64> = sqlx::query_scalar(
        "select extract(epoch from run_at - now())::float8 from apalis.jobs
          where job_type = 'send_email' and status = 'Pending' order by 1",
    )
    .fetch_all(&p.pool)
    .await
    .unwrap();
    assert!(due.len() == 2 && due.iter().all(|s| (560.0..=600.0).contains(s)), "due in 10 min: {due:?}");
    p.owner.get(&format!("/inbox/{opened}")).await;

    // Act: ten minutes pass.
    sqlx::query("update apalis.jobs set run_at = now() where job_type = 'send_email'")
        .execute(&p.pool)
        .await
        .unwrap();
    p.until_finished(&["send_email"]).await;

    // Assert: one email, about the conversation nobody opened, without the customer's words.
    let alerts: Vec<_> = p
        .mail
        .messages()
        .iter()
        .map(crate::web::read_mail)
        .filter(|(_, subject, _)| subject.contains("waiting for a person"))
        .collect();
    assert_eq!(alerts.len(), 1);
    let (to, _, body) = &alerts[0];
    assert_eq!(to, "owner@alert.sa");
    assert!(body.contains(&format!("/inbox/{waiting}")) && !body.contains(&opened), "{body}");
    assert!(!body.contains("real person"), "the customer's words stay out of email");
    // Nor their WhatsApp name (Sara): the email passes through the SMTP provider, and the
    // link is enough.
    assert!(!body.contains("Sara"), "the customer's name stays out of email: {body}");
    let statuses: Vec<String> =
        sqlx::query_scalar("select status from emails where kind = 'handoff_alert' order by status")
            .fetch_all(&p.pool)
            .await
            .unwrap();
    assert_eq!(statuses, ["sent", "skipped"]);
}
