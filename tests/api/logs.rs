//! The logs hold nothing personal, tested wide (#29 item 6): `mujibak dev` — the real
//! binary, web and worker with the sandbox's Meta, model and SMTP — logging every crate at
//! debug (`RUST_LOG=debug`), through a run with several customers (texts, a voice note and
//! a photo, understood by the model: the owner turned media understanding on), a second owner signing up, an invited agent joining
//! and a staff token used on the ops console. Afterwards its log holds none of their texts,
//! numbers, names, transcripts, image descriptions, email addresses, tokens or passwords.

use std::time::Duration;

use mujibak_devtools::sandbox::demo::{ACCESS_TOKEN, APP_SECRET, DEMO_EMAIL, DEMO_PASSWORD};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    dev_mode::Dev,
    helpers::eventually,
    ops::{token, Api},
    web::{Browser, PASSWORD},
};

/// Customers of the demo business: number, name, what they send, and its text (for a
/// voice note what it says, for a photo what it shows).
const CUSTOMERS: [(&str, &str, &str, &str); 4] = [
    ("966512340001", "نورة القحطاني", "", "هل عندكم كيكة الفستق اليوم؟"),
    ("966512340002", "Khalid Alharbi", "", "Can I collect my order at nine tonight?"),
    ("966512340003", "Maha Alotaibi", "voice_note", "I need two boxes delivered on Thursday evening"),
    ("966512340004", "Faisal Aldosari", "image", "a birthday cake with blue roses on top"),
];

#[sqlx::test(migrations = false)]
async fn a_debug_run_of_several_customers_owners_an_agent_and_staff_logs_nothing_personal(pool: PgPool) {
    // Arrange: the dev process, its log at debug for every crate.
    let mut dev = Dev::start(&pool).await;
    let owner = Browser::with_headers(dev.addr, &[("accept-language", "en")]);
    assert_eq!(owner.sign_in(DEMO_EMAIL, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
    // Voice notes and photos go to the model only when the owner turns that on.
    owner.get("/settings/bot").await;
    let bot = [
        ("enabled", "on"),
        ("reply_language", "match"),
        ("knowledge", "Q: Do you deliver?\nA: Yes, across Riyadh for 25 SAR."),
        ("media_understanding", "on"),
    ];
    assert_eq!(owner.post("/settings/bot", &bot).await.status, StatusCode::SEE_OTHER);

    // Act: every customer writes and is answered, the voice note transcribed; the photo's
    // description comes back cut short once (a malformed answer, which the model client's
    // library logs whole as an error) and is described on the retry.
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    let answered =
        "select count(distinct conversation_id) from messages where direction = 'out' and author = 'bot'";
    let understood = "select count(*) from media where understood is not null";
    for (n, (phone, name, kind, text)) in CUSTOMERS.into_iter().enumerate() {
        if kind == "image" {
            let fault = serde_json::json!({ "fault": "malformed", "times": 1 });
            let url = format!("http://127.0.0.1:{}/_sandbox/openai/fault", dev.model);
            assert!(reqwest::Client::new()
                .post(url)
                .json(&fault)
                .send()
                .await
                .unwrap()
                .status()
                .is_success());
        }
        owner.get("/sandbox/simulator").await;
        let form = [("phone", phone), ("name", name), ("text", text), ("kind", kind)];
        let sent = owner.post("/sandbox/simulator", &form).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let media = CUSTOMERS[..=n].iter().filter(|c| !c.2.is_empty()).count() as i64;
        eventually(Duration::from_secs(45), &format!("{name} answered, their media understood"), || async {
            (count(answered).await > n as i64 && count(understood).await >= media).then_some(())
        })
        .await;
    }
    assert!(
        count("select count(*) from job_errors where queue = 'fetch_media'").await >= 1,
        "the cut-short description reached the app and was retried"
    );

    // A second owner signs up (a verification email); the demo owner invites an agent, who
    // joins from the emailed link and signs in.
    let second = Browser::with_headers(dev.addr, &[("accept-language", "en")]);
    second.sign_up("Huda Alshehri", "huda.alshehri@sweets.example", "Huda Sweets", "en").await;
    dev.link_in_mail("huda.alshehri@sweets.example", "/verify/").await;
    owner.get("/team").await;
    let invited = owner.post("/team/invite", &[("email", "rana.agent@bakery.example")]).await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER, "{}", invited.body);
    let invite = dev.link_in_mail("rana.agent@bakery.example", "/invite/").await;
    let agent = Browser::with_headers(dev.addr, &[("accept-language", "en")]);
    agent.get(&invite).await;
    let joined =
        agent.post(&invite, &[("name", "Rana Alzahrani"), ("password", PASSWORD), ("locale", "en")]).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    agent.post("/signout", &[]).await;
    assert_eq!(agent.sign_in("rana.agent@bakery.example", PASSWORD).await.status, StatusCode::SEE_OTHER);

    // Staff: a token on the console's sign-in form and as a Bearer token on its API.
    let staff_token = token(&pool, "oncall", "ops:read,ops:write").await;
    let staff = Browser::with_headers(dev.addr, &[("accept", "text/html,application/xhtml+xml")]);
    staff.get("/ops/signin").await;
    let signed_in = staff.post_raw("/ops/signin", &[("token", &staff_token)]).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
    assert_eq!(staff.get("/ops/queues").await.status, StatusCode::OK);
    assert_eq!(Api::new(dev.addr, Some(&staff_token)).get("/ops/queues").await.status, StatusCode::OK);

    // Assert: a debug log from several crates was written, and none of it is personal.
    let sessions: Vec<String> = [&owner, &second, &agent, &staff]
        .iter()
        .flat_map(|b| b.set_cookies.lock().unwrap().clone())
        .filter_map(|c| c.split(';').next()?.split_once('=').map(|(_, v)| v.to_owned()))
        .filter(|v| v.len() >= 16)
        .collect();
    dev.stop();
    let logs = std::fs::read_to_string(&dev.log_path).unwrap();
    for debug_of in ["sqlx", "hyper", "tower_http"] {
        assert!(
            logs.lines().any(|l| l.contains("DEBUG") && l.contains(debug_of)),
            "no debug line of {debug_of}: the log is not at debug for every crate"
        );
    }
    let mut secrets: Vec<&str> =
        CUSTOMERS.iter().flat_map(|(phone, name, _, text)| [*phone, *name, *text]).collect();
    secrets.extend([
        DEMO_EMAIL,
        DEMO_PASSWORD,
        ACCESS_TOKEN,
        APP_SECRET,
        "huda.alshehri@sweets.example",
        "Huda Alshehri",
        "rana.agent@bakery.example",
        "Rana Alzahrani",
        PASSWORD,
        &staff_token,
        &staff_token[10..],
        invite.trim_start_matches("/invite/"),
    ]);
    secrets.extend(sessions.iter().map(String::as_str));
    for secret in secrets {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}
