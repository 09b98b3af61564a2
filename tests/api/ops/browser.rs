//! The queues page in a real browser (headless Chromium): it draws its charts and redraws
//! itself from its own JSON when the queues change, without reloading; on a phone
//! (390×844) nothing is wider than the screen. Screenshots: `target/screenshots/`.

use std::time::Duration;

use mujibak_core::db::emails::NewEmail;
use mujibak_queue::db::push as job_push;
use serde_json::json;
use sqlx::PgPool;

use super::token;
use crate::{
    browser::Chrome,
    pipeline::{Options, Pipeline},
};

fn save(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[sqlx::test(migrations = false)]
async fn the_queues_page_redraws_itself_with_charts_and_fits_a_phone(pool: PgPool) {
    // Arrange: the app, a staff token, a browser signed in to the console.
    let p = Pipeline::start_opts(pool.clone(), "owner@browser.example", "PN-BRO", Options::default()).await;
    let token = token(&pool, "browser", "ops:read").await;
    let chrome = Chrome::start(1366, 900).await;
    chrome.goto(&format!("http://{}/ops/signin", p.addr)).await;
    chrome
        .eval(
            "document.getElementById('token').value = arguments[0]; document.querySelector('form').submit();",
            json!([token]),
        )
        .await;
    chrome
        .until(
            "the queues page",
            "return location.pathname === '/ops/queues' && document.readyState === 'complete'",
        )
        .await;

    // The script drew every queue's two charts (60 and 24 bars) from the page's JSON.
    chrome.until("the first refresh", "return document.getElementById('queues').dataset.refreshed").await;
    let bars = chrome
        .eval(
            "return [...document.querySelectorAll('[data-chart]')].map(f => f.querySelectorAll('svg rect').length)",
            json!([]),
        )
        .await;
    let bars: Vec<u64> = bars.as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    assert!(bars.len() >= 16 && bars.chunks(2).all(|c| c == [60, 24]), "{bars:?}");

    // Act: a job is scheduled and another is dead, while the page stays open.
    chrome.eval("window.notReloaded = true", json!([])).await;
    let mut tx = pool.begin().await.unwrap();
    let email = NewEmail {
        email_id: mujibak_core::domain::EmailId::new(),
        tenant_id: None,
        kind: "browser_test".into(),
        to_address: "later@browser.example".into(),
        subject: "Later".into(),
        body_text: "Later".into(),
        body_html: "<p>Later</p>".into(),
    };
    mujibak_core::db::emails::insert(&mut tx, &email).await.unwrap();
    let later = mujibak_jobs::send_email::SendEmail { email_id: email.email_id };
    mujibak_jobs::enqueue_in(&mut tx, &later, Duration::from_secs(3600)).await.unwrap();
    let garbage = job_push::NewJob {
        id: "browser-dead".into(),
        payload: b"x".to_vec(),
        max_attempts: 1,
        tenant: None,
        run_at: None,
    };
    job_push::push(&mut tx, "send_email", &[garbage]).await.unwrap();
    tx.commit().await.unwrap();

    // Assert: the counts change on the page by themselves, and it was not reloaded.
    let card = "document.querySelector('[data-queue=\"send_email\"]')";
    chrome
        .until(
            "the page to show the scheduled and the dead job",
            &format!(
                "const c = {card}; return c.querySelector('[data-k=scheduled]').textContent === '1' \
                 && c.querySelector('[data-k=dead]').textContent === '1' \
                 && c.querySelector('[data-k=dead]').classList.contains('bad')"
            ),
        )
        .await;
    assert_eq!(chrome.eval("return window.notReloaded === true", json!([])).await, json!(true));
    save("ops-queues-desktop.png", &chrome.screenshot().await);

    // On a phone: nothing wider than the screen, the cards one under another.
    chrome.resize(390, 844).await;
    let fit = chrome
        .eval(
            "const w = document.documentElement.clientWidth; \
             const cards = [...document.querySelectorAll('.queue')]; \
             return { page: document.documentElement.scrollWidth, width: w, \
                      widest: Math.max(...cards.map(c => c.getBoundingClientRect().right)), \
                      stacked: cards[1].getBoundingClientRect().top > cards[0].getBoundingClientRect().bottom - 1, \
                      overflowing: [...document.querySelectorAll('body *')] \
                        .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.scroll')) \
                        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id) }",
            json!([]),
        )
        .await;
    let width = fit["width"].as_f64().unwrap();
    assert!(width <= 400.0, "{fit}");
    assert!(fit["page"].as_f64().unwrap() <= width, "the page scrolls sideways on a phone: {fit}");
    assert!(fit["widest"].as_f64().unwrap() <= width, "a card is wider than the phone: {fit}");
    assert_eq!(fit["stacked"], true, "{fit}");
    assert_eq!(fit["overflowing"], json!([]), "elements reach past the phone's edge: {fit}");
    save("ops-queues-phone.png", &chrome.screenshot().await);
    chrome.quit().await;
}
