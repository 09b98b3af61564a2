//! A real browser for page tests: headless Chromium driven over the W3C WebDriver protocol
//! (plain HTTP + JSON to `chromedriver`, no client crate). `scripts/test` installs Debian's
//! `chromium` and `chromium-driver`; without them these tests fail and say so.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

use crate::helpers::free_port;

/// A Chromium session; the driver process dies with it.
pub struct Chrome {
    driver: Child,
    base: String,
    http: reqwest::Client,
}

impl Chrome {
    /// Starts chromedriver and a headless Chromium with a `width`×`height` window.
    pub async fn start(width: u32, height: u32) -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: run scripts/test, or apt-get install chromium chromium-driver");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let root = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{root}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "args": args, "binary": "/usr/bin/chromium" }
        }}});
        let created: Value =
            http.post(format!("{root}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        let chrome = Self { driver, base: format!("{root}/session/{id}"), http };
        chrome.resize(width, height).await;
        chrome
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let answer: Value = req.send().await.unwrap().json().await.unwrap();
        if answer["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({ "width": width, "height": height })))
            .await;
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args })))
            .await
    }

    /// Evaluates `script` until it returns something truthy (20 s at most).
    pub async fn until(&self, what: &str, script: &str) -> Value {
        for _ in 0..200 {
            let v = self.eval(script, json!([])).await;
            if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Makes the page prefer the dark colour scheme, as a phone in dark mode does.
    pub async fn prefer_dark(&self) {
        let dark = json!({ "cmd": "Emulation.setEmulatedMedia",
                           "params": { "features": [{ "name": "prefers-color-scheme", "value": "dark" }] } });
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(dark)).await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap()
    }
}

impl Chrome {
    /// Closes the browser, then the driver.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
