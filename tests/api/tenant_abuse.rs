//! What one tenant could do to others or to the platform: relay phishing through our
//! invitation emails, squat another business's WhatsApp number, or spend the platform's
//! model key on a model the operator did not offer.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::{eventually, migrated, TestApp},
    pipeline::{text, Options, Pipeline},
    web::{verify_email, Browser, Mailbox},
};

const PHISH: &str =
    "Mujibak Security Team. Your account is suspended – verify now at https://evil.example/login";

#[sqlx::test(migrations = false)]
async fn a_business_name_is_a_name_and_an_invitation_says_who_invited_whom(pool: PgPool) {
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let addr = TestApp::new(pool.clone()).spawn().await;
    let long = "ب".repeat(81);
    for (name, why) in
        [(PHISH, "a link"), ("Sweets\nCall +966 now", "a line break"), (long.as_str(), "81 characters")]
    {
        let b = Browser::with_headers(addr, &[("accept-language", "en")]);
        b.get("/signup").await;
        let form = [
            ("name", "Sara"),
            ("email", "sara@example.sa"),
            ("business_name", name),
            ("password", crate::web::PASSWORD),
            ("locale", "en"),
        ];
        let page = b.post("/signup", &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "a business name with {why} was accepted");
    }
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.sign_up("Sara", "sara@example.sa", "Sara Sweets", "en").await;
    owner.get("/profile").await;
    let renamed = owner
        .post(
            "/profile",
            &[("name", "Sara"), ("email", "sara@example.sa"), ("business_name", PHISH), ("locale", "en")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::UNPROCESSABLE_ENTITY, "renamed to a phishing line");

    // The invitation names the inviter and marks the business name as theirs.
    verify_email(&owner, &mailbox.sink, "sara@example.sa").await;
    owner.get("/team").await;
    owner.post("/team/invite", &[("email", "agent@example.sa")]).await;
    let (subject, body) = mailbox.to("agent@example.sa", "/invite/").await;
    assert!(!subject.contains("Sara"), "the subject holds no name a business chose: {subject}");
    assert!(body.contains("Sara (sara@example.sa) invited you"), "{body}");
    assert!(
        body.contains("“Sara Sweets”") && body.contains("Mujibak did not write or check this name"),
        "{body}"
    );
}

async fn connect(b: &Browser, number: &str, token: &str) -> crate::web::Page {
    let fields = [
        ("phone_number_id", number),
        ("waba_id", "WABA"),
        ("display_number", "+966 50 000 0003"),
        ("access_token", token),
        ("app_secret", "secret-1"),
    ];
    b.get("/settings/whatsapp").await;
    b.post("/settings/whatsapp", &fields).await
}

#[sqlx::test(migrations = false)]
async fn a_token_meta_refuses_cannot_claim_a_number_and_does_not_learn_who_holds_it(pool: PgPool) {
    // Arrange: Meta knows PN-REAL with its owner's token; a squatter has a junk token.
    migrated(&pool).await;
    let mailbox = Mailbox::start(&pool).await;
    let graph = mujibak_devtools::sandbox::graph::GraphFake::start("127.0.0.1:0").await.unwrap();
    graph.register_number("PN-REAL", "real-owner-token", None, None);
    graph.register_number("PN-HELD", "held-token", None, None);
    let graph_url = graph.base_url();
    let vars = [("ENCRYPTION_KEYS", TEST_KEYS), ("WHATSAPP_GRAPH_URL", graph_url.as_str())];
    let addr = TestApp::new(pool.clone()).vars(&vars).spawn().await;
    let holder = Browser::with_headers(addr, &[("accept-language", "en")]);
    holder.sign_up("Holder", "holder@example.sa", "Holder", "en").await;
    verify_email(&holder, &mailbox.sink, "holder@example.sa").await;
    assert_eq!(connect(&holder, "PN-HELD", "held-token").await.status, StatusCode::SEE_OTHER);
    let squatter = Browser::with_headers(addr, &[("accept-language", "en")]);
    squatter.sign_up("Squatter", "squat@example.sa", "Squat", "en").await;
    verify_email(&squatter, &mailbox.sink, "squat@example.sa").await;

    // Act
    let claim = connect(&squatter, "PN-REAL", "junk-token").await;
    let held = connect(&squatter, "PN-HELD", "junk-token").await;

    // Assert: refused alike, whether or not another business holds the number.
    assert_eq!(claim.status, StatusCode::UNPROCESSABLE_ENTITY, "a junk token claimed a number");
    assert_eq!(held.status, claim.status);
    let error =
        |body: &str| body.split("field-error").nth(1).map(|s| s.split('<').next().unwrap_or("").to_owned());
    assert_eq!(error(&held.body), error(&claim.body), "the error reveals that PN-HELD is in use");
    let live: i64 =
        sqlx::query_scalar("select count(*) from whatsapp_connections where phone_number_id = 'PN-REAL'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(live, 0);

    // The real owner connects with the token Meta accepts.
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.sign_up("Owner", "owner@example.sa", "Owner", "en").await;
    verify_email(&owner, &mailbox.sink, "owner@example.sa").await;
    assert_eq!(connect(&owner, "PN-REAL", "real-owner-token").await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test(migrations = false)]
async fn only_models_the_operator_lists_and_the_plan_allows_can_be_chosen(pool: PgPool) {
    let vars = [("OPENAI_MODEL", "gpt-4o-mini"), ("OPENAI_MODELS", "gpt-4o-mini, gpt-4.1-mini")];
    let p = Pipeline::start_opts(
        pool,
        "models@example.sa",
        "PN-M",
        Options { vars: &vars, ..Options::default() },
    )
    .await;
    let model = || async {
        sqlx::query_scalar::<_, String>("select model from bot_settings").fetch_one(&p.pool).await.unwrap()
    };
    let asked = |n: usize| {
        let p = &p;
        async move {
            eventually(std::time::Duration::from_secs(15), "a model request", || async {
                let requests = p.model.requests();
                (requests.len() >= n).then(|| requests[n - 1]["model"].as_str().unwrap_or("").to_owned())
            })
            .await
        }
    };
    let choose = |model: &'static str| [("enabled", "on"), ("reply_language", "match"), ("model", model)];

    // Act + Assert: on the trial, only the default; a model outside the operator's list never.
    let page = p.owner.get("/settings/bot").await;
    assert!(!page.body.contains(r#"<option value="gpt-4.1-mini""#), "the trial offers the default only");
    for refused in ["o1-pro", "gpt-4.1-mini"] {
        let answer = p.owner.post("/settings/bot", &choose(refused)).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{refused} was saved");
    }
    assert_eq!(model().await, "");

    // On the pro plan, any model the operator lists.
    p.owner.get("/billing").await;
    p.owner.post("/billing/plan", &[("plan", "pro")]).await;
    assert!(p.owner.get("/settings/bot").await.body.contains(r#"<option value="gpt-4.1-mini""#));
    assert_eq!(p.owner.post("/settings/bot", &choose("gpt-4.1-mini")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(model().await, "gpt-4.1-mini");
    p.deliver(&text("PN-M", "wamid.M1", "966500000011", "When do you open?", 1)).await;
    assert_eq!(asked(1).await, "gpt-4.1-mini");

    // Back on the starter plan (once the month ends), the stored choice is no longer used.
    p.owner.post("/billing/plan", &[("plan", "starter")]).await;
    sqlx::query("update tenants set next_plan_at = now() - interval '1 second'")
        .execute(&p.pool)
        .await
        .unwrap();
    mujibak_core::db::plans::apply_due(&p.pool).await.unwrap();
    p.deliver(&text("PN-M", "wamid.M2", "966500000012", "When do you open?", 1)).await;
    assert_eq!(asked(2).await, "gpt-4o-mini", "a model the plan does not allow was asked");

    // A model stored before the operator's list existed (or since removed from it) is not used.
    p.owner.post("/billing/plan", &[("plan", "pro")]).await;
    sqlx::query("update bot_settings set model = 'o1-pro'").execute(&p.pool).await.unwrap();
    p.deliver(&text("PN-M", "wamid.M3", "966500000013", "When do you open?", 1)).await;
    assert_eq!(
        asked(3).await,
        "gpt-4o-mini",
        "the platform's key was spent on a model the operator did not list"
    );
}
