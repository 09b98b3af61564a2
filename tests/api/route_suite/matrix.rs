//! Every route × {anonymous, another tenant's owner (with tenant A's real ids: its
//! conversation, knowledge entry, quick reply, export, photo, invoice, incident), tenant A's
//! agent, tenant A's owner} → the answer the table below expects, POSTs sent with the route's
//! sample form. Methods a route does not list are answered 405. Every answer, error pages
//! included, carries the security headers and sets no cookie but the necessary ones.

use mujibak::web::routes::ROUTES;
use reqwest::StatusCode;
use sqlx::PgPool;

use super::{form, World};
use crate::web::{Browser, Page};

/// An expected answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Is(u16),
    /// A redirect to sign in, coming back here.
    SignIn,
}
use Want::{Is, SignIn as S};

const ALL_200: [Want; 4] = [Is(200); 4];
const GONE: [Want; 4] = [Is(410); 4];
/// A signed-in page of any role, naming tenant A's ids.
const A_ONLY: [Want; 4] = [S, Is(404), Is(200), Is(200)];
/// An owner's page (B's owner sees B's own).
const OWNER_PAGE: [Want; 4] = [S, Is(200), Is(403), Is(200)];

/// An ops console page without staff credentials (and not a browser's page load, which
/// goes to the console's sign-in: tests/api/ops/console.rs).
const STAFF_PAGE: [Want; 4] = [Is(401); 4];
/// An ops action without staff credentials.
const STAFF_ACTION: [Want; 4] = [Is(401); 4];

/// (method, route, [anonymous, other tenant, agent, owner]).
const EXPECT: &[(&str, &str, [Want; 4])] = &[
    ("GET", "/healthz", ALL_200),
    ("GET", "/readyz", ALL_200),
    // A session never opens it: only the bearer token (route_suite::World configures one).
    ("GET", "/static/app.css", ALL_200),
    ("GET", "/static/inbox.js", ALL_200),
    ("GET", "/static/copy.js", ALL_200),
    ("GET", "/webhooks/whatsapp/{key}", [Is(403); 4]),
    ("POST", "/webhooks/whatsapp/{key}", [Is(401); 4]),
    // A form is not a Moyasar event or invoice (a wrong secret token: tests/api/billing/payments.rs).
    ("POST", "/webhooks/moyasar", [Is(400); 4]),
    ("POST", "/webhooks/moyasar/invoice", [Is(400); 4]),
    ("GET", "/", [Is(200), Is(303), Is(303), Is(303)]),
    ("GET", "/privacy", ALL_200),
    ("GET", "/privacy/processors", ALL_200),
    ("POST", "/lang", [Is(303); 4]),
    ("GET", "/signup", ALL_200),
    ("POST", "/signup", [Is(422); 4]),
    ("GET", "/signin", ALL_200),
    ("POST", "/signin", [Is(422); 4]),
    ("GET", "/forgot", ALL_200),
    ("POST", "/forgot", [Is(303); 4]),
    ("GET", "/reset/{token}", GONE),
    ("POST", "/reset/{token}", GONE),
    ("GET", "/verify/{token}", GONE),
    ("POST", "/verify/{token}", GONE),
    ("GET", "/profile/email/{token}", GONE),
    ("POST", "/profile/email/{token}", GONE),
    ("GET", "/profile/email/revert/{token}", GONE),
    ("POST", "/profile/email/revert/{token}", GONE),
    ("GET", "/invite/{token}", GONE),
    ("POST", "/invite/{token}", GONE),
    ("GET", "/dashboard", [S, Is(200), Is(200), Is(200)]),
    ("POST", "/verify/resend", [S, Is(303), Is(303), Is(303)]),
    ("GET", "/profile", [S, Is(200), Is(200), Is(200)]),
    ("POST", "/profile", [S, Is(303), Is(303), Is(303)]),
    ("GET", "/password", [S, Is(200), Is(200), Is(200)]),
    ("POST", "/password", [S, Is(422), Is(422), Is(422)]),
    ("GET", "/inbox", [S, Is(200), Is(200), Is(200)]),
    ("GET", "/inbox/rows", [S, Is(200), Is(200), Is(200)]),
    // An event stream of the caller's own business (tests/api/live_inbox.rs).
    ("GET", "/inbox/events", [S, Is(200), Is(200), Is(200)]),
    ("GET", "/inbox/{id}", A_ONLY),
    ("GET", "/inbox/{id}/thread", A_ONLY),
    // No such file (tests/api/media.rs serves one, and refuses it to another business).
    ("GET", "/inbox/{id}/media/{message}", [S, Is(404), Is(200), Is(200)]),
    ("POST", "/inbox/{id}/pause", [S, Is(404), Is(303), Is(303)]),
    ("POST", "/inbox/{id}/resume", [S, Is(404), Is(303), Is(303)]),
    ("POST", "/inbox/{id}/reply", [S, Is(404), Is(303), Is(303)]),
    ("GET", "/inbox/{id}/template", A_ONLY),
    ("POST", "/inbox/{id}/template", [S, Is(404), Is(303), Is(303)]),
    ("POST", "/inbox/{id}/assign", [S, Is(404), Is(303), Is(303)]),
    ("POST", "/inbox/{id}/notes", [S, Is(404), Is(303), Is(303)]),
    ("POST", "/inbox/{id}/labels", [S, Is(404), Is(303), Is(303)]),
    // Owners only; the sample reason is empty, so nothing is erased (tests/api/customer_data.rs).
    ("POST", "/inbox/{id}/export", [S, Is(404), Is(403), Is(303)]),
    ("GET", "/inbox/{id}/erase", [S, Is(404), Is(403), Is(200)]),
    ("POST", "/inbox/{id}/erase", [S, Is(404), Is(403), Is(303)]),
    // No incident has this id (the suite's is unknown): a notice only its tenants can read.
    ("GET", "/incidents/{incident}", [S, Is(404), Is(200), Is(200)]),
    // The sample password is wrong: nothing is deleted (a pending deletion's pages send
    // an owner without one to the dashboard).
    ("GET", "/account/delete", OWNER_PAGE),
    ("POST", "/account/delete", [S, Is(422), Is(403), Is(422)]),
    ("GET", "/account/deletion", [S, Is(303), Is(403), Is(303)]),
    ("POST", "/account/deletion/cancel", [S, Is(303), Is(403), Is(303)]),
    ("GET", "/account/export", OWNER_PAGE),
    ("POST", "/account/export", [S, Is(303), Is(403), Is(303)]),
    // Asked for, not built yet: gone (the page says to ask again).
    ("GET", "/account/export/{export}/download", [S, Is(404), Is(403), Is(410)]),
    ("GET", "/billing", OWNER_PAGE),
    ("POST", "/billing/plan", [S, Is(303), Is(403), Is(303)]),
    // A's issued invoice (tests/api/billing/invoice_page.rs reads what it shows).
    ("GET", "/billing/invoices/{invoice}", [S, Is(404), Is(403), Is(200)]),
    ("GET", "/billing/invoices/{invoice}/pdf", [S, Is(404), Is(403), Is(200)]),
    ("GET", "/team", OWNER_PAGE),
    ("POST", "/team/invite", [S, Is(303), Is(403), Is(303)]),
    ("GET", "/settings/whatsapp", OWNER_PAGE),
    ("POST", "/settings/whatsapp", [S, Is(422), Is(403), Is(422)]),
    ("POST", "/settings/whatsapp/check", [S, Is(404), Is(403), Is(303)]),
    ("POST", "/settings/whatsapp/token", [S, Is(404), Is(403), Is(303)]),
    ("GET", "/settings/bot", OWNER_PAGE),
    ("POST", "/settings/bot", [S, Is(303), Is(403), Is(303)]),
    ("POST", "/settings/bot/try", [S, Is(200), Is(403), Is(200)]),
    ("GET", "/settings/knowledge", OWNER_PAGE),
    ("POST", "/settings/knowledge/faq", [S, Is(303), Is(403), Is(303)]),
    ("POST", "/settings/knowledge/documents", [S, Is(303), Is(403), Is(303)]),
    ("POST", "/settings/knowledge/{id}/delete", [S, Is(404), Is(403), Is(303)]),
    ("GET", "/settings/replies", OWNER_PAGE),
    ("POST", "/settings/replies", [S, Is(303), Is(403), Is(303)]),
    // `{id}` is A's saved answer here (its knowledge entry above).
    ("POST", "/settings/replies/{id}/delete", [S, Is(404), Is(403), Is(303)]),
    ("GET", "/sandbox/simulator", OWNER_PAGE),
    ("POST", "/sandbox/simulator", [S, Is(404), Is(403), Is(303)]),
    ("POST", "/sandbox/billing/run", [S, Is(303), Is(403), Is(303)]),
    // The ops console is for staff credentials only (tests/api/ops checks every scope).
    ("GET", "/static/ops.js", ALL_200),
    ("GET", "/ops/signin", ALL_200),
    ("POST", "/ops/signin", [Is(401); 4]),
    ("POST", "/ops/signout", [Is(303); 4]),
    ("GET", "/ops", STAFF_PAGE),
    ("GET", "/ops/queues", STAFF_PAGE),
    ("GET", "/ops/jobs", STAFF_PAGE),
    ("GET", "/ops/jobs/{job}", STAFF_PAGE),
    ("POST", "/ops/jobs/{job}/retry", STAFF_ACTION),
    ("POST", "/ops/jobs/{job}/cancel", STAFF_ACTION),
    ("POST", "/ops/jobs/{job}/discard", STAFF_ACTION),
    ("GET", "/ops/deliveries", STAFF_PAGE),
    ("POST", "/ops/deliveries/{tenant}/{event}/reprocess", STAFF_ACTION),
    ("POST", "/ops/deliveries/{tenant}/{event}/handled", STAFF_ACTION),
    ("GET", "/ops/tenants", STAFF_PAGE),
    ("GET", "/ops/tenants/{tenant}", STAFF_PAGE),
    ("GET", "/ops/tenants/{tenant}/conversations", STAFF_PAGE),
    ("GET", "/ops/tenants/{tenant}/conversations/{id}", STAFF_PAGE),
    ("POST", "/ops/tenants/{tenant}/suspend", STAFF_ACTION),
    ("POST", "/ops/tenants/{tenant}/unsuspend", STAFF_ACTION),
    ("POST", "/ops/tenants/{tenant}/delete", STAFF_ACTION),
    ("GET", "/ops/incidents", STAFF_PAGE),
    ("POST", "/ops/incidents", STAFF_ACTION),
    ("GET", "/ops/incidents/new", STAFF_PAGE),
    ("GET", "/ops/incidents/{incident}", STAFF_PAGE),
    ("POST", "/ops/incidents/{incident}/notify", STAFF_ACTION),
    ("GET", "/ops/audit", STAFF_PAGE),
    ("GET", "/metrics", STAFF_PAGE),
    ("GET", "/team/{user_id}/remove", [S, Is(404), Is(403), Is(200)]),
    ("GET", "/settings/whatsapp/disconnect", [S, Is(404), Is(403), Is(200)]),
    // No open invitation to the sample address: told so, nothing changes.
    ("POST", "/team/invitations/revoke", [S, Is(303), Is(403), Is(303)]),
    // These end something the routes above need: they run last, in this order.
    ("POST", "/team/{user_id}/remove", [S, Is(404), Is(403), Is(303)]),
    ("POST", "/settings/whatsapp/disconnect", [S, Is(404), Is(403), Is(303)]),
    // B gets a sandbox number of its own, A one again after its disconnect.
    ("POST", "/sandbox/connect", [S, Is(303), Is(403), Is(303)]),
    ("POST", "/signout", [Is(303); 4]),
];

async fn request(w: &World, b: &Browser, method: &str, path: &str) -> Page {
    let spec = mujibak::web::routes::spec(path).unwrap();
    let url = w.url(path);
    let fields = form(path, spec.fields);
    if method == "GET" {
        let query = if spec.methods == ["GET"] {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.extend_pairs(&fields);
            format!("?{}", q.finish())
        } else {
            String::new()
        };
        return b.get(&format!("{url}{query}")).await;
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(&url, &pairs).await
}

fn check(who: &str, method: &str, path: &str, want: Want, page: &Page) {
    // Whatever the answer, error pages included: the security headers, and no cookie but
    // the strictly necessary ones (the session, the language, the ops console's session).
    crate::security::assert_security_headers(&format!("{who} {method} {path}"), &page.headers, false);
    for cookie in page.headers.get_all(reqwest::header::SET_COOKIE) {
        let cookie = cookie.to_str().unwrap();
        let name = cookie.split('=').next().unwrap();
        assert!(
            ["mujibak_session", "lang", "mujibak_ops"].contains(&name),
            "{who} {method} {path}: an unexpected cookie {cookie}"
        );
        assert!(cookie.contains("; HttpOnly"), "{who} {method} {path}: {cookie}");
    }
    match want {
        Is(code) => assert_eq!(page.status.as_u16(), code, "{who} {method} {path}: {}", page.location()),
        S => {
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{who} {method} {path}");
            assert!(
                page.location().starts_with("/signin?next="),
                "{who} {method} {path}: {}",
                page.location()
            );
        }
    }
}

#[sqlx::test(migrations = false)]
async fn every_route_answers_each_kind_of_visitor_as_the_table_says(pool: PgPool) {
    let w = World::start(pool).await;

    // Every (method, route) of the router's table has an expectation, and only those.
    let listed: Vec<(&str, &str)> =
        ROUTES.iter().flat_map(|r| r.methods.iter().map(move |m| (*m, r.path))).collect();
    for pair in &listed {
        assert!(EXPECT.iter().any(|(m, p, _)| (m, p) == (&pair.0, &pair.1)), "no expectation for {pair:?}");
    }
    for (m, p, _) in EXPECT {
        assert!(listed.contains(&(*m, *p)), "{m} {p} is not in web::routes::ROUTES");
    }

    // Methods a route does not list (asked by someone the route is for: the ops console
    // answers 401 before anything else to a caller without staff credentials).
    for route in ROUTES {
        let caller = if route.access.is_staff() { &w.staff } else { &w.p.owner };
        for method in ["GET", "POST"].into_iter().filter(|m| !route.methods.contains(m)) {
            let page = if method == "GET" {
                caller.get(&w.url(route.path)).await
            } else {
                caller.post(&w.url(route.path), &[]).await
            };
            assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {}", route.path);
        }
    }

    let actors = [
        ("anonymous", &w.anonymous),
        ("another tenant", &w.other),
        ("agent", &w.agent),
        ("owner", &w.p.owner),
    ];
    for (i, (who, browser)) in actors.into_iter().enumerate() {
        for (method, path, wants) in EXPECT {
            let page = request(&w, browser, method, path).await;
            check(who, method, path, wants[i], &page);
        }
    }
}
