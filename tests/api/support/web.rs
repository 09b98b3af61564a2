//! A browser stand-in for the HTTP tests: keeps cookies, does not follow redirects (tests
//! assert them), remembers the CSRF token of the last page and every `Set-Cookie` seen.

use std::{net::SocketAddr, sync::Mutex, time::Duration};

use mujibak_core::{clients::smtp::Mailer, config::MailConfig};
use mujibak_devtools::sandbox::mail::MailSink;
use mujibak_jobs::{send_email::SendEmail, JobContext};
use reqwest::{header, redirect::Policy, Response, StatusCode};
use sqlx::PgPool;

use crate::helpers::{eventually, fast_options, job_context, TestWorker};

pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    csrf: Mutex<Option<String>>,
    /// Every `Set-Cookie` header received, in order.
    pub set_cookies: Mutex<Vec<String>>,
}

/// A response read once: status, headers, body.
pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        Self::with_headers(addr, &[])
    }

    /// A browser sending `headers` on every request (e.g. `Accept-Language`).
    pub fn with_headers(addr: SocketAddr, headers: &[(&'static str, &str)]) -> Self {
        Self::at(&format!("http://{addr}"), headers)
    }

    /// A browser on another machine: its connections come from `ip` (any 127.x.y.z reaches
    /// the loopback server), so the server sees another client address.
    pub fn from_ip(addr: SocketAddr, ip: &str, headers: &[(&'static str, &str)]) -> Self {
        Self::build(&format!("http://{addr}"), headers, Some(ip.parse().unwrap()))
    }

    /// A browser that opens the app at `base` (e.g. `http://localhost:8080`).
    pub fn at(base: &str, headers: &[(&'static str, &str)]) -> Self {
        Self::build(base, headers, None)
    }

    fn build(base: &str, headers: &[(&'static str, &str)], local: Option<std::net::IpAddr>) -> Self {
        let mut defaults = header::HeaderMap::new();
        for (k, v) in headers {
            defaults.insert(*k, v.parse().unwrap());
        }
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .default_headers(defaults)
            .timeout(Duration::from_secs(20))
            .local_address(local)
            .build()
            .unwrap();
        Self { base: base.to_owned(), client, csrf: Mutex::new(None), set_cookies: Mutex::default() }
    }

    async fn read(&self, response: Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for c in headers.get_all(header::SET_COOKIE) {
            self.set_cookies.lock().unwrap().push(c.to_str().unwrap().to_owned());
        }
        // An event stream never ends: its status and headers are the page.
        let streaming =
            headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = if streaming { String::new() } else { response.text().await.unwrap() };
        if let Some(token) = csrf_in(&body) {
            *self.csrf.lock().unwrap() = Some(token);
        }
        Page { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        self.read(response).await
    }

    /// A response whose body is still to come (an event stream).
    pub async fn open(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .unwrap()
    }

    /// As [`Self::open`], for a request the server may refuse by closing the connection.
    pub async fn try_open(&self, path: &str) -> reqwest::Result<Response> {
        self.client.get(format!("{}{path}", self.base)).timeout(Duration::from_secs(3600)).send().await
    }

    /// A download: status, headers and the body's bytes.
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, header::HeaderMap, Vec<u8>) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// The CSRF token of the last page seen.
    pub fn csrf(&self) -> Option<String> {
        self.csrf.lock().unwrap().clone()
    }

    /// POSTs a form with the CSRF token of the last page seen (fetching `/` if none).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        if self.csrf.lock().unwrap().is_none() {
            self.get("/signin").await;
        }
        let token = self.csrf.lock().unwrap().clone().unwrap();
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.post_raw(path, &form).await
    }

    /// POSTs exactly `fields` (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_raw_with(path, fields, &[]).await
    }

    /// POSTs exactly `fields`, with `headers` on this request only.
    pub async fn post_raw_with(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(fields);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.read(request.send().await.unwrap()).await
    }

    /// Follows a redirect by hand.
    pub async fn follow(&self, page: &Page) -> Page {
        assert!(page.status.is_redirection(), "expected a redirect, got {}", page.status);
        self.get(page.location()).await
    }

    pub async fn sign_up(&self, name: &str, email: &str, business: &str, locale: &str) -> Page {
        self.get("/signup").await;
        let page = self
            .post(
                "/signup",
                &[
                    ("name", name),
                    ("email", email),
                    ("business_name", business),
                    ("password", PASSWORD),
                    ("locale", locale),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-up failed: {}", page.body);
        // Sign-up signs no one in (it answers alike for an address with an account).
        assert_eq!(page.location(), "/signin");
        let signed_in = self.sign_in(email, PASSWORD).await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "sign-in after sign-up failed: {}",
            signed_in.body
        );
        self.follow(&signed_in).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.get("/signin").await;
        self.post("/signin", &[("email", email), ("password", password)]).await
    }
}

/// The password test accounts use.
pub const PASSWORD: &str = "camel-lantern-harbor-41";

fn csrf_in(body: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}

/// The mail sink, and a `SendEmail` worker delivering to it over real SMTP.
pub struct Mailbox {
    pub sink: MailSink,
    _worker: TestWorker,
}

impl Mailbox {
    pub async fn start(pool: &PgPool) -> Self {
        let sink = MailSink::start("127.0.0.1:0", None).await.unwrap();
        let config = MailConfig {
            smtp_url: Some(sink.url().into()),
            from: "Mujibak <no-reply@mujibak.test>".into(),
            support_address: "support@mujibak.test".into(),
        };
        let ctx = JobContext { mailer: Some(Mailer::new(&config).unwrap()), ..job_context(pool) };
        Self { sink, _worker: TestWorker::start_with::<SendEmail>(&ctx, &fast_options()) }
    }

    /// Waits for an email to `to` whose text holds `needle`; returns (subject, text body).
    pub async fn to(&self, to: &str, needle: &str) -> (String, String) {
        mail_to(&self.sink, to, needle).await
    }
}

/// (recipient, subject, text body) of a received message.
pub fn read_mail(mail: &mujibak_devtools::sandbox::mail::ReceivedMail) -> (String, String, String) {
    let parsed = mailparse::parse_mail(mail.raw.as_bytes()).unwrap();
    let subject =
        mailparse::MailHeaderMap::get_first_value(parsed.headers.as_slice(), "Subject").unwrap_or_default();
    let text = parsed
        .subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .map(|p| p.get_body().unwrap())
        .unwrap_or_else(|| parsed.get_body().unwrap());
    (mail.to.join(","), subject, text)
}

/// Waits for the newest email at `sink` to `to` whose text holds `needle`: (subject, text).
pub async fn mail_to(sink: &MailSink, to: &str, needle: &str) -> (String, String) {
    eventually(Duration::from_secs(15), &format!("an email to {to} with {needle}"), || async {
        sink.messages()
            .iter()
            .rev()
            .map(read_mail)
            .find(|(t, _, text)| t == to && text.contains(needle))
            .map(|(_, subject, text)| (subject, text))
    })
    .await
}

/// Confirms `to`'s address from the link emailed at sign-up, in browser `b`.
pub async fn verify_email(b: &Browser, sink: &MailSink, to: &str) {
    let (_, text) = mail_to(sink, to, "/verify/").await;
    let link = link_path(&text, "/verify/");
    b.get(&link).await;
    let done = b.post(&link, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "confirming {to}: {}", done.body);
}

/// The first `http…` link in `text` that contains `path`, as a path on our server.
pub fn link_path(text: &str, path: &str) -> String {
    let start = text.find(path).unwrap_or_else(|| panic!("no {path} link in: {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}
