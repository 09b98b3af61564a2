//! `next=` after sign-in and the language switch: a browser drops tabs, newlines and
//! carriage returns from a URL (and treats `\` as `/`), so a `next` is judged by where a
//! browser would really go. Known bypasses never leave the site and never give a 500.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app},
    web::{Browser, Page, PASSWORD},
};

/// Open-redirect bypasses (after form/query decoding: `%09` arrives as a tab).
const BYPASSES: [&str; 16] = [
    "/\t/evil.example/phish",
    "/\t\\evil.example",
    "/\\\tevil.example",
    "\t//evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\x0b/evil.example",
    "/\x7f/evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\/evil.example",
    " //evil.example",
    "https://evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "/\u{0}/evil.example",
];

/// Where a browser goes with this `Location`: the WHATWG URL parser (which the `url` crate
/// implements) strips tabs and newlines and resolves against the page's address.
fn browser_target(base: &str, page: &Page) -> Option<url::Url> {
    let raw = page.headers.get("location")?;
    let location = String::from_utf8_lossy(raw.as_bytes()).into_owned();
    url::Url::parse(base).unwrap().join(&location).ok()
}

fn assert_stays(base: &str, what: &str, page: &Page) {
    assert_ne!(page.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}: 500");
    assert!(
        page.status.is_redirection() || page.status == StatusCode::BAD_REQUEST,
        "{what}: {}",
        page.status
    );
    if page.status.is_redirection() {
        let target = browser_target(base, page).unwrap_or_else(|| panic!("{what}: no Location"));
        let ours = url::Url::parse(base).unwrap();
        assert_eq!(target.host_str(), ours.host_str(), "{what}: a browser lands on {target}");
        assert_eq!(target.scheme(), ours.scheme(), "{what}: a browser lands on {target}");
    }
}

#[sqlx::test(migrations = false)]
async fn next_bypasses_never_leave_the_site_and_never_give_a_500(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    let base = format!("http://{addr}/signin");
    Browser::new(addr).sign_up("Badr", "badr@example.sa", "Badr Shop", "en").await;

    for next in BYPASSES {
        // The sign-in form keeps a `next` only if it is one of our paths.
        let b = Browser::new(addr);
        let query: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let form = b.get(&format!("/signin?next={query}")).await;
        assert!(
            matches!(form.status, StatusCode::OK | StatusCode::BAD_REQUEST),
            "GET {next:?}: {}",
            form.status
        );
        assert!(!form.body.contains("evil.example"), "GET {next:?}: the form carries it on");

        // Signing in with it, and switching language with it.
        b.get("/signin").await;
        let signed_in =
            b.post("/signin", &[("email", "badr@example.sa"), ("password", PASSWORD), ("next", next)]).await;
        assert_stays(&base, &format!("sign-in with {next:?}"), &signed_in);
        let switched = b.post("/lang", &[("lang", "ar"), ("next", next)]).await;
        assert_stays(&base, &format!("/lang with {next:?}"), &switched);
    }
    let b = Browser::new(addr);
    b.get("/signin").await;
    let ours = b
        .post("/signin", &[("email", "badr@example.sa"), ("password", PASSWORD), ("next", "/inbox?q=a b")])
        .await;
    assert_eq!(browser_target(&base, &ours).unwrap().as_str(), format!("http://{addr}/inbox?q=a%20b"));
}
