//! The sub-processor page (`/privacy/processors`, linked from `/privacy`): built from the
//! running configuration, in Arabic and in English, naming the SMTP server and the model
//! server the app really calls, and never a credential from their URLs.

use sqlx::PgPool;

use crate::{
    helpers::{migrated, TestApp},
    web::Browser,
};

/// The Arabic and the English section of the page at `addr`.
async fn sections(addr: std::net::SocketAddr) -> (String, String) {
    let page = Browser::new(addr).get("/privacy/processors").await;
    assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.body);
    let body = page.body.replace("&#x2F;", "/").replace("&#x27;", "'");
    let ar = body.find(r#"class="processors" dir="rtl" lang="ar""#).expect("an Arabic section");
    let en = body.find(r#"class="processors" dir="ltr" lang="en""#).expect("an English section");
    assert!(ar < en, "Arabic first");
    (body[ar..en].to_owned(), body[en..].to_owned())
}

#[sqlx::test(migrations = false)]
async fn the_sub_processor_page_names_the_configured_mail_and_model_servers_in_both_languages(pool: PgPool) {
    // Arrange: a self-chosen model server and an SMTP provider, with credentials in both URLs.
    migrated(&pool).await;
    let chosen = TestApp::new(pool.clone())
        .vars(&[
            ("OPENAI_BASE_URL", "https://modelkey:ModelPass77@llm.models-example.net:8443/v1"),
            ("SMTP_URL", "smtps://mailer-user:SmtpPass99@smtp.mail-example.org:465"),
        ])
        .spawn()
        .await;

    // Act
    let (ar, en) = sections(chosen).await;

    // Assert: both languages name both servers, say the model server is the operator's
    // choice, state the rate-limit pruning, and show no credential.
    for (lang, section, chosen_words, pruned) in [
        ("ar", &ar, "خادم يختاره مشغّل مُجيب", "تُحذف خلال 24 ساعة"),
        ("en", &en, "a server chosen by Mujibak's operator", "deleted within 24 hours"),
    ] {
        assert!(section.contains("llm.models-example.net"), "{lang}: the model host\n{section}");
        assert!(section.contains("smtp.mail-example.org"), "{lang}: the SMTP host\n{section}");
        assert!(section.contains(chosen_words), "{lang}\n{section}");
        assert!(section.contains(pruned), "{lang}: rate-limit addresses\n{section}");
        assert!(!section.contains("OpenAI"), "{lang}: the model server is not OpenAI\n{section}");
        for secret in ["ModelPass77", "modelkey", "SmtpPass99", "mailer-user"] {
            assert!(!section.contains(secret), "{lang}: {secret} shown");
        }
    }

    // Act: the configuration changes: OpenAI itself, another SMTP server, on Heroku.
    let other = TestApp::new(pool.clone())
        .vars(&[("SMTP_URL", "smtp://other-mail.example.com:587"), ("DYNO", "web.1")])
        .spawn()
        .await;
    let (ar, en) = sections(other).await;

    // Assert: the page follows.
    for (lang, section, us) in [("ar", &ar, "الولايات المتحدة"), ("en", &en, "United States")]
    {
        assert!(section.contains("OpenAI") && section.contains("api.openai.com"), "{lang}\n{section}");
        assert!(section.contains(us), "{lang}: where OpenAI runs\n{section}");
        assert!(
            section.contains("other-mail.example.com") && section.contains("Heroku"),
            "{lang}\n{section}"
        );
        assert!(!section.contains("llm.models-example.net") && !section.contains("smtp.mail-example.org"));
    }
    let policy = Browser::new(other).get("/privacy").await.body.replace("&#x2F;", "/");
    assert!(policy.contains(r#"href="/privacy/processors""#), "linked from the policy");
}
