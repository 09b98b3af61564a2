//! Guided number setup (#15, point 1): the settings page walks an owner through Meta's
//! dashboard in Arabic and English; each refusal from Meta's Graph API is shown as the
//! step that fixes it and saves nothing; connecting subscribes the app to the account's
//! webhooks; and the setup checklist turns each step green only when Meta did it.

use std::time::Duration;

use mujibak_devtools::sandbox::graph::GraphFake;
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::{eventually, migrated, TestApp},
    pipeline::{text, Pipeline},
    web::{verify_email, Browser, Mailbox, Page},
};

async fn connect(b: &Browser, number: &str, waba: &str, token: &str) -> Page {
    let fields = [
        ("phone_number_id", number),
        ("waba_id", waba),
        ("display_number", "+966 50 000 0007"),
        ("access_token", token),
        ("app_secret", "app-secret-7"),
    ];
    b.get("/settings/whatsapp").await;
    b.post("/settings/whatsapp", &fields).await
}

/// The error text shown under `field`, if any.
fn field_error(body: &str, field: &str) -> Option<String> {
    let at = body.find(&format!(r#"name="{field}""#))?;
    let rest = &body[at..];
    let end = rest.find("</div>").unwrap_or(rest.len());
    let error = rest[..end].split("field-error").nth(1)?;
    Some(error.split_once('>')?.1.split('<').next()?.to_owned())
}

/// The class (`done` or `todo`) of a setup checklist step.
fn step(body: &str, name: &str) -> String {
    let marker = format!(r#"data-step="{name}""#);
    let at = body.find(&marker).unwrap_or_else(|| panic!("no checklist step {name}: {body}"));
    let head = &body[..at];
    let class = &head[head.rfind("class=\"").expect("a class") + 7..];
    class.split('"').next().unwrap_or("").to_owned()
}

#[sqlx::test(migrations = false)]
async fn each_refusal_from_meta_names_the_step_that_fixes_it_and_saves_nothing(pool: PgPool) {
    // Arrange: Meta knows PN-1 in WABA-1, PN-3 in WABA-3, and PN-2 whose token was issued
    // with the messaging permission only. Calls to Meta time out after one second.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let graph = GraphFake::start("127.0.0.1:0").await.unwrap();
    graph.register_number("PN-1", "good-token", None, None);
    graph.place_number("PN-1", "WABA-1", true);
    graph.register_number("PN-2", "messaging-only", None, None);
    graph.place_number("PN-2", "WABA-2", false);
    graph.register_number("PN-3", "token-3", None, None);
    graph.place_number("PN-3", "WABA-3", true);
    let graph_url = graph.base_url();
    let vars = [
        ("ENCRYPTION_KEYS", TEST_KEYS),
        ("WHATSAPP_GRAPH_URL", graph_url.as_str()),
        ("WHATSAPP_TIMEOUT_SECS", "1"),
    ];
    let addr = TestApp::new(pool.clone()).vars(&vars).spawn().await;
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.sign_up("Huda", "huda@example.sa", "Huda Perfumes", "en").await;
    verify_email(&owner, &mailbox.sink, "huda@example.sa").await;

    // The guide is on the page before anything is connected.
    let page = owner.get("/settings/whatsapp").await;
    for needle in ["WhatsApp → API Setup", "whatsapp_business_management", "System users", "App secret"] {
        assert!(page.body.contains(needle), "the guide does not mention {needle}");
    }

    // Act and assert: each mistake an owner makes in Meta's dashboard.
    let cases = [
        (
            "the phone number instead of its id",
            "966500000007",
            "WABA-1",
            "good-token",
            "phone_number_id",
            "Copy the Phone number ID",
        ),
        (
            "an expired token",
            "PN-1",
            "WABA-1",
            "expired-token",
            "access_token",
            "temporary token on API Setup lasts 24 hours",
        ),
        (
            "an account id Meta does not know",
            "PN-1",
            "WABA-9",
            "good-token",
            "waba_id",
            "WhatsApp Business Account ID is wrong",
        ),
        (
            "another account's id",
            "PN-1",
            "WABA-3",
            "good-token",
            "waba_id",
            "WhatsApp Business Account ID is wrong",
        ),
        (
            "a token without the management permission",
            "PN-2",
            "WABA-2",
            "messaging-only",
            "access_token",
            "whatsapp_business_management",
        ),
    ];
    for (mistake, number, waba, token, field, action) in cases {
        let refused = connect(&owner, number, waba, token).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{mistake} was accepted");
        let error =
            field_error(&refused.body, field).unwrap_or_else(|| panic!("{mistake}: no error under {field}"));
        assert!(error.contains(action), "{mistake}: {error}");
    }
    // Meta too slow to answer: nothing saved, try again.
    graph.set_latency(Duration::from_millis(1500));
    let slow = connect(&owner, "PN-1", "WABA-1", "good-token").await;
    assert_eq!(slow.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        slow.body.contains("Meta could not be reached to check these details. Nothing was saved"),
        "{}",
        slow.body
    );
    graph.set_latency(Duration::ZERO);
    let saved: i64 =
        sqlx::query_scalar("select count(*) from whatsapp_connections").fetch_one(&pool).await.unwrap();
    assert_eq!(saved, 0, "a refused connection was saved");
    assert!(!graph.subscribed("WABA-1") && !graph.subscribed("WABA-2"), "subscribed before Meta accepted");

    // In Arabic, the same refusal is an Arabic step.
    owner.post("/lang", &[("lang", "ar"), ("next", "/settings/whatsapp")]).await;
    let arabic = connect(&owner, "PN-1", "WABA-1", "expired-token").await;
    let error = field_error(&arabic.body, "access_token").unwrap_or_default();
    assert!(error.contains("انتهت صلاحيته") && error.contains("24 ساعة"), "{error}");
    assert!(arabic.body.contains("مستخدمو النظام"), "the Arabic guide is missing");

    // The right values connect, and the app is subscribed to the account's webhooks.
    let connected = connect(&owner, "PN-1", "WABA-1", "good-token").await;
    assert_eq!(connected.status, StatusCode::SEE_OTHER, "{}", connected.body);
    assert!(graph.subscribed("WABA-1"), "connecting did not subscribe the app to the account");
}

#[sqlx::test(migrations = false)]
async fn the_checklist_turns_green_only_when_meta_verified_the_webhook_and_a_message_arrived(pool: PgPool) {
    // Arrange: a business connected its number (the token was accepted).
    let p = Pipeline::start(pool, "setup@example.sa", "PN-SETUP").await;
    assert!(p.graph.subscribed("WABA1"), "connecting did not subscribe the app");
    let page = p.owner.get("/settings/whatsapp").await;
    assert_eq!(
        (step(&page.body, "token"), step(&page.body, "webhook"), step(&page.body, "message")),
        ("done".into(), "todo".into(), "todo".into())
    );
    assert!(
        page.body.contains(r#"data-copy="webhook-url""#) && page.body.contains(r#"data-copy="verify-token""#)
    );
    assert!(page.body.contains(r#"<script src="/static/copy.js""#));
    let script = reqwest::get(format!("http://{}/static/copy.js", p.addr)).await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(script.text().await.unwrap().contains("clipboard"));
    let verify_token = p.verify_token().await;
    let handshake = |token: String| {
        let url = p.webhook_url.clone();
        async move {
            let query = [
                ("hub.mode", "subscribe"),
                ("hub.verify_token", token.as_str()),
                ("hub.challenge", "1158201444"),
            ];
            reqwest::Client::new().get(url).query(&query).send().await.unwrap()
        }
    };

    // Act: a handshake with the wrong token changes nothing; Meta's real one is recorded.
    assert_eq!(handshake("not-the-token".into()).await.status(), StatusCode::FORBIDDEN);
    let page = p.owner.get("/settings/whatsapp").await;
    assert_eq!(step(&page.body, "webhook"), "todo", "a wrong verify token counted as verified");
    let verified = handshake(verify_token).await;
    assert_eq!(verified.status(), StatusCode::OK);
    assert_eq!(verified.text().await.unwrap(), "1158201444");
    let page = p.owner.get("/settings/whatsapp").await;
    assert_eq!((step(&page.body, "webhook"), step(&page.body, "message")), ("done".into(), "todo".into()));
    assert!(!page.body.contains("Your number is set up"));

    // A customer writes: the last step is done and the guide folds away.
    assert_eq!(
        p.deliver(&text("PN-SETUP", "wamid.SETUP1", "966501112233", "hello", 1)).await,
        StatusCode::OK
    );
    eventually(Duration::from_secs(15), "the customer's contact", || async {
        let n: i64 = sqlx::query_scalar("select count(*) from contacts").fetch_one(&p.pool).await.unwrap();
        (n > 0).then_some(())
    })
    .await;
    let page = p.owner.get("/settings/whatsapp").await;
    assert_eq!(step(&page.body, "message"), "done");
    assert!(page.body.contains("Your number is set up"), "{}", page.body);
    assert!(
        page.body.contains(r#"<details class="card guide" id="guide">"#),
        "the guide stays open once set up"
    );
}
