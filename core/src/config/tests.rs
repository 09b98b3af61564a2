//! Configuration parsing: defaults, names in errors, secrets kept out of `Debug`.
use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn missing_database_url_is_named() {
    let err = config(&[("PORT", "9000")]).unwrap_err();
    assert!(matches!(err, ConfigError::Missing { name: "DATABASE_URL", .. }));
    assert!(err.to_string().contains("DATABASE_URL is not set"));
}

#[test]
fn malformed_port_is_named_with_its_value() {
    let err = config(&[("DATABASE_URL", "postgres://x"), ("PORT", "80a")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration error: PORT is malformed: invalid digit found in string (got \"80a\")"
    );
}

#[test]
fn defaults_apply_and_base_url_follows_port() {
    let c = config(&[("DATABASE_URL", "postgres://u:pw@h/db"), ("PORT", "9001")]).unwrap();
    assert_eq!(c.http.port, 9001);
    assert_eq!(c.http.base_url, "http://localhost:9001");
    assert_eq!(c.database.max_connections, 20);
    assert_eq!(c.queue.retention, Duration::from_secs(168 * 3600));
    assert_eq!(c.queue.inbound_retention, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.database.url.expose_secret(), "postgres://u:pw@h/db");
}

#[test]
fn debug_output_never_shows_the_database_password() {
    let c = config(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn smtp_url_must_be_an_smtp_url_and_stays_secret() {
    let err = config(&[("DATABASE_URL", "postgres://x"), ("SMTP_URL", "http://x")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "SMTP_URL", .. }));
    let c = config(&[("DATABASE_URL", "postgres://x"), ("SMTP_URL", "smtp://u:s3cret@h:25")]).unwrap();
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn unknown_log_format_is_rejected() {
    let err = config(&[("DATABASE_URL", "postgres://x"), ("LOG_FORMAT", "xml")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "LOG_FORMAT", .. }));
}

#[test]
fn graph_timeout_and_reconcile_window_default_to_15_s_and_2_min() {
    let c = config(&[("DATABASE_URL", "postgres://x")]).unwrap();
    assert_eq!(c.whatsapp.timeout, Duration::from_secs(15));
    assert_eq!(c.whatsapp.reconcile_after, Duration::from_secs(120));
    let c = config(&[
        ("DATABASE_URL", "postgres://x"),
        ("WHATSAPP_TIMEOUT_SECS", "1"),
        ("SEND_RECONCILE_SECS", "3"),
    ])
    .unwrap();
    assert_eq!(
        (c.whatsapp.timeout, c.whatsapp.reconcile_after),
        (Duration::from_secs(1), Duration::from_secs(3))
    );
    let err = config(&[("DATABASE_URL", "postgres://x"), ("WHATSAPP_TIMEOUT_SECS", "0")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "WHATSAPP_TIMEOUT_SECS", .. }));
}

#[test]
fn the_model_list_defaults_to_the_default_model_and_always_holds_it() {
    let c = config(&[("DATABASE_URL", "postgres://x")]).unwrap();
    assert_eq!(c.ai.models, vec!["gpt-4o-mini".to_owned()]);
    let c = config(&[
        ("DATABASE_URL", "postgres://x"),
        ("OPENAI_MODEL", "llama3.1"),
        ("OPENAI_MODELS", "qwen2.5, ,llama3.1,qwen2.5"),
    ])
    .unwrap();
    assert_eq!(c.ai.models, vec!["llama3.1".to_owned(), "qwen2.5".to_owned()]);
}

#[test]
fn voice_notes_and_photos_are_understood_by_default_and_each_can_be_switched_off() {
    let base = [("DATABASE_URL", "postgres://x")];
    let c = config(&base).unwrap();
    assert_eq!(c.ai.transcribe_model.as_deref(), Some("whisper-1"));
    assert_eq!(c.ai.vision_model.as_deref(), Some("gpt-4o-mini"), "the reply model sees images");
    assert_eq!(c.whatsapp.media_max_bytes, 16 * 1024 * 1024);
    let c = config(&[
        ("DATABASE_URL", "postgres://x"),
        ("OPENAI_TRANSCRIBE_MODEL", "off"),
        ("OPENAI_VISION_MODEL", "OFF"),
        ("MEDIA_MAX_MB", "2"),
    ])
    .unwrap();
    assert_eq!((c.ai.transcribe_model, c.ai.vision_model), (None, None));
    assert_eq!(c.whatsapp.media_max_bytes, 2 * 1024 * 1024);
    let c = config(&[("DATABASE_URL", "postgres://x"), ("OPENAI_VISION_MODEL", ""), ("OPENAI_MODEL", "m1")])
        .unwrap();
    assert_eq!(c.ai.vision_model.as_deref(), Some("m1"), "empty is the default");
    let err = config(&[("DATABASE_URL", "postgres://x"), ("MEDIA_MAX_MB", "0")]).unwrap_err();
    assert!(err.to_string().contains("MEDIA_MAX_MB"), "{err}");
}

#[test]
fn raw_webhook_events_are_kept_at_least_as_long_as_meta_redelivers() {
    let short = config(&[("DATABASE_URL", "postgres://h/db"), ("INBOUND_RETENTION_DAYS", "7")]).unwrap_err();
    assert!(short.to_string().contains("INBOUND_RETENTION_DAYS"), "{short}");
    let c = config(&[("DATABASE_URL", "postgres://h/db"), ("INBOUND_RETENTION_DAYS", "8")]).unwrap();
    assert_eq!(c.queue.inbound_retention, Duration::from_secs(8 * 24 * 3600));
}

#[test]
fn readyz_queue_age_defaults_to_five_minutes_and_is_never_zero() {
    let c = config(&[("DATABASE_URL", "postgres://x")]).unwrap();
    assert_eq!(c.ops.readyz_max_queue_age, Duration::from_secs(300));
    let err = config(&[("DATABASE_URL", "postgres://x"), ("READYZ_MAX_QUEUE_AGE_SECS", "0")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "READYZ_MAX_QUEUE_AGE_SECS", .. }));
}

#[test]
fn deletion_grace_defaults_to_a_week_and_stays_within_the_thirty_day_promise() {
    let c = config(&[("DATABASE_URL", "postgres://h/db")]).unwrap();
    assert_eq!(c.privacy.deletion_grace, chrono::Duration::days(7));
    let zero = config(&[("DATABASE_URL", "postgres://h/db"), ("DELETION_GRACE_DAYS", "0")]).unwrap();
    assert_eq!(zero.privacy.deletion_grace, chrono::Duration::zero());
    let max = config(&[("DATABASE_URL", "postgres://h/db"), ("DELETION_GRACE_DAYS", "29")]).unwrap();
    assert_eq!(max.privacy.deletion_grace, chrono::Duration::days(29));
    let long = config(&[("DATABASE_URL", "postgres://h/db"), ("DELETION_GRACE_DAYS", "30")]).unwrap_err();
    assert!(long.to_string().contains("DELETION_GRACE_DAYS"), "{long}");
    let negative = config(&[("DATABASE_URL", "postgres://h/db"), ("DELETION_GRACE_DAYS", "-1")]).unwrap_err();
    assert!(negative.to_string().contains("DELETION_GRACE_DAYS"), "{negative}");
}

#[test]
fn the_seller_is_all_three_variables_or_none_with_a_saudi_vat_number() {
    let db = ("DATABASE_URL", "postgres://x");
    assert!(config(&[db]).unwrap().seller.is_none(), "none: no invoices");
    let full = [
        db,
        ("SELLER_NAME", "مُجيب للتقنية"),
        ("SELLER_VAT_NUMBER", "300000000000003"),
        ("SELLER_ADDRESS", "Riyadh"),
    ];
    let seller = config(&full).unwrap().seller.unwrap();
    assert_eq!((seller.name.as_str(), seller.vat_number.as_str()), ("مُجيب للتقنية", "300000000000003"));
    let partial = config(&[db, ("SELLER_NAME", "Mujibak")]).unwrap_err();
    assert!(partial.to_string().contains("together"), "{partial}");
    for bad in ["30000000000000", "400000000000003", "300000000000004", "3000000000000o3"] {
        let vars = [db, ("SELLER_NAME", "M"), ("SELLER_VAT_NUMBER", bad), ("SELLER_ADDRESS", "Riyadh")];
        let err = config(&vars).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "SELLER_VAT_NUMBER", .. }), "{bad}: {err}");
    }
}

#[test]
fn moyasar_needs_a_secret_key_and_a_webhook_secret_and_the_key_sets_the_mode() {
    let db = ("DATABASE_URL", "postgres://x");
    let none = config(&[db]).unwrap().billing;
    assert!(none.moyasar.is_none(), "unset: invoices carry no payment link");
    assert_eq!((none.remind_after_days, none.suspend_after_days), (3, 14));
    let secret = ("MOYASAR_WEBHOOK_SECRET", "a-webhook-secret-of-24ch");
    let test = config(&[db, ("MOYASAR_SECRET_KEY", "sk_test_abc"), secret]).unwrap().billing.moyasar.unwrap();
    assert!(!test.live);
    assert_eq!(test.api_url, "https://api.moyasar.com/v1");
    assert_eq!(test.secret_key.expose_secret(), "sk_test_abc");
    assert!(!format!("{test:?}").contains("sk_test_abc"), "the key never shows in Debug");
    let live = config(&[db, ("MOYASAR_SECRET_KEY", "sk_live_abc"), secret]).unwrap().billing.moyasar.unwrap();
    assert!(live.live);
    let publishable = config(&[db, ("MOYASAR_SECRET_KEY", "pk_test_abc"), secret]).unwrap_err();
    assert!(matches!(publishable, ConfigError::Invalid { name: "MOYASAR_SECRET_KEY", .. }));
    let no_secret = config(&[db, ("MOYASAR_SECRET_KEY", "sk_test_abc")]).unwrap_err();
    assert!(matches!(no_secret, ConfigError::Missing { name: "MOYASAR_WEBHOOK_SECRET", .. }));
    let short = config(&[db, ("MOYASAR_SECRET_KEY", "sk_test_abc"), ("MOYASAR_WEBHOOK_SECRET", "short")]);
    assert!(matches!(short.unwrap_err(), ConfigError::Invalid { name: "MOYASAR_WEBHOOK_SECRET", .. }));
    let backwards = config(&[db, ("BILLING_REMIND_AFTER_DAYS", "10"), ("BILLING_SUSPEND_AFTER_DAYS", "7")]);
    assert!(matches!(
        backwards.unwrap_err(),
        ConfigError::Invalid { name: "BILLING_SUSPEND_AFTER_DAYS", .. }
    ));
}

#[test]
fn web_and_worker_refuse_a_base_url_that_is_not_https_saying_why() {
    let role_config = |base: &str, allow: &str| {
        config(&[
            ("DATABASE_URL", "postgres://x"),
            ("ENCRYPTION_KEYS", "test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
            ("SMTP_URL", "smtp://127.0.0.1:25"),
            ("BASE_URL", base),
            ("ALLOW_LOOPBACK_HTTP", allow),
        ])
        .unwrap()
    };
    for role in [Role::Web, Role::Worker] {
        let err = role_config("http://app.mujibak.example", "").require(role).unwrap_err();
        assert!(matches!(err, ConfigError::Refused { name: "BASE_URL", .. }), "{role:?}: {err}");
        let line = err.to_string();
        assert!(line.contains("BASE_URL is refused") && line.contains("https://"), "{role:?}: {line}");
        assert!(line.contains("unencrypted") && line.contains("http://app.mujibak.example"), "{line}");
        assert!(role_config("https://app.mujibak.example", "").require(role).is_ok(), "{role:?}: https");
        // This machine's own address only with ALLOW_LOOPBACK_HTTP, never another host.
        let local = role_config("http://127.0.0.1:8080", "").require(role).unwrap_err();
        assert!(local.to_string().contains("BASE_URL is refused"), "{role:?}: {local}");
        for base in ["http://127.0.0.1:8080", "http://localhost:3000/", "http://[::1]:8080"] {
            assert!(role_config(base, "true").require(role).is_ok(), "{role:?}: {base}");
        }
        for base in ["http://app.mujibak.example", "http://10.0.0.5:8080", "http://localhost.evil.example"] {
            let err = role_config(base, "true").require(role).unwrap_err();
            assert!(err.to_string().contains("only on localhost"), "{role:?} {base}: {err}");
        }
    }
    assert!(
        role_config("http://app.mujibak.example", "").require(Role::Migrate).is_ok(),
        "migrate serves no one"
    );
}
