//! Staff actions on a tenant through the ops API: a suspension with its reason stops the
//! business (its owner cannot sign in, its customers get no reply) until it is lifted, and
//! a deletion asked for by email starts the owner's own deletion flow (confirmation email,
//! purge scheduled after the grace); each is audited with the staff token and the reason.

use reqwest::StatusCode;
use sqlx::PgPool;

use super::{audited, token, Api};
use crate::{
    pipeline::{text, Options, Pipeline},
    web::{mail_to, Browser, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn staff_suspend_lift_and_start_a_deletion_each_audited_with_the_reason(pool: PgPool) {
    // Arrange
    let p = Pipeline::start_opts(pool.clone(), "owner@abuse.example", "PN-ABU", Options::default()).await;
    let tenant: String =
        sqlx::query_scalar("select tenant_id::text from tenants").fetch_one(&pool).await.unwrap();
    let api = Api::new(p.addr, Some(&token(&pool, "trust-and-safety", "tenants:write,ops:read").await));
    let staff: String =
        sqlx::query_scalar("select token_id::text from staff_tokens").fetch_one(&pool).await.unwrap();
    let base = format!("/ops/tenants/{tenant}");

    // A reason is required, and must say something.
    assert_eq!(
        api.post(&format!("{base}/suspend"), &[("reason", "spam")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Suspend: the tenant page says so, the owner cannot sign in, a customer gets no reply.
    let reason = "Reports 55 and 56: bulk unsolicited messages";
    let answer = api.post(&format!("{base}/suspend"), &[("reason", reason)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let page = api.get(&base).await.json();
    assert_eq!((page["status"].as_str(), page["status_note"].as_str()), (Some("suspended"), Some(reason)));
    assert_eq!(
        api.post(&format!("{base}/suspend"), &[("reason", reason)]).await.status,
        StatusCode::CONFLICT
    );
    let owner = Browser::new(p.addr);
    let signin = owner.sign_in("owner@abuse.example", PASSWORD).await;
    assert_ne!(signin.status, StatusCode::SEE_OTHER, "a suspended owner cannot sign in");
    assert_eq!(p.deliver(&text("PN-ABU", "wamid.A1", "966500000031", "Hello?", 1)).await, StatusCode::OK);
    // A suspended business's deliveries are dropped as they are stored (the answer above
    // came after that statement): no event kept, no job queued, so no reply can follow.
    let kept = "select count(*) from inbound_events where payload::text like '%wamid.A1%'";
    assert_eq!(p.count(kept).await, 0);
    assert_eq!(p.count("select count(*) from apalis.jobs where job_type = 'handle_inbound'").await, 0);
    assert!(p.graph.sends().is_empty(), "no reply while suspended");

    // Lift it: replies resume.
    assert_eq!(api.post(&format!("{base}/unsuspend"), &[]).await.status, StatusCode::OK);
    assert_eq!(api.get(&base).await.json()["status"], "active");
    assert_eq!(api.post(&format!("{base}/unsuspend"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(
        p.deliver(&text("PN-ABU", "wamid.A2", "966500000031", "Anyone there?", 1)).await,
        StatusCode::OK
    );
    p.sends(1).await;

    // Start a deletion asked for by email: the owner is told, the purge is scheduled.
    let why = "Email of 30 Nov from the owner's address, ticket 77";
    let answer = api.post(&format!("{base}/delete"), &[("reason", why)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(api.get(&base).await.json()["status"], "deleting");
    assert_eq!(api.post(&format!("{base}/delete"), &[("reason", why)]).await.status, StatusCode::CONFLICT);
    mail_to(&p.mail, "owner@abuse.example", "/account/deletion").await;
    let scheduled: i64 = sqlx::query_scalar(
        "select count(*) from apalis.jobs where job_type = 'delete_account' and status = 'Pending' and run_at > now()",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(scheduled, 1, "the purge waits for the grace period");

    // Each action audited with the staff token, the reasons kept.
    for (action, detail) in
        [("tenant_suspended", Some(reason)), ("tenant_unsuspended", None), ("deletion_requested", Some(why))]
    {
        let rows = audited(&pool, action).await;
        assert_eq!(rows.len(), 1, "{action}");
        assert_eq!((rows[0].0.as_str(), rows[0].1.as_deref()), ("staff", Some(staff.as_str())), "{action}");
        if let Some(text) = detail {
            assert_eq!(rows[0].2["reason"], text, "{action}");
        }
    }
}
