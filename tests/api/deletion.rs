//! Deleting an account from the dashboard: the password is required; the request
//! disables the account at once (sign-in only to the cancel page, webhooks acknowledged
//! and dropped, no reply) and mails the owner in their language; cancelling brings it all
//! back and the scheduled purge does nothing; after the grace the job purges the tenant's
//! people while the audit rows stay. Each step is audited.

use mujibak_core::{
    db::audit,
    domain::{DeletionRequestId, TenantId},
};
use mujibak_jobs::{delete_account::DeleteAccount, Job};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    pipeline::{text, Options, Pipeline},
    purge::dump,
    web::{mail_to, Browser, PASSWORD},
};

async fn start(pool: PgPool, email: &str, number: &str, grace: &str) -> Pipeline {
    let vars = [("DELETION_GRACE_DAYS", grace)];
    Pipeline::start_opts(pool, email, number, Options { vars: &vars, ..Options::default() }).await
}

async fn tenant(p: &Pipeline) -> TenantId {
    sqlx::query_scalar("select tenant_id from users").fetch_one(&p.pool).await.unwrap()
}

async fn request(p: &Pipeline, password: &str) -> crate::web::Page {
    p.owner.get("/account/delete").await;
    p.owner.post("/account/delete", &[("password", password)]).await
}

async fn the_job(p: &Pipeline) -> DeleteAccount {
    let (tenant_id, request_id): (TenantId, DeletionRequestId) =
        sqlx::query_as("select tenant_id, request_id from deletion_requests")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    DeleteAccount::Request { tenant_id, request_id }
}

async fn actions(p: &Pipeline, tenant: TenantId) -> Vec<String> {
    audit::for_tenant(&p.pool, tenant, 100).await.unwrap().into_iter().map(|r| r.action).collect()
}

#[sqlx::test(migrations = false)]
async fn a_deletion_request_with_a_wrong_password_is_refused_and_changes_nothing(pool: PgPool) {
    // Arrange
    let p = start(pool, "owner@del1.sa", "PN1901", "7").await;

    // Act
    let refused = request(&p, "not-the-password-1").await;

    // Assert
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("The current password is wrong."), "{}", refused.body);
    assert_eq!(p.count("select count(*) from deletion_requests").await, 0);
    assert_eq!(p.count("select count(*) from apalis.jobs where job_type = 'delete_account'").await, 0);
    assert_eq!(p.owner.get("/inbox").await.status, StatusCode::OK, "the account still works");
}

#[sqlx::test(migrations = false)]
async fn a_deletion_request_disables_the_account_at_once_and_mails_the_owner_in_arabic(pool: PgPool) {
    // Arrange: an owner who reads Arabic; a customer's message answered (the webhook's
    // connection is now in the web process's cache).
    let p = start(pool, "owner@del2.sa", "PN1902", "7").await;
    let tenant = tenant(&p).await;
    let profile = [
        ("name", "Owner"),
        ("email", "owner@del2.sa"),
        ("business_name", "Alnoor Bakery"),
        ("locale", "ar"),
        ("current_password", PASSWORD),
    ];
    p.owner.get("/profile").await;
    assert_eq!(p.owner.post("/profile", &profile).await.status, StatusCode::SEE_OTHER);
    p.deliver(&text("PN1902", "wamid.DEL2A", "966500001902", "When do you open?", 1)).await;
    p.sends(1).await;

    // Act
    let requested = request(&p, PASSWORD).await;

    // Assert: the owner lands on the page of the pending deletion, and only there.
    assert_eq!(requested.status, StatusCode::SEE_OTHER, "{}", requested.body);
    assert_eq!(requested.location(), "/account/deletion");
    let pending = p.owner.get("/account/deletion").await;
    assert_eq!(pending.status, StatusCode::OK);
    assert!(pending.body.contains("حسابك قيد الحذف"), "{}", pending.body);
    let inbox = p.owner.get("/inbox").await;
    assert_eq!((inbox.status, inbox.location()), (StatusCode::SEE_OTHER, "/account/deletion"));
    // The confirmation, in Arabic, before anything is erased.
    let (subject, body) = mail_to(&p.mail, "owner@del2.sa", "/account/deletion").await;
    assert_eq!(subject, "سيُحذف حسابك في مُجيب");
    assert!(body.contains("وصلنا طلبك حذف حسابك"), "{body}");
    // A new sign-in reaches only the same page.
    let again = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    let signed_in = again.sign_in("owner@del2.sa", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let dashboard = again.get("/dashboard").await;
    assert_eq!(dashboard.location(), "/account/deletion");
    // Within the connection cache's lifetime, a delivery is acknowledged and dropped.
    let before = p.count("select count(*) from inbound_events").await;
    let status = p.deliver(&text("PN1902", "wamid.DEL2B", "966500001902", "Are you there?", 1)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p.count("select count(*) from inbound_events").await, before, "nothing stored");
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(p.model.requests().len(), 1, "no reply generated");
    assert_eq!(p.graph.sends().len(), 1, "nothing sent");
    assert!(actions(&p, tenant).await.contains(&"deletion_requested".to_owned()));
    let scheduled = p
        .count("select count(*) from apalis.jobs where job_type = 'delete_account' and run_at > now() + interval '6 days'")
        .await;
    assert_eq!(scheduled, 1, "the purge is scheduled after the grace");
}

#[sqlx::test(migrations = false)]
async fn cancelling_a_deletion_brings_the_account_back_and_the_scheduled_purge_does_nothing(pool: PgPool) {
    // Arrange: a request whose purge is due at once.
    let p = start(pool, "owner@del3.sa", "PN1903", "0").await;
    let tenant = tenant(&p).await;
    p.deliver(&text("PN1903", "wamid.DEL3A", "966500001903", "Hello there", 1)).await;
    p.sends(1).await;
    assert_eq!(request(&p, PASSWORD).await.status, StatusCode::SEE_OTHER);
    p.owner.get("/account/deletion").await;
    let wrong = p.owner.post("/account/deletion/cancel", &[("password", "not-the-password-1")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "the password is required to cancel");

    // Act
    let cancelled = p.owner.post("/account/deletion/cancel", &[("password", PASSWORD)]).await;
    let job = the_job(&p).await;
    job.run(p.ctx()).await.unwrap();

    // Assert: everything works again, and the purge found the request cancelled.
    assert_eq!((cancelled.status, cancelled.location()), (StatusCode::SEE_OTHER, "/dashboard"));
    assert_eq!(p.owner.get("/inbox").await.status, StatusCode::OK);
    assert_eq!(
        p.deliver(&text("PN1903", "wamid.DEL3B", "966500001903", "Still open?", 1)).await,
        StatusCode::OK
    );
    p.sends(2).await;
    assert!(p.count("select count(*) from messages").await >= 4, "the conversation is intact");
    assert_eq!(p.count("select count(*) from deletion_requests where completed_at is not null").await, 0);
    let done = actions(&p, tenant).await;
    assert!(done.contains(&"deletion_cancelled".to_owned()), "{done:?}");
    assert!(!done.contains(&"account_deleted".to_owned()), "{done:?}");
}

#[sqlx::test(migrations = false)]
async fn after_the_grace_the_job_purges_the_tenants_people_and_the_audit_rows_stay(pool: PgPool) {
    // Arrange: a conversation, then a request with no grace.
    let p = start(pool, "owner@del4.sa", "PN1904", "0").await;
    let tenant = tenant(&p).await;
    let said = "Deliver to 9 Olaya Road please, I am Huda";
    p.deliver(&text("PN1904", "wamid.DEL4A", "966500001904", said, 1)).await;
    p.sends(1).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    assert_eq!(request(&p, PASSWORD).await.status, StatusCode::SEE_OTHER);
    mail_to(&p.mail, "owner@del4.sa", "/account/deletion").await; // sent before the purge
    p.until_count("select count(*) from emails where kind = 'account_deletion' and status = 'sent'", 1).await;

    // Act: the job, twice (the second as after a crash).
    let job = the_job(&p).await;
    job.clone().run(p.ctx()).await.unwrap();
    job.run(p.ctx()).await.unwrap();

    // Assert
    let after = dump(&p.pool);
    for needle in [said, "Olaya", "966500001904", "owner@del4.sa"] {
        assert!(!after.contains(needle), "the dump still holds {needle:?}");
    }
    assert_eq!(p.count("select count(*) from deletion_requests where completed_at is not null").await, 1);
    let done = actions(&p, tenant).await;
    for action in ["account_created", "deletion_requested", "content_purged", "account_deleted"] {
        assert!(done.contains(&action.to_owned()), "{action} missing from {done:?}");
    }
    assert_eq!(done.iter().filter(|a| *a == "account_deleted").count(), 1, "completed once");
    let signin =
        Browser::with_headers(p.addr, &[("accept-language", "en")]).sign_in("owner@del4.sa", PASSWORD).await;
    assert_eq!(signin.status, StatusCode::UNPROCESSABLE_ENTITY, "nobody signs in any more");
}
