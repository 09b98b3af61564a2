//! CSRF on every state-changing route of the table: without a token, with another
//! session's token, and with the right token from a foreign `Origin`, each POST is refused
//! with 403 and changes nothing. (Webhooks are not browser forms: they need Meta's
//! signature instead, which `matrix` checks; the ops console's own CSRF and credentials
//! are checked in `ops`.)

use mujibak::web::routes::{Access, ROUTES};
use reqwest::StatusCode;
use sqlx::PgPool;

use super::{form, World};
use crate::web::Browser;

/// A digest of what the POSTs could have changed.
async fn state_of(w: &World) -> String {
    let sql = "select concat_ws('|',
        (select string_agg(email || name || coalesce(email_verified_at::text, ''), ',' order by email) from users),
        (select string_agg(business_name, ',' order by business_name) from tenants),
        (select count(*) from user_tokens), (select count(*) from emails), (select count(*) from sessions),
        (select string_agg(status || coalesce(unlinked_at::text, ''), ',') from whatsapp_connections),
        (select string_agg(enabled::text || description || model, ',') from bot_settings),
        (select count(*) from messages), (select string_agg(bot_paused::text, ',') from conversations))";
    sqlx::query_scalar(sql).fetch_one(&w.p.pool).await.unwrap()
}

/// (why, who posts, the form, extra headers).
type Case<'a> = (&'a str, &'a Browser, Vec<(&'a str, &'a str)>, &'a [(&'a str, &'a str)]);

fn with<'a>(plain: &[(&'a str, &'a str)], token: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut pairs = plain.to_vec();
    pairs.push(("csrf_token", token));
    pairs
}

#[sqlx::test(migrations = false)]
async fn every_state_changing_route_refuses_a_missing_foreign_or_cross_origin_token(pool: PgPool) {
    // Arrange: the world, settled (the bot's reply to tenant A's customer is sent).
    let w = World::start(pool).await;
    w.p.sends(1).await;
    w.other.get("/dashboard").await;
    let others_token = w.other.csrf().expect("B's page carries its token");
    w.p.owner.get("/dashboard").await;
    let own_token = w.p.owner.csrf().unwrap();
    let before = state_of(&w).await;

    // Act + Assert: each POST route, four ways.
    let mut checked = 0;
    let routes: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.methods.contains(&"POST") && r.access != Access::Webhook && !r.access.is_staff())
        .collect();
    for route in &routes {
        let url = w.url(route.path);
        let fields = form(route.path, route.fields);
        let plain: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let cases: [Case; 4] = [
            ("no token", &w.p.owner, plain.clone(), &[]),
            ("another session's token", &w.p.owner, with(&plain, &others_token), &[]),
            (
                "its own token from a foreign Origin",
                &w.p.owner,
                with(&plain, &own_token),
                &[("origin", "http://evil.example")],
            ),
            ("no token, signed out", &w.anonymous, plain.clone(), &[]),
        ];
        for (why, browser, pairs, headers) in cases {
            let page = browser.post_raw_with(&url, &pairs, headers).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "POST {} with {why}", route.path);
            checked += 1;
        }
    }

    assert_eq!(checked, 4 * routes.len());
    assert!(routes.len() > 20, "the table lists {} state-changing routes", routes.len());
    assert_eq!(state_of(&w).await, before, "a refused request changed something");
    assert_eq!(w.p.owner.get("/dashboard").await.status, StatusCode::OK, "the owner is still signed in");
}
