//! The inbox in a real browser (headless Chromium), on `mujibak dev` as a newcomer runs it:
//! sign up, confirm the address from the sandbox's mail, connect a sandbox number, and
//! watch customers' messages arrive in the open inbox without reloading; a customer asking
//! for a person is flagged live; the owner replies and the customer gets it; in Arabic the
//! page is right-to-left and fits a phone. Screenshots: `target/screenshots/` (those in
//! docs/screenshots come from here).

use serde_json::json;
use sqlx::PgPool;

use crate::{browser::Chrome, dev_mode::Dev, web::Browser};

fn save(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// Fills the form holding field `first` with `values` (name → value) and submits it.
const FILL_AND_SUBMIT: &str = "const [values] = arguments; \
    const form = document.querySelector(`[name=\"${Object.keys(values)[0]}\"]`).form; \
    for (const [k, v] of Object.entries(values)) { \
      const f = form.elements[k]; if (f.type === 'checkbox') f.checked = v === 'on'; else f.value = v; } \
    form.submit();";

#[sqlx::test(migrations = false)]
async fn a_team_watches_its_inbox_live_takes_over_from_the_bot_and_reads_it_in_arabic(pool: PgPool) {
    // Arrange: `mujibak dev`, a desktop browser.
    let dev = Dev::start(&pool).await;
    let base = format!("http://{}", dev.addr);
    let chrome = Chrome::start(1366, 900).await;
    let loaded =
        |path: &str| format!("return location.pathname === '{path}' && document.readyState === 'complete'");

    // Sign up in English ("check your email"), confirm the address from the mail folder,
    // then sign in.
    chrome.goto(&format!("{base}/signup")).await;
    let me = json!({ "name": "Huda", "email": "huda@live.example", "business_name": "Huda Perfumes",
                     "password": crate::web::PASSWORD, "locale": "en" });
    chrome.eval(FILL_AND_SUBMIT, json!([me])).await;
    chrome.until("the sign-in page", &loaded("/signin")).await;
    chrome
        .until("told to check the email", "return document.body.innerText.includes('Check your email')")
        .await;
    let verify = dev.link_in_mail("huda@live.example", "/verify/").await;
    chrome.goto(&format!("{base}{verify}")).await;
    chrome.eval("document.querySelector('main form.stack').submit()", json!([])).await;
    chrome.until("the address confirmed", &loaded("/signin")).await;
    let credentials = json!({ "email": "huda@live.example", "password": crate::web::PASSWORD });
    chrome.eval(FILL_AND_SUBMIT, json!([credentials])).await;
    chrome.until("the dashboard", &loaded("/dashboard")).await;

    // Connect a sandbox number in one click; switch the bot on with an FAQ.
    chrome.goto(&format!("{base}/settings/whatsapp")).await;
    chrome.eval("document.getElementById('sandbox-connect').click()", json!([])).await;
    chrome.until("the number connected", "return document.body.innerText.includes('SANDBOX-PN-')").await;
    chrome.goto(&format!("{base}/settings/bot")).await;
    let bot =
        json!({ "enabled": "on", "knowledge": "Q: Do you deliver?\nA: Yes, across Riyadh for 25 SAR." });
    chrome.eval(FILL_AND_SUBMIT, json!([bot])).await;
    chrome.until("the bot saved", &loaded("/settings/bot")).await;
    // The inbox is open and live; the customer simulator is another tab (a plain client).
    chrome.goto(&format!("{base}/inbox")).await;
    chrome.until("the live inbox", "return document.documentElement.dataset.live === 'on'").await;
    chrome.eval("window.notReloaded = true", json!([])).await;
    let simulator = Browser::with_headers(dev.addr, &[("accept-language", "en")]);
    simulator.sign_in("huda@live.example", crate::web::PASSWORD).await;
    let customer_writes = |text: &'static str| {
        let simulator = &simulator;
        async move {
            simulator.get("/sandbox/simulator").await;
            let sent = simulator
                .post("/sandbox/simulator", &[("phone", "966551234567"), ("name", "Reem"), ("text", text)])
                .await;
            assert_eq!(sent.status, reqwest::StatusCode::SEE_OTHER, "{}", sent.body);
        }
    };

    // Act: a customer writes.
    customer_writes("Do you deliver?").await;

    // Assert: the conversation appears, unread, without a reload.
    chrome
        .until(
            "the conversation to appear in the open list",
            "return document.querySelector('#inbox-live tr.unread bdi')?.textContent === 'Reem'",
        )
        .await;
    assert_eq!(chrome.eval("return window.notReloaded === true", json!([])).await, json!(true));
    assert_eq!(
        chrome.eval("return document.getElementById('unread-count').textContent", json!([])).await,
        json!("1")
    );

    // Act: open it; the bot's answer is there (or arrives), the reply box in view.
    chrome.eval("document.querySelector('#inbox-live tr a').click()", json!([])).await;
    chrome
        .until(
            "the bot's answer in the thread",
            "return document.getElementById('thread')?.innerText.includes('25 SAR')",
        )
        .await;
    chrome.eval("window.notReloaded = true", json!([])).await;
    let reply_box_visible = "const r = document.getElementById('reply').getBoundingClientRect(); \
        return r.top >= 0 && r.bottom <= window.innerHeight + 1";
    assert_eq!(chrome.eval(reply_box_visible, json!([])).await, json!(true));

    // Act: the owner turns the sound alert on (a real click); the customer asks for a
    // person, in Gulf Arabic.
    chrome.eval("document.getElementById('sound-alerts').click()", json!([])).await;
    customer_writes("أبغى أكلم موظف").await;

    // Assert: the thread shows it and why the bot stopped, announced, without a reload.
    chrome
        .until(
            "the hand-off in the open thread",
            "return document.getElementById('thread').innerText.includes('The customer asked for a person')",
        )
        .await;
    chrome
        .until(
            "the new message announced to screen readers",
            "return document.getElementById('announce').textContent.includes('أبغى أكلم موظف')",
        )
        .await;
    assert_eq!(chrome.eval("return window.notReloaded === true", json!([])).await, json!(true));
    chrome.until("the opted-in sound alert", "return window.mujibakAlerts >= 1").await;
    assert_eq!(
        chrome.eval("return localStorage.getItem('mujibak.sound')", json!([])).await,
        json!("on"),
        "the choice is remembered"
    );

    // Act: the owner takes over and replies.
    let reply = json!({ "text": "Hello Reem, I am Huda. How can I help?" });
    chrome.eval(FILL_AND_SUBMIT, json!([reply])).await;

    // Assert: sent to the customer (Meta's fake accepted it), shown with its tick.
    chrome
        .until(
            "the reply sent",
            "return [...document.querySelectorAll('.msg-out')].some(m => m.innerText.includes('I am Huda') \
               && /sent|delivered|read/.test(m.querySelector('.ticks')?.title))",
        )
        .await;
    let sent: String = sqlx::query_scalar("select status from messages where author = 'human'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(["sent", "delivered", "read"].contains(&sent.as_str()), "{sent}");
    chrome.goto(&format!("{base}/dashboard")).await;
    chrome.until("the dashboard", &loaded("/dashboard")).await;
    let labels = chrome.eval(CHART_LABELS, json!([])).await;
    assert!(
        labels["count"].as_u64().unwrap() >= 2 && labels["cut"] == json!([]),
        "dates cut at the chart's edge: {labels}"
    );
    save("dashboard-desktop-en.png", &chrome.screenshot().await);
    chrome.goto(&format!("{base}/inbox")).await;
    chrome.until("the inbox", "return document.documentElement.dataset.live === 'on'").await;

    // Act: switch to Arabic; on a phone.
    chrome.eval("document.querySelector('form.lang-switch').submit()", json!([])).await;
    chrome.until("Arabic", "return document.documentElement.lang === 'ar'").await;

    // Assert: right-to-left; the Arabic inbox on a phone.
    assert_eq!(chrome.eval("return document.documentElement.dir", json!([])).await, json!("rtl"));
    chrome.resize(390, 844).await;
    chrome.goto(&format!("{base}/inbox")).await;
    chrome.until("the Arabic inbox", "return document.documentElement.dataset.live === 'on'").await;
    save("inbox-phone-ar.png", &chrome.screenshot().await);

    // Assert: on a phone the menu is one button, conversations are cards with their date on
    // one line, and nothing is wider than the screen.
    let phone = chrome.eval(PHONE_FACTS, json!([])).await;
    assert!(phone["page"].as_f64() <= phone["width"].as_f64(), "the page scrolls sideways: {phone}");
    assert!(phone["bar"].as_f64().unwrap() < 80.0, "the menu takes rows: {phone}");
    assert_eq!(
        (&phone["card"], &phone["dateLines"], &phone["nav"]),
        (&json!("block"), &json!(1), &json!(false))
    );
    chrome.eval("document.querySelector('.menu-button').click()", json!([])).await;
    chrome.until("the menu to open", "return document.getElementById('main-nav').offsetHeight > 100").await;

    // Assert: the thread on a phone, in dark mode: readable bubbles, the reply box in view.
    chrome.prefer_dark().await;
    chrome.eval("document.querySelector('#inbox-live tr a').click()", json!([])).await;
    chrome.until("the thread", "return !!document.getElementById('thread')").await;
    let contrast = chrome.eval(CONTRAST, json!([])).await;
    assert!(contrast["dark"] == json!(true), "dark mode is on: {contrast}");
    for side in ["in", "out"] {
        assert!(
            contrast[side].as_f64().unwrap() >= 4.5,
            "{side} bubbles are hard to read in dark mode: {contrast}"
        );
    }
    assert_eq!(chrome.eval(reply_box_visible, json!([])).await, json!(true));
    assert!(chrome.eval(PHONE_FACTS, json!([])).await["page"].as_f64().unwrap() <= 390.0);
    let tall = "return document.documentElement.scrollHeight > window.innerHeight + 50";
    assert_eq!(
        chrome.eval(tall, json!([])).await,
        json!(true),
        "the page fits the screen: nothing to scroll"
    );
    chrome.until("the thread to open at its newest message, above the reply box", NEWEST_IN_VIEW).await;
    save("thread-phone-dark-ar.png", &chrome.screenshot().await);
    chrome.quit().await;
}

/// The dashboard chart's date labels, and those that stick out of the chart (cut).
const CHART_LABELS: &str =
    "const svg = document.querySelector('svg.chart'), box = svg.getBoundingClientRect(); \
    const texts = [...svg.querySelectorAll('text.axis')]; \
    return { count: texts.length, cut: texts.filter(t => { const r = t.getBoundingClientRect(); \
      return r.left < box.left - 0.5 || r.right > box.right + 0.5; }).map(t => t.textContent) };";

/// The thread's newest message is on screen, not under the (sticky) reply box.
const NEWEST_IN_VIEW: &str = "const all = document.querySelectorAll('#thread .msg'); \
    const last = all[all.length - 1].getBoundingClientRect(); \
    return last.bottom > 0 && last.bottom <= document.getElementById('reply').getBoundingClientRect().top + 1;";

/// Width of the screen and of the page, the top bar's height, how an inbox row is shown,
/// on how many lines its date is, and whether the menu is open.
const PHONE_FACTS: &str = "const row = document.querySelector('#inbox-live tbody tr'); \
    return { width: document.documentElement.clientWidth, page: document.documentElement.scrollWidth, \
      bar: document.querySelector('.topbar').getBoundingClientRect().height, \
      card: row && getComputedStyle(row).display, \
      dateLines: row && Math.round(row.querySelector('time').getBoundingClientRect().height \
        / parseFloat(getComputedStyle(row.querySelector('time')).lineHeight)), \
      nav: document.getElementById('main-nav').offsetHeight > 0 }";

/// The WCAG contrast of text on the customer's and the team's bubbles.
const CONTRAST: &str = "const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => { \
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); \
      return 0.2126 * r + 0.7152 * g + 0.0722 * b; }; \
    const ratio = e => { const s = getComputedStyle(e); const [a, b] = [lum(s.color), lum(s.backgroundColor)]; \
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }; \
    return { dark: matchMedia('(prefers-color-scheme: dark)').matches, \
      in: ratio(document.querySelector('.msg-in')), out: ratio(document.querySelector('.msg-out')) }";
