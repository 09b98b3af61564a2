//! Hostile text in every field of every route of the table (the ops console's as staff) (each POST form field, each GET
//! query field): markup, template syntax, a NUL byte, bidi controls and a 100 KB string (in
//! a query, 60 KB: a URL holds no more than 64 KB).
//! Each is escaped or refused, never a 500: a NUL is refused (400/422, or the link's 410),
//! 100 KB is within the body limit and never a 413, markup never comes back unescaped, on
//! the answer or on the pages that show what was saved.

use mujibak::web::routes::{Access, ROUTES};
use reqwest::StatusCode;
use sqlx::PgPool;

use super::{form, World};
use crate::web::{Browser, Page};

const MARKUP: &str = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
const RAW: [&str; 2] = ["<script>alert(1)", "<img src=x"];

fn payloads() -> Vec<(&'static str, String)> {
    vec![
        ("markup", MARKUP.to_owned()),
        ("template syntax", "{{ 7*7 }}{% if true %}x{% endif %}{# c #}".to_owned()),
        ("a NUL byte", "a\u{0}b".to_owned()),
        ("bidi controls", "\u{202E}txt.exe\u{2066}x\u{2069}".to_owned()),
        ("100 KB", "x".repeat(100 * 1024)),
    ]
}

fn assert_safe(what: &str, page: &Page) {
    assert_ne!(page.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}: 500");
    for raw in RAW {
        assert!(!page.body.contains(raw), "{what}: markup came back unescaped");
    }
}

/// Fields that name one of the business's things by id: an id that names nothing is
/// refused as not found.
const ID_FIELDS: [&str; 1] = ["user"];
/// Credentials: a wrong one is refused as unauthorised (the ops console's sign-in).
const CREDENTIAL_FIELDS: [&str; 1] = ["token"];

/// The probe reached the handler, which kept the text (200, 303) or refused it (400, 422;
/// a link route's 410; 414 for a URL too long; 404 for an id field): never an answer that
/// skipped the field (401, 403, another 404, or a rate limit's 429: each probe starts with
/// the limits cleared).
fn assert_refused_or_kept(what: &str, field: &str, kind: &str, page: &Page, wrong: &mut Vec<String>) {
    let status = page.status.as_u16();
    let not_found = status == 404 && ID_FIELDS.contains(&field);
    let unauthorised = status == 401 && CREDENTIAL_FIELDS.contains(&field);
    if !([200, 303, 400, 410, 414, 422].contains(&status) || not_found || unauthorised) {
        wrong.push(format!("{what}: {status}"));
    }
    if kind == "a NUL byte" {
        assert!([400, 410, 422].contains(&status), "{what}: a NUL was not refused ({status})");
    }
    if kind == "100 KB" {
        assert_ne!(status, 413, "{what}: 100 KB is within the body limit");
    }
}

/// Forgets every rate limit's count and makes tenant B (which the console's tenant actions
/// act on) active again, so a probe is never refused for the probes before it.
async fn clear_limits(w: &World) {
    sqlx::query("delete from rate_limits").execute(&w.p.pool).await.unwrap();
    let b: uuid::Uuid = w.ids.other_tenant.parse().unwrap();
    for sql in [
        "update tenants set suspended_at = null, suspended_reason = null where tenant_id = $1",
        "delete from deletion_requests where tenant_id = $1",
    ] {
        sqlx::query(sql).bind(b).execute(&w.p.pool).await.unwrap();
    }
}

#[sqlx::test(migrations = false)]
async fn hostile_text_in_every_field_is_escaped_or_refused_never_a_500(pool: PgPool) {
    let w = World::start(pool).await;
    let mut ip = 10u32;
    let mut fresh = || {
        ip += 1;
        Browser::from_ip(
            w.p.addr,
            &format!("127.0.{}.{}", ip / 250, 2 + ip % 250),
            &[("accept-language", "en")],
        )
    };
    let mut probes = 0;
    let mut wrong = Vec::new();

    // Every field of every form.
    for route in ROUTES.iter().filter(|r| r.methods.contains(&"POST") && r.access != Access::Webhook) {
        for field in route.fields {
            for (kind, payload) in payloads() {
                let what = format!("POST {} {field}={kind}", route.path);
                let mut fields = form(route.path, route.fields);
                fields.iter_mut().filter(|(k, _)| k == field).for_each(|(_, v)| *v = payload.clone());
                let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let signed_out = matches!(route.access, Access::Public | Access::Link);
                let anonymous = fresh();
                let browser = if route.access.is_staff() {
                    &w.staff
                } else if signed_out {
                    &anonymous
                } else {
                    &w.p.owner
                };
                if !signed_out && !route.access.is_staff() {
                    browser.get("/dashboard").await;
                }
                clear_limits(&w).await;
                let page = browser.post(&w.url(route.path), &pairs).await;
                assert_safe(&what, &page);
                assert_refused_or_kept(&what, field, kind, &page, &mut wrong);
                if page.status == StatusCode::SEE_OTHER && page.location().starts_with('/') {
                    assert_safe(&format!("{what}, then {}", page.location()), &browser.follow(&page).await);
                }
                probes += 1;
            }
        }
    }

    // Every query field of the pages that read one, and `next` of the sign-in page.
    let mut queries: Vec<(&str, &str, Access)> = ROUTES
        .iter()
        .filter(|r| r.methods == ["GET"])
        .flat_map(|r| r.fields.iter().map(move |f| (r.path, *f, r.access)))
        .collect();
    queries.push(("/signin", "next", Access::Public));
    queries.push(("/ops/signin", "next", Access::StaffSignIn));
    for (path, field, access) in queries {
        for (kind, payload) in payloads() {
            let what = format!("GET {path}?{field}={kind}");
            let payload: String = payload.chars().take(60 * 1024).collect();
            let value: String = form_urlencoded::byte_serialize(payload.as_bytes()).collect();
            let anonymous = fresh();
            let browser = match access {
                Access::Public | Access::StaffSignIn => &anonymous,
                a if a.is_staff() => &w.staff,
                _ => &w.p.owner,
            };
            clear_limits(&w).await;
            let page = browser.get(&format!("{}?{field}={value}", w.url(path))).await;
            assert_safe(&what, &page);
            assert_refused_or_kept(&what, field, kind, &page, &mut wrong);
            probes += 1;
        }
    }

    // What was saved shows escaped wherever it shows.
    let thread = format!("/inbox/{}", w.conversation);
    for path in
        ["/dashboard", "/profile", "/team", "/settings/bot", "/settings/whatsapp", "/inbox", thread.as_str()]
    {
        let page = w.p.owner.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_safe(path, &page);
    }
    assert!(probes > 200, "only {probes} probes");
    assert!(wrong.is_empty(), "probes that never reached their field: {wrong:#?}");
}
