//! Breach notification end to end: staff record an incident and notify through the ops
//! API (a real token), the real `notify_breach` worker mails every affected user once over
//! real SMTP (the sandbox sink, which refuses one recipient twice), in the user's
//! language; a second "notify" sends nothing new. Who sees an incident: `access`.

mod access;

use std::time::Duration;

use mujibak_core::{clients::smtp::Mailer, config::MailConfig, domain::TenantId};
use mujibak_devtools::sandbox::mail::MailSink;
use mujibak_jobs::{notify_breach::NotifyBreach, JobContext};
use reqwest::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    helpers::{eventually, fast_options, job_context, spawn_app, TestWorker},
    ops::{audited, token, Api},
    web::read_mail,
};

const AR: &str = "تسرّب عناوين البريد من نسخة احتياطية";
const EN: &str = "Email addresses leaked from a backup";

/// The app, the sink, and a staff API client with incidents:write.
struct World {
    pool: PgPool,
    addr: std::net::SocketAddr,
    sink: MailSink,
    api: Api,
    ctx: JobContext,
}

impl World {
    async fn start(pool: PgPool) -> Self {
        let pool = crate::helpers::sized_pool(&pool, 20).await;
        let sink = MailSink::start("127.0.0.1:0", None).await.unwrap();
        let config = MailConfig {
            smtp_url: Some(sink.url().into()),
            from: "Mujibak <no-reply@mujibak.test>".into(),
            support_address: "support@mujibak.test".into(),
        };
        let ctx = JobContext { mailer: Some(Mailer::new(&config).unwrap()), ..job_context(&pool) };
        let addr = spawn_app(pool.clone()).await;
        let api = Api::new(addr, Some(&token(&pool, "incident-lead", "incidents:write").await));
        Self { pool, addr, sink, api, ctx }
    }

    fn worker(&self) -> TestWorker {
        TestWorker::start_with::<NotifyBreach>(&self.ctx, &fast_options())
    }

    /// A tenant with `users` (address, locale); the first is its owner.
    async fn tenant(&self, users: &[(&str, &str)]) -> TenantId {
        let id = TenantId::new();
        sqlx::query("insert into tenants (tenant_id, business_name) values ($1, 'Business')")
            .bind(id)
            .execute(&self.pool)
            .await
            .unwrap();
        for (i, (email, locale)) in users.iter().enumerate() {
            sqlx::query(
                "insert into users (tenant_id, user_id, name, email, password_hash, role, locale)
                 values ($1, $2, 'Person', $3, '!', $4, $5)",
            )
            .bind(id)
            .bind(Uuid::new_v4())
            .bind(email)
            .bind(if i == 0 { "owner" } else { "agent" })
            .bind(locale)
            .execute(&self.pool)
            .await
            .unwrap();
        }
        id
    }

    /// Records an incident affecting `tenants` (all when empty) through the API.
    async fn record(&self, tenants: &[TenantId]) -> String {
        let list: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
        let list = list.join("\n");
        let affects = if tenants.is_empty() { "all" } else { "list" };
        let fields = [
            ("title", "Backup bucket exposed"),
            ("description_ar", AR),
            ("description_en", EN),
            ("detected_at", "2026-11-30T09:00:00Z"),
            ("affects", affects),
            ("tenants", list.as_str()),
        ];
        let answer = self.api.post("/ops/incidents", &fields).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()["incident_id"].as_str().unwrap().to_owned()
    }

    /// POSTs "notify affected users"; returns how many it queued.
    async fn notify(&self, incident: &str) -> u64 {
        let answer = self.api.post(&format!("/ops/incidents/{incident}/notify"), &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()["queued"].as_u64().unwrap()
    }

    /// Waits until no notification of `incident` is queued; returns (status, attempts) by address.
    async fn settled(&self, incident: &str) -> Vec<(String, String, i32)> {
        eventually(Duration::from_secs(60), "every notification to settle", || async {
            let rows: Vec<(String, String, i32)> = sqlx::query_as(
                "select u.email, n.status, n.attempts from incident_notifications n
                   join users u using (user_id) where n.incident_id = $1::uuid order by u.email",
            )
            .bind(incident)
            .fetch_all(&self.pool)
            .await
            .unwrap();
            rows.iter().all(|(_, s, _)| s != "queued").then_some(rows)
        })
        .await
    }

    /// The messages the sink accepted for `to`: (subject, text).
    fn mails_to(&self, to: &str) -> Vec<(String, String)> {
        self.sink
            .messages()
            .iter()
            .map(read_mail)
            .filter(|(t, _, _)| t == to)
            .map(|(_, s, b)| (s, b))
            .collect()
    }

    async fn jobs(&self) -> i64 {
        sqlx::query_scalar("select count(*) from apalis.jobs where job_type = 'notify_breach'")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

#[sqlx::test(migrations = false)]
async fn a_failing_recipient_is_retried_the_others_get_one_mail_in_their_language_and_a_second_notify_sends_nothing(
    pool: PgPool,
) {
    // Arrange: three affected tenants and one not, users in Arabic and English; the SMTP
    // server refuses one recipient twice (450 at RCPT).
    let w = World::start(pool).await;
    let t1 = w.tenant(&[("ahmad@t1.example", "ar"), ("beth@t1.example", "en")]).await;
    let t2 = w.tenant(&[("carl@t2.example", "en"), ("dana@t2.example", "ar")]).await;
    let t3 = w.tenant(&[("eman@t3.example", "ar")]).await;
    let _unaffected = w.tenant(&[("fahd@t4.example", "ar"), ("gina@t4.example", "en")]).await;
    w.sink.fail_rcpt("carl@t2.example", 2);
    let incident = w.record(&[t1, t2, t3]).await;
    let _worker = w.worker();

    // Act: notify through the API; let the worker finish.
    assert_eq!(w.notify(&incident).await, 5, "one notification per affected user");
    let rows = w.settled(&incident).await;

    // Assert: all sent; the refused one after two retries, the others at their first try.
    let affected =
        ["ahmad@t1.example", "beth@t1.example", "carl@t2.example", "dana@t2.example", "eman@t3.example"];
    let attempts: Vec<(&str, &str, i32)> =
        rows.iter().map(|(e, s, a)| (e.as_str(), s.as_str(), *a)).collect();
    let want: Vec<(&str, &str, i32)> =
        affected.iter().map(|e| (*e, "sent", if *e == "carl@t2.example" { 3 } else { 1 })).collect();
    assert_eq!(attempts, want);
    assert_eq!(w.sink.refused("carl@t2.example"), 2, "the SMTP server refused it twice");
    for (email, locale) in [
        ("ahmad@t1.example", "ar"),
        ("beth@t1.example", "en"),
        ("carl@t2.example", "en"),
        ("dana@t2.example", "ar"),
        ("eman@t3.example", "ar"),
    ] {
        let mails = w.mails_to(email);
        assert_eq!(mails.len(), 1, "{email} gets exactly one mail");
        let (subject, text) = &mails[0];
        let (mine, other) = if locale == "ar" { (AR, EN) } else { (EN, AR) };
        assert!(text.contains(mine) && !text.contains(other), "{email} reads it in {locale}: {text}");
        assert_eq!(subject.contains("Mujibak:"), locale == "en", "{email}'s subject: {subject}");
    }
    for email in ["fahd@t4.example", "gina@t4.example"] {
        assert!(w.mails_to(email).is_empty(), "{email}'s tenant was not affected");
    }
    let sent = w.sink.messages().len();
    assert_eq!(sent, 5);
    assert_eq!(w.jobs().await, 5);

    // Act: "notify" twice more, at once.
    let (a, b) = tokio::join!(w.notify(&incident), w.notify(&incident));

    // Assert: nothing new is queued or sent.
    assert_eq!((a, b), (0, 0), "every affected user was notified already");
    assert_eq!(w.jobs().await, 5, "no job was enqueued");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.sink.messages().len(), sent, "no mail was sent twice");

    // The console shows the progress and the deadline; every staff action is audited.
    let page = w.api.get(&format!("/ops/incidents/{incident}")).await.json();
    assert_eq!(page["progress"], serde_json::json!({ "queued": 0, "sent": 5, "failed": 0, "skipped": 0 }));
    assert_eq!(page["deadline"]["at"], "2026-12-03T09:00:00Z");
    assert!(page["failures"].as_array().unwrap().is_empty());
    assert!(!page.to_string().contains("@t2.example"), "the console never shows an address");
    let recorded = audited(&w.pool, "incident_recorded").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].2["incident"], incident.as_str());
    let notified: Vec<_> =
        audited(&w.pool, "incident_notified").await.into_iter().map(|r| r.2["queued"].clone()).collect();
    assert_eq!(notified.len(), 3);
    assert_eq!(notified.iter().filter_map(|q| q.as_u64()).sum::<u64>(), 5);
    assert!(audited(&w.pool, "incident_notified").await.iter().all(|(kind, _, _)| kind == "staff"));
}

#[sqlx::test(migrations = false)]
async fn an_incident_affecting_all_tenants_skips_purged_ones_and_shows_a_refused_address_as_a_failure(
    pool: PgPool,
) {
    // Arrange: two live tenants (one user's address is unusable) and a purged one.
    let w = World::start(pool).await;
    let _t1 = w.tenant(&[("hala@t1.example", "ar"), ("broken-address", "en")]).await;
    let _t2 = w.tenant(&[("ivan@t2.example", "en")]).await;
    let purged = w.tenant(&[("deleted-1@deleted.invalid", "ar")]).await;
    sqlx::query(
        "insert into deletion_requests (tenant_id, request_id, requested_by_kind, purge_after, completed_at)
         values ($1, gen_random_uuid(), 'system', now(), now())",
    )
    .bind(purged)
    .execute(&w.pool)
    .await
    .unwrap();
    let incident = w.record(&[]).await;
    let _worker = w.worker();

    // Act.
    assert_eq!(w.notify(&incident).await, 3, "every user of the live tenants, none of the purged one");
    let rows = w.settled(&incident).await;

    // Assert: two sent, the unusable address failed at once (not retried), shown by user id.
    let statuses: Vec<(&str, &str, i32)> =
        rows.iter().map(|(e, s, a)| (e.as_str(), s.as_str(), *a)).collect();
    assert_eq!(
        statuses,
        [("broken-address", "failed", 1), ("hala@t1.example", "sent", 1), ("ivan@t2.example", "sent", 1)]
    );
    assert_eq!(w.sink.messages().len(), 2);
    assert!(w.mails_to("deleted-1@deleted.invalid").is_empty());
    let page = w.api.get(&format!("/ops/incidents/{incident}")).await.json();
    assert_eq!(page["progress"]["failed"], 1);
    let failures = page["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert!(failures[0]["last_error"].as_str().unwrap().starts_with("invalid address"), "{failures:?}");
    assert!(!page.to_string().contains("broken-address"), "the console shows the user id, not the address");
    let list = w.api.get("/ops/incidents").await.json();
    assert_eq!(list["incidents"][0]["sent"], 2);
    assert_eq!(list["incidents"][0]["affects_all"], true);
}
