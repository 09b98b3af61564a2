//! What the tests share, and only that: `helpers` (a migrated database, a web process
//! (`TestApp`), a worker, waiting for a condition), `web` (a browser-like HTTP client with
//! cookies and CSRF, and the mail sink's links), `pipeline` (a business with a connected
//! sandbox number, the fakes and a worker: deliver a webhook, read what was sent) and
//! `browser` (a real headless Chromium through chromedriver).

pub mod browser;
pub mod helpers;
pub mod pipeline;
pub mod web;
