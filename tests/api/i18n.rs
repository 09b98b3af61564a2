//! Arabic and English: every page renders in both, Arabic right-to-left, with no missing
//! catalog key; language follows the user's locale, then the cookie, then Accept-Language.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app},
    web::{Browser, Page},
};

const SIGNED_OUT: [&str; 7] =
    ["/", "/signin", "/signup", "/forgot", "/privacy", "/reset/expired-or-unknown", "/missing"];
const SIGNED_IN: [&str; 7] =
    ["/dashboard", "/profile", "/password", "/team", "/account/delete", "/privacy", "/missing"];

fn assert_language(path: &str, page: &Page, lang: &str) {
    let dir = if lang == "ar" { "rtl" } else { "ltr" };
    assert!(
        page.body.contains(&format!(r#"<html lang="{lang}" dir="{dir}">"#)),
        "{path} is not {lang}/{dir}"
    );
    assert!(page.status != StatusCode::INTERNAL_SERVER_ERROR, "{path} failed to render in {lang}");
    // A key missing from a catalog fails the render; a raw key would show as e.g. "errors.".
    for raw in ["nav.", "errors.", "flash.", "fields."] {
        assert!(!page.body.contains(&format!(">{raw}")), "{path}: untranslated key in {lang}");
    }
}

#[sqlx::test(migrations = false)]
async fn every_page_renders_in_arabic_right_to_left_and_in_english(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    for (lang, other) in [("ar", "en"), ("en", "ar")] {
        let b = Browser::with_headers(addr, &[("accept-language", lang)]);
        for path in SIGNED_OUT {
            assert_language(path, &b.get(path).await, lang);
        }
        b.sign_up("Test", &format!("user-{lang}@example.sa"), "Test Shop", lang).await;
        for path in SIGNED_IN {
            let page = b.get(path).await;
            assert_eq!(page.status != StatusCode::NOT_FOUND, path != "/missing", "{path}");
            assert_language(path, &page, lang);
        }
        // A form error in this language, with what the user typed kept.
        b.get("/profile").await;
        let invalid = b
            .post(
                "/profile",
                &[("name", ""), ("email", "not-an-email"), ("business_name", "Test Shop"), ("locale", lang)],
            )
            .await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            invalid.body.contains(r#"value="not-an-email""#)
                && invalid.body.contains(r#"aria-invalid="true""#)
        );
        assert_language("/profile (invalid)", &invalid, lang);
        // The visible switch turns a signed-in user's pages into the other language.
        let switched = b.post("/lang", &[("lang", other), ("next", "/dashboard")]).await;
        assert_eq!(switched.location(), "/dashboard");
        assert_language("/dashboard (switched)", &b.get("/dashboard").await, other);
    }
}

#[sqlx::test(migrations = false)]
async fn language_follows_the_cookie_over_accept_language_and_defaults_to_arabic(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    assert_language("/", &Browser::new(addr).get("/").await, "ar");
    let b = Browser::with_headers(addr, &[("accept-language", "en-US,en;q=0.9")]);
    assert_language("/", &b.get("/").await, "en");
    b.post("/lang", &[("lang", "ar"), ("next", "/")]).await;
    assert_language("/", &b.get("/").await, "ar");
}

#[sqlx::test(migrations = false)]
async fn the_privacy_policy_is_served_in_both_languages_and_linked_from_every_page(pool: PgPool) {
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    let b = Browser::new(addr);
    let page = b.get("/privacy").await;
    assert!(page.body.contains("Last updated: 2026-04-20"));
    assert!(page.body.contains("We use strictly necessary cookies only"));
    assert!(page.body.contains("سياسة الخصوصية"));
    for path in ["/", "/signin", "/missing"] {
        let page = b.get(path).await;
        assert!(
            page.body.contains(r#"href="/privacy""#) && page.body.contains("mailto:support@mujibak.com"),
            "{path}"
        );
    }
}
