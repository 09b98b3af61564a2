//! `mujibak dev` (what `scripts/dev` runs), as a newcomer uses it: sign in with the demo
//! login, type as a customer in the simulator, and see the bot's reply in the inbox within
//! seconds; then a new business, its address confirmed from the sandbox's mail folder,
//! connects a sandbox number of its own in one click (created at the sandbox Graph API and
//! verified against it like a real one) and its customer gets an answer from its own FAQ,
//! also to a voice note and a photo sent from the simulator (transcribed, described, shown);
//! it chooses a paid plan, runs this month's invoices from the sandbox's button, pays the
//! emailed link on the sandbox Moyasar's page and sees the invoice paid. The real binary,
//! its sandbox fakes and a real database.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    cli::TEST_KEYS,
    helpers::{database_url, free_port},
    web::Browser,
};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// A running `mujibak dev` on free ports, over the test's database; stopped (SIGTERM) when
/// dropped.
pub struct Dev {
    running: Option<Running>,
    pub addr: std::net::SocketAddr,
    /// Where the sandbox's mail sink writes each email.
    pub mail_dir: std::path::PathBuf,
    pub log_path: std::path::PathBuf,
    pub moyasar: u16,
    /// The port of the sandbox model (`/_sandbox/openai/fault` injects its failures).
    pub model: u16,
}

impl Dev {
    pub async fn start(pool: &PgPool) -> Self {
        let (port, smtp, graph, model) = (free_port(), free_port(), free_port(), free_port());
        let moyasar = free_port();
        let mail_dir = std::env::temp_dir().join(format!("mujibak-dev-mail-{port}"));
        let log_path = std::env::temp_dir().join(format!("mujibak-dev-log-{port}.txt"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mujibak"))
            .arg("dev")
            .env_clear()
            .env("DATABASE_URL", database_url(pool))
            .env("PORT", port.to_string())
            .env("BASE_URL", format!("http://127.0.0.1:{port}"))
            .env("ENCRYPTION_KEYS", TEST_KEYS)
            .env("SANDBOX_SMTP_PORT", smtp.to_string())
            .env("SANDBOX_GRAPH_PORT", graph.to_string())
            .env("SANDBOX_OPENAI_PORT", model.to_string())
            .env("SANDBOX_MOYASAR_PORT", moyasar.to_string())
            .env("SANDBOX_MAIL_DIR", &mail_dir)
            .env("REPLY_DEBOUNCE_SECS", "1")
            .current_dir(std::env::temp_dir())
            // Every crate at debug: the log tests (here and in `logs.rs`) read this log.
            .env("RUST_LOG", "debug")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let running = Some(Running(child));
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        crate::helpers::eventually(Duration::from_secs(60), "mujibak dev to serve", || async {
            reqwest::get(format!("http://{addr}/healthz")).await.ok().filter(|r| r.status().is_success())
        })
        .await;
        Self { running, addr, mail_dir, log_path, moyasar, model }
    }

    /// The path of the first link to `path` in an email to `to` in the mail folder (15 s).
    pub async fn link_in_mail(&self, to: &str, path: &str) -> String {
        crate::helpers::eventually(Duration::from_secs(15), "the email on disk", || async {
            let files = std::fs::read_dir(&self.mail_dir).ok()?;
            files.flatten().find_map(|f| {
                let raw = std::fs::read_to_string(f.path()).ok()?;
                let mail = mailparse::parse_mail(raw.as_bytes()).ok()?;
                let text =
                    mail.subparts.iter().find(|p| p.ctype.mimetype == "text/plain")?.get_body().ok()?;
                (raw.contains(to) && text.contains(path)).then(|| crate::web::link_path(&text, path))
            })
        })
        .await
    }

    /// Stops the process (SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        self.running.take();
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.mail_dir);
        let _ = std::fs::remove_file(&self.log_path);
    }
}

#[sqlx::test(migrations = false)]
async fn the_customer_simulator_shows_a_reply_in_the_inbox_within_seconds(pool: PgPool) {
    // Arrange: the dev process on free ports.
    let mut dev = Dev::start(&pool).await;
    let (addr, moyasar) = (dev.addr, dev.moyasar);

    // Act: the demo login, then a customer message through the simulator.
    let b = Browser::new(addr);
    let signed_in = b.sign_in("demo@mujibak.test", "sandbox-demo-lantern").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/sandbox/simulator").await.status, StatusCode::OK);
    let started = Instant::now();
    let sent = b
        .post("/sandbox/simulator", &[("phone", "966512345678"), ("name", "نورة"), ("text", "متى تفتحون؟")])
        .await;
    assert_eq!((sent.status, sent.location()), (StatusCode::SEE_OTHER, "/inbox"));

    // Assert: the reply is in the thread within seconds.
    let id: String =
        crate::helpers::eventually(Duration::from_secs(15), "the conversation in the inbox", || async {
            let inbox = b.get("/inbox").await;
            let at = inbox.body.find(r#"href="/inbox/"#)? + r#"href="/inbox/"#.len();
            Some(inbox.body[at..].chars().take(36).collect())
        })
        .await;
    let thread =
        crate::helpers::eventually(Duration::from_secs(15), "the bot's reply in the thread", || async {
            let page = b.get(&format!("/inbox/{id}")).await;
            page.body.contains("[رد تجريبي]").then_some(page)
        })
        .await;
    assert!(thread.body.contains("متى تفتحون؟"));
    assert!(thread.body.contains("نفتح يوميًا"), "answered from the demo FAQ");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());

    // Act: a new business, its address confirmed from the mail folder, gets its own
    // sandbox number in one click, switches its bot on and is written to.
    let newcomer = Browser::with_headers(addr, &[("accept-language", "en")]);
    newcomer.sign_up("Huda", "huda@dev.example", "Huda Sweets", "en").await;
    let link = dev.link_in_mail("huda@dev.example", "/verify/").await;
    newcomer.get(&link).await;
    assert_eq!(newcomer.post(&link, &[]).await.status, StatusCode::SEE_OTHER);
    let settings = newcomer.get("/settings/whatsapp").await;
    assert!(settings.body.contains(r#"action="/sandbox/connect""#), "{}", settings.body);
    let connected = newcomer.post("/sandbox/connect", &[]).await;
    assert_eq!((connected.status, connected.location()), (StatusCode::SEE_OTHER, "/settings/whatsapp"));
    let settings = newcomer.get("/settings/whatsapp").await;
    assert!(settings.body.contains("SANDBOX-PN-") && settings.body.contains("sandbox number is connected"));
    // The sandbox Graph API ran Meta's webhook handshake with the connection's verify token.
    assert!(
        settings.body.contains(r#"<li class="done" data-step="webhook">"#),
        "the sandbox did not verify the webhook: {}",
        settings.body
    );
    newcomer.get("/settings/bot").await;
    let bot = [
        ("enabled", "on"),
        ("reply_language", "match"),
        ("knowledge", "Q: Do you deliver?\nA: Yes, across Jeddah for 20 SAR."),
        // The voice note and photo below are transcribed and described.
        ("media_understanding", "on"),
    ];
    assert_eq!(newcomer.post("/settings/bot", &bot).await.status, StatusCode::SEE_OTHER);
    newcomer.get("/sandbox/simulator").await;
    let sent = newcomer
        .post(
            "/sandbox/simulator",
            &[("phone", "966598765432"), ("name", "Salem"), ("text", "Do you deliver?")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);

    // Assert: its own customer, answered from its own FAQ, in its own inbox.
    let id: String =
        crate::helpers::eventually(Duration::from_secs(15), "the newcomer's conversation", || async {
            let inbox = newcomer.get("/inbox").await;
            let at = inbox.body.find(r#"href="/inbox/"#)? + r#"href="/inbox/"#.len();
            Some(inbox.body[at..].chars().take(36).collect())
        })
        .await;
    crate::helpers::eventually(Duration::from_secs(15), "the bot's reply to the newcomer", || async {
        let page = newcomer.get(&format!("/inbox/{id}")).await;
        (page.body.contains("Do you deliver?") && page.body.contains("across Jeddah")).then_some(())
    })
    .await;
    assert!(!b.get("/inbox").await.body.contains("Salem"), "the demo business never sees it");

    // Act + Assert: a voice note, then a photo, from the simulator: each fetched from the
    // sandbox Graph API, transcribed or described, shown in the thread and answered.
    let simulate = |kind: &'static str, text: &'static str| {
        let newcomer = &newcomer;
        async move {
            newcomer.get("/sandbox/simulator").await;
            let form = [("phone", "966598765432"), ("name", "Salem"), ("text", text), ("kind", kind)];
            let sent = newcomer.post("/sandbox/simulator", &form).await;
            assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        }
    };
    simulate("voice_note", "Do you deliver to my street?").await;
    crate::helpers::eventually(
        Duration::from_secs(30),
        "the voice note, transcribed and answered",
        || async {
            let page = newcomer.get(&format!("/inbox/{id}/thread")).await.body;
            let shown =
                page.contains("<audio") && page.contains("Transcript:</span> Do you deliver to my street?");
            (shown && page.matches("across Jeddah").count() == 2).then_some(())
        },
    )
    .await;
    simulate("image", "a cake box with a torn corner").await;
    crate::helpers::eventually(Duration::from_secs(30), "the photo, described and answered", || async {
        let page = newcomer.get(&format!("/inbox/{id}/thread")).await.body;
        let shown = page.contains("<img class=\"msg-media\"")
            && page.contains("Shows:</span> a cake box with a torn corner");
        (shown && page.matches(r#"class="msg msg-out""#).count() == 3).then_some(())
    })
    .await;

    // Act: the newcomer chooses a paid plan and runs this month's invoices from the
    // sandbox's button; the invoice's payment link arrives in the mail folder.
    newcomer.get("/billing").await;
    newcomer.post("/billing/plan", &[("plan", "starter")]).await;
    assert_eq!(newcomer.post("/sandbox/billing/run", &[]).await.status, StatusCode::SEE_OTHER);
    let pay = crate::helpers::eventually(Duration::from_secs(30), "the invoice's payment link", || async {
        let files = std::fs::read_dir(&dev.mail_dir).ok()?;
        files.flatten().find_map(|f| {
            let raw = std::fs::read_to_string(f.path()).ok()?;
            let mail = mailparse::parse_mail(raw.as_bytes()).ok()?;
            let text = mail.subparts.iter().find(|p| p.ctype.mimetype == "text/plain")?.get_body().ok()?;
            let link =
                text.split_whitespace().find(|w| w.contains(&format!("127.0.0.1:{moyasar}/invoices/")))?;
            raw.contains("huda@dev.example").then(|| link.split('?').next().unwrap_or(link).to_owned())
        })
    })
    .await;

    // Act: the owner pays on the sandbox Moyasar's hosted page.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert!(http.get(&pay).send().await.unwrap().text().await.unwrap().contains("113.85 SAR"));
    assert_eq!(http.post(format!("{pay}/pay")).send().await.unwrap().status(), StatusCode::SEE_OTHER);

    // Assert: Moyasar's webhook marked it paid; the billing page shows it.
    crate::helpers::eventually(Duration::from_secs(30), "the invoice paid on the billing page", || async {
        newcomer.get("/billing").await.body.contains(r#"<td class="invoice-status">Paid</td>"#).then_some(())
    })
    .await;

    // Assert: even at debug level the logs hold no message text, number, token or password.
    dev.stop();
    let logs = std::fs::read_to_string(&dev.log_path).unwrap();
    assert!(logs.contains("web listening") && logs.contains("DEBUG"), "the debug log was captured");
    assert!(!logs.contains('\u{1b}'), "a log written to a file carries no terminal colour codes");
    for secret in [
        "متى تفتحون",
        "نفتح يوميًا",
        "966512345678",
        "sandbox-demo-lantern",
        "sandbox-access-token",
        "sandbox-app-secret",
        "نورة",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}
