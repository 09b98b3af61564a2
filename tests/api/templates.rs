//! Follow-ups after the 24-hour window (#15, point 4): once a customer has not written for
//! 24 hours, the thread offers the business's approved templates instead of a reply box;
//! an agent fills in the variables and sends one, Meta's statuses arrive for it; a
//! free-form reply is refused before anything is sent or any token spent; a customer who
//! opted out of marketing is offered no marketing template.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::{
    helpers::eventually,
    pipeline::{text, Pipeline},
};

#[sqlx::test(migrations = false)]
async fn after_the_window_an_agent_sends_a_template_and_its_status_arrives(pool: PgPool) {
    // Arrange: a customer wrote 25 hours ago (the bot did not answer in time).
    let p = Pipeline::start(pool, "follow@example.sa", "PN-T").await;
    p.deliver(&text("PN-T", "wamid.T1", "966501234567", "Is my order ready?", 25 * 3600)).await;
    p.until_count("select count(*) from conversations where notice = 'window_closed'", 1).await;
    p.until_finished(&["handle_inbound", "generate_reply"]).await;
    let id = p.conversation_id().await;
    let thread = p.owner.get(&format!("/inbox/{id}")).await;
    assert!(!thread.body.contains(&format!(r#"action="/inbox/{id}/reply""#)), "a reply box after the window");
    assert!(thread.body.contains(&format!(r#"href="/inbox/{id}/template""#)), "no template offered");

    // A free-form reply is refused at once: nothing queued, nothing sent.
    let reply = p.owner.post(&format!("/inbox/{id}/reply"), &[("text", "Yes, it is ready")]).await;
    assert_eq!(
        (reply.status, reply.location()),
        (StatusCode::SEE_OTHER, format!("/inbox/{id}/template").as_str())
    );
    let offered = p.owner.follow(&reply).await;
    assert!(offered.body.contains("send a template instead"), "{}", offered.body);
    assert_eq!(p.count("select count(*) from messages where direction = 'out'").await, 0);

    // The approved templates that need only body variables are offered; not the pending
    // one, nor the one with an image header.
    for name in ["order_ready", "follow_up", "hello_world", "summer_offer"] {
        assert!(offered.body.contains(&format!(r#"data-template="{name}|"#)), "{name} not offered");
    }
    for name in ["pending_news", "menu_image"] {
        assert!(!offered.body.contains(&format!(r#"data-template="{name}|"#)), "{name} offered");
    }

    // Act: a variable missing is refused; both filled, it is sent.
    let path = format!("/inbox/{id}/template");
    let missing = p.owner.post(&path, &[("template", "order_ready|ar"), ("p1", "سارة")]).await;
    assert!(p.owner.follow(&missing).await.body.contains("Fill in every variable"));
    let sent = p.owner.post(&path, &[("template", "order_ready|ar"), ("p1", "سارة"), ("p2", "1042")]).await;
    assert_eq!((sent.status, sent.location()), (StatusCode::SEE_OTHER, format!("/inbox/{id}").as_str()));

    // Assert: Meta got the template with its parameters, and its statuses arrived.
    let sends = p.sends(1).await;
    let body = &sends[0].body;
    assert_eq!(body["type"], "template");
    assert_eq!(body["to"], "966501234567");
    assert_eq!(
        (body["template"]["name"].as_str(), body["template"]["language"]["code"].as_str()),
        (Some("order_ready"), Some("ar"))
    );
    let params: Vec<&str> = body["template"]["components"][0]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v: &Value| v["text"].as_str())
        .collect();
    assert_eq!(params, ["سارة", "1042"]);
    eventually(Duration::from_secs(15), "the template's read status", || async {
        let status: String = sqlx::query_scalar("select status from messages where kind = 'template'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
        (status == "read").then_some(())
    })
    .await;
    let thread = p.owner.get(&format!("/inbox/{id}")).await;
    assert!(thread.body.contains("مرحبًا سارة، طلبك رقم 1042 جاهز للاستلام."), "{}", thread.body);
    assert!(thread.body.contains("✓✓ read"));
    assert!(p.model.requests().is_empty(), "a model was asked after the window closed");
    // Counted in the day's outbound usage, not against the AI-reply allowance.
    assert_eq!(p.count("select coalesce(sum(outbound), 0)::bigint from usage_daily").await, 1);
    assert_eq!(p.count("select coalesce(sum(replies), 0)::bigint from ai_usage_monthly").await, 0);
}

#[sqlx::test(migrations = false)]
async fn a_customer_who_stopped_marketing_is_offered_no_marketing_template(pool: PgPool) {
    let p = Pipeline::start(pool, "optout@example.sa", "PN-O").await;
    p.deliver(&text("PN-O", "wamid.O1", "966507654321", "Thanks", 25 * 3600)).await;
    p.until_count("select count(*) from conversations", 1).await;
    let id = p.conversation_id().await;
    sqlx::query("update contacts set marketing_opt_out_at = now()").execute(&p.pool).await.unwrap();

    let offered = p.owner.get(&format!("/inbox/{id}/template")).await;
    assert!(offered.body.contains(r#"data-template="follow_up|en""#));
    assert!(!offered.body.contains("summer_offer"), "a marketing template offered after the opt-out");
    let forced = p
        .owner
        .post(&format!("/inbox/{id}/template"), &[("template", "summer_offer|ar"), ("p1", "20%")])
        .await;
    assert!(p.owner.follow(&forced).await.body.contains("not among your approved templates"));
    assert_eq!(p.count("select count(*) from messages where kind = 'template'").await, 0);
}

#[tokio::test]
async fn the_sandbox_refuses_a_template_send_as_meta_does() {
    use mujibak_core::{
        clients::whatsapp::{Creds, GraphClient, GraphError, Recipient},
        domain::template::TemplateSend,
    };
    let graph = mujibak_devtools::sandbox::graph::GraphFake::start("127.0.0.1:0").await.unwrap();
    graph.register_number("PN-X", "token-x", None, None);
    let url = graph.base_url();
    let config = mujibak_core::Config::from_lookup(|n| match n {
        "DATABASE_URL" => Some("postgres://x".into()),
        "WHATSAPP_GRAPH_URL" => Some(url.clone()),
        _ => None,
    })
    .unwrap();
    let client = GraphClient::new(&config.whatsapp);
    let token = secrecy::SecretString::from("token-x");
    let creds = Creds { phone_number_id: "PN-X", access_token: &token };
    let to = Recipient::Phone("966501234567");
    let template = |name: &str, language: &str, params: &[&str]| TemplateSend {
        name: name.into(),
        language: language.into(),
        params: params.iter().map(|p| p.to_string()).collect(),
    };
    let code = |r: Result<String, GraphError>| match r {
        Err(GraphError::Api { code, .. }) => code,
        other => panic!("not refused: {other:?}"),
    };

    let unknown = client.send_template(&creds, to, &template("order_ready", "en", &["a", "b"]), "m1").await;
    assert_eq!(code(unknown), 132001, "order_ready exists only in Arabic");
    let pending = client.send_template(&creds, to, &template("pending_news", "en", &["a"]), "m2").await;
    assert_eq!(code(pending), 132001, "a pending template is not sendable");
    let short = client.send_template(&creds, to, &template("order_ready", "ar", &["سارة"]), "m3").await;
    assert_eq!(code(short), 132000);
    let sent = client.send_template(&creds, to, &template("follow_up", "en", &["Sara"]), "m4").await;
    assert!(sent.is_ok(), "{sent:?}");
    assert_eq!(graph.sends().len(), 1, "only the well-formed send was accepted");
}
