//! A team in the inbox: an agent takes a conversation ("assigned to me" lists it, the
//! list shows whose it is), replies under their own name instead of "Team", and writes an
//! internal note the team sees in the thread and the customer never receives; quick
//! replies, labels and the contact panel with the customer's past conversations. Another
//! business can neither assign nor annotate it, nor assign to someone outside its team.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    pipeline::{text, Pipeline},
    web::{link_path, mail_to, Browser, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn an_agent_takes_a_conversation_replies_by_name_and_notes_stay_inside(pool: PgPool) {
    // Arrange: an agent joins the team; a customer asks for a person.
    let p = Pipeline::start(pool, "owner@team-inbox.sa", "PN1601").await;
    p.owner.get("/team").await;
    p.owner.post("/team/invite", &[("email", "noura@team-inbox.sa")]).await;
    let invite = link_path(&mail_to(&p.mail, "noura@team-inbox.sa", "/invite/").await.1, "/invite/");
    let agent = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    agent.get(&invite).await;
    let joined =
        agent.post(&invite, &[("name", "Noura Alqahtani"), ("password", PASSWORD), ("locale", "en")]).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);
    p.deliver(&text("PN1601", "wamid.T1", "966500001601", "أبغى أكلم موظف", 1)).await;
    p.sends(1).await;
    let conversation = p.conversation_id().await;

    // Act: the agent takes it.
    agent.get(&format!("/inbox/{conversation}")).await;
    let taken = agent.post(&format!("/inbox/{conversation}/assign"), &[("user", "me")]).await;

    // Assert: hers, in her "assigned to me" and by name in everyone's list; not the owner's.
    assert_eq!(
        (taken.status, taken.location()),
        (StatusCode::SEE_OTHER, format!("/inbox/{conversation}").as_str())
    );
    let mine = agent.get("/inbox?filter=mine").await.body;
    assert!(mine.contains("+966500001601") && mine.contains(r#"id="mine-count">1<"#));
    let owners = p.owner.get("/inbox?filter=mine").await.body;
    assert!(!owners.contains("+966500001601") && owners.contains(r#"id="mine-count">0<"#));
    assert!(p.owner.get("/inbox").await.body.contains("Assigned to <bdi>Noura Alqahtani</bdi>"));

    // Act: she writes a note for the team, then replies.
    agent.get(&format!("/inbox/{conversation}")).await;
    agent
        .post(&format!("/inbox/{conversation}/notes"), &[("note", "Wants to change her order to Friday")])
        .await;
    agent.get(&format!("/inbox/{conversation}")).await;
    agent
        .post(&format!("/inbox/{conversation}/reply"), &[("text", "Hello, I am Noura. How can I help?")])
        .await;

    // Assert: the customer got the reply and never the note; the thread shows both, by name.
    let sends = p.sends(2).await;
    assert_eq!(sends[1].body["text"]["body"], "Hello, I am Noura. How can I help?");
    assert!(p.graph.sends().iter().all(|s| !s.body.to_string().contains("Friday")), "a note never leaves");
    let thread = p.owner.get(&format!("/inbox/{conversation}")).await.body;
    assert!(thread.contains("Wants to change her order to Friday") && thread.contains(r#"class="msg note""#));
    let reply_at = thread.find("Hello, I am Noura").unwrap();
    let author = &thread[thread[..reply_at].rfind("msg-meta").unwrap()..reply_at];
    assert!(author.contains("<bdi>Noura Alqahtani</bdi>") && !author.contains(">Team<"), "{author}");

    // Act: another business tries her conversation; the owner assigns to a stranger.
    let stranger = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    stranger.sign_up("Other", "owner@elsewhere-inbox.sa", "Elsewhere", "en").await;
    stranger.get("/inbox").await;
    let foreign_assign = stranger.post(&format!("/inbox/{conversation}/assign"), &[("user", "me")]).await;
    let foreign_note = stranger.post(&format!("/inbox/{conversation}/notes"), &[("note", "x")]).await;
    let stranger_id: String =
        sqlx::query_scalar("select user_id::text from users where email = 'owner@elsewhere-inbox.sa'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    p.owner.get(&format!("/inbox/{conversation}")).await;
    let outside = p.owner.post(&format!("/inbox/{conversation}/assign"), &[("user", &stranger_id)]).await;

    // Assert: all refused; still hers, one note.
    assert_eq!(
        (foreign_assign.status, foreign_note.status, outside.status),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    let (assignee, notes): (String, i64) = sqlx::query_as(
        "select u.name, (select count(*) from notes) from conversations c join users u on u.user_id = c.assigned_to",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!((assignee.as_str(), notes), ("Noura Alqahtani", 1));

    // Act: the owner unassigns.
    p.owner.post(&format!("/inbox/{conversation}/assign"), &[("user", "")]).await;

    // Assert
    assert!(!agent.get("/inbox?filter=mine").await.body.contains("+966500001601"));
}

#[sqlx::test(migrations = false)]
async fn quick_replies_labels_and_the_contact_panel(pool: PgPool) {
    // Arrange: a saved answer (a shortcut with a space is refused); a customer writes.
    let p = Pipeline::start(pool, "owner@quick.sa", "PN1602").await;
    p.owner.get("/settings/replies").await;
    let refused = p.owner.post("/settings/replies", &[("shortcut", "two words"), ("body", "x")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("a slash and one word"));
    let hours = "We open daily from 9am to 11pm. نفتح يوميًا من ٩ صباحًا.";
    let saved = p.owner.post("/settings/replies", &[("shortcut", "hours"), ("body", hours)]).await;
    assert_eq!((saved.status, saved.location()), (StatusCode::SEE_OTHER, "/settings/replies"));
    p.deliver(&text("PN1602", "wamid.Q1", "966500001602", "متى تفتحون؟", 1)).await;
    p.sends(1).await;
    let conversation = p.conversation_id().await;

    // Act: the owner replies with the shortcut alone.
    let thread = p.owner.get(&format!("/inbox/{conversation}")).await.body;
    p.owner.post(&format!("/inbox/{conversation}/reply"), &[("text", "/HOURS")]).await;

    // Assert: offered under the reply box, and the customer got the saved answer.
    assert!(thread.contains(r#"data-quick="We open daily"#), "{thread}");
    assert_eq!(p.sends(2).await[1].body["text"]["body"], hours);

    // Act: label the customer (Arabic comma, a repeat); then try eleven labels.
    p.owner.get(&format!("/inbox/{conversation}")).await;
    p.owner.post(&format!("/inbox/{conversation}/labels"), &[("labels", "VIP، wholesale, vip")]).await;
    let eleven = (0..11).map(|i| format!("l{i}")).collect::<Vec<_>>().join(",");
    p.owner.get(&format!("/inbox/{conversation}")).await;
    p.owner.post(&format!("/inbox/{conversation}/labels"), &[("labels", &eleven)]).await;

    // Assert: the panel shows the customer, the Saudi number grouped, two labels; the
    // label finds them and another does not.
    let panel = p.owner.get(&format!("/inbox/{conversation}")).await.body;
    assert!(panel.contains("Use at most 10 labels."), "the eleven were refused");
    assert!(panel.contains(r#"<span dir="ltr">+966 50 000 1602</span>"#), "{panel}");
    assert!(
        panel.contains("<bdi>vip</bdi>") && panel.contains("<bdi>wholesale</bdi>") && !panel.contains("l10")
    );
    assert!(panel.contains("First seen") && panel.contains("3 messages since"));
    assert!(p.owner.get("/inbox?label=VIP").await.body.contains("+966500001602"));
    assert!(!p.owner.get("/inbox?label=retail").await.body.contains("+966500001602"));
    assert!(panel.contains("Past conversations") && panel.contains("None yet"));

    // Act: three days on, the customer writes again (a new 24-hour conversation).
    sqlx::query(
        "update messages set created_at = created_at - interval '3 days' where conversation_id = $1::uuid",
    )
    .bind(&conversation)
    .execute(&p.pool)
    .await
    .unwrap();
    p.deliver(&text("PN1602", "wamid.Q2", "966500001602", "عندكم توصيل؟", 1)).await;
    p.until_count("select count(*) from messages where author = 'customer'", 2).await;
    let first: uuid::Uuid = sqlx::query_scalar(
        "select message_id from messages where conversation_id = $1::uuid order by created_at limit 1",
    )
    .bind(&conversation)
    .fetch_one(&p.pool)
    .await
    .unwrap();

    // Assert: the earlier one is listed (its three messages, a person answered), linked
    // to its first message; the current one is not.
    let panel = p.owner.get(&format!("/inbox/{conversation}")).await.body;
    let past = &panel[panel.find(r#"id="past-conversations""#).expect("listed")..];
    let past = &past[..past.find("</ol>").unwrap()];
    assert_eq!(past.matches("<li>").count(), 1, "{past}");
    assert!(
        past.contains(&format!(r##"href="#m-{first}""##)) && panel.contains(&format!(r#"id="m-{first}""#))
    );
    assert!(past.contains("3 messages") && past.contains("a person answered"), "{past}");
}
