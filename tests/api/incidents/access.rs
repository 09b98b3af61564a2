//! Who sees an incident: the users of the tenants it affected see the banner and read the
//! notice in their language (others get a 404); staff record and notify from the console's
//! pages with its CSRF token; a token without incidents:write opens none of it.

use reqwest::StatusCode;
use sqlx::PgPool;

use super::{World, AR, EN};
use crate::{
    ops::{audited, token, Api},
    web::Browser,
};
use mujibak_core::domain::TenantId;

#[sqlx::test(migrations = false)]
async fn affected_users_see_a_banner_and_the_notice_in_their_language_and_others_do_not(pool: PgPool) {
    // Arrange: two businesses signed up through the app, in Arabic and in English; staff
    // signed in to the console (a session: forms need its CSRF token).
    let w = World::start(pool).await;
    let affected = Browser::with_headers(w.addr, &[("accept-language", "ar")]);
    affected.sign_up("Huda", "huda@a.example", "Affected Co", "ar").await;
    let other = Browser::with_headers(w.addr, &[("accept-language", "en")]);
    other.sign_up("Omar", "omar@b.example", "Other Co", "en").await;
    let tenant: TenantId = sqlx::query_scalar("select tenant_id from users where email = 'huda@a.example'")
        .fetch_one(&w.pool)
        .await
        .unwrap();
    let staff = Browser::new(w.addr);
    let token = token(&w.pool, "console", "ops:read,incidents:write").await;
    assert_eq!(staff.post_raw("/ops/signin", &[("token", &token)]).await.status, StatusCode::SEE_OTHER);
    let form = staff.get("/ops/incidents/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let tenant_text = tenant.to_string();
    let fields = [
        ("title", "Backup bucket exposed"),
        ("description_ar", AR),
        ("description_en", EN),
        ("detected_at", "2026-11-30T12:00"),
        ("affects", "list"),
        ("tenants", tenant_text.as_str()),
    ];
    assert_eq!(
        staff.post_raw("/ops/incidents", &fields).await.status,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    let recorded = staff.post("/ops/incidents", &fields).await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER, "{}", recorded.body);
    let page = staff.follow(&recorded).await;
    let incident = recorded.location().rsplit('/').next().unwrap().to_owned();
    assert!(page.body.contains("2026-12-03 12:00"), "the deadline in Riyadh time: {}", page.body);
    assert!(page.body.contains("overdue by") || page.body.contains(" left"), "{}", page.body);
    let link = format!("/incidents/{incident}");
    assert!(!affected.get("/dashboard").await.body.contains(&link), "no banner before users are notified");

    // Act: notify from the incident's page.
    let notified = staff.post(&format!("/ops/incidents/{incident}/notify"), &[]).await;
    assert_eq!(notified.status, StatusCode::SEE_OTHER);
    assert!(staff.follow(&notified).await.body.contains("Queued"));
    assert!(staff.get("/ops/incidents").await.body.contains("Backup bucket exposed"));

    // Assert: the affected tenant's user sees the banner and reads the notice in Arabic.
    let dashboard = affected.get("/dashboard").await;
    assert!(dashboard.body.contains(&link), "the banner links to the notice");
    let notice = affected.get(&link).await;
    assert_eq!(notice.status, StatusCode::OK);
    assert!(notice.body.contains(AR) && !notice.body.contains(EN));
    // The other business sees no banner and cannot read the notice.
    assert!(!other.get("/dashboard").await.body.contains("/incidents/"));
    assert_eq!(other.get(&link).await.status, StatusCode::NOT_FOUND);
    // 30 days after the notification the banner is gone; the notice stays readable.
    sqlx::query("update incidents set notified_at = now() - interval '31 days'")
        .execute(&w.pool)
        .await
        .unwrap();
    assert!(!affected.get("/dashboard").await.body.contains(&link));
    assert_eq!(affected.get(&link).await.status, StatusCode::OK);
}

#[sqlx::test(migrations = false)]
async fn staff_without_incidents_write_get_403_and_queue_nothing(pool: PgPool) {
    let w = World::start(pool).await;
    w.tenant(&[("jana@t1.example", "ar")]).await;
    let incident = w.record(&[]).await;
    let others = Api::new(
        w.addr,
        Some(
            &token(&w.pool, "no-incidents", "ops:read,ops:write,support:read,tenants:write,billing:write")
                .await,
        ),
    );
    for path in
        ["/ops/incidents".to_owned(), "/ops/incidents/new".to_owned(), format!("/ops/incidents/{incident}")]
    {
        assert_eq!(others.get(&path).await.status, StatusCode::FORBIDDEN, "GET {path}");
    }
    let refused = others.post(&format!("/ops/incidents/{incident}/notify"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(others.post("/ops/incidents", &[("title", "x")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(w.jobs().await, 0);
    assert!(audited(&w.pool, "incident_notified").await.is_empty());
}
