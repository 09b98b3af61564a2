//! The account gate and the deletion's safety nets, through core's functions (the ops
//! console calls them): a suspension stops the bot and its webhooks until it is lifted;
//! staff can request a deletion (audited with the reason); the daily sweep purges a
//! tenant whose job was lost; the purge waits for the confirmation email.

use chrono::Duration;
use mujibak_core::{
    accounts::{self, TenantStatus},
    db::audit::{self, Actor},
    deletion::{self, Outcome},
    domain::{EmailId, TenantId},
};
use mujibak_jobs::{delete_account::DeleteAccount, Job};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    pipeline::{text, Options, Pipeline},
    web::{Browser, PASSWORD},
};

async fn tenant(p: &Pipeline) -> TenantId {
    sqlx::query_scalar("select tenant_id from users").fetch_one(&p.pool).await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn a_suspension_stops_the_bot_and_lifting_it_starts_it_again(pool: PgPool) {
    // Arrange: the reply waits 3 s after the customer's message.
    let vars = [("REPLY_DEBOUNCE_SECS", "3")];
    let p =
        Pipeline::start_opts(pool, "owner@gate1.sa", "PN1911", Options { vars: &vars, ..Options::default() })
            .await;
    let tenant = tenant(&p).await;
    let staff = Actor::Staff("token-ops-1".into());
    p.deliver(&text("PN1911", "wamid.GATE1A", "966500001911", "Hello?", 1)).await;
    p.until_count("select count(*) from messages where direction = 'in'", 1).await;

    // Act: suspended while its reply waits.
    let mut conn = p.pool.acquire().await.unwrap();
    assert!(accounts::suspend(&mut conn, tenant, &staff, "unpaid for three months").await.unwrap());
    assert!(!accounts::suspend(&mut conn, tenant, &staff, "again").await.unwrap(), "already suspended");

    // Assert: no model call, no send; the reply job completes without retrying.
    p.until_finished(&["generate_reply"]).await;
    assert_eq!(p.model.requests().len(), 0, "no tokens spent");
    assert_eq!(p.count("select count(*) from job_errors").await, 0, "nothing retried");
    let dropped = p.deliver(&text("PN1911", "wamid.GATE1B", "966500001911", "Anyone?", 1)).await;
    assert_eq!(dropped, StatusCode::OK);
    assert_eq!(p.count("select count(*) from inbound_events where dedupe_key like '%GATE1B%'").await, 0);
    let page = p.owner.get("/inbox").await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/signin"), "the session ended");
    let b = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    let refused = b.sign_in("owner@gate1.sa", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("This account is suspended."), "{}", refused.body);

    // Act: lifted.
    assert!(accounts::unsuspend(&mut conn, tenant, &staff).await.unwrap());
    drop(conn);

    // Assert: answered again.
    assert_eq!(
        p.deliver(&text("PN1911", "wamid.GATE1C", "966500001911", "Open today?", 1)).await,
        StatusCode::OK
    );
    p.sends(1).await;
    assert_eq!(b.sign_in("owner@gate1.sa", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let rows = audit::for_tenant(&p.pool, tenant, 100).await.unwrap();
    let suspended = rows.iter().find(|r| r.action == "tenant_suspended").expect("audited");
    assert_eq!(
        (suspended.actor_kind.as_str(), suspended.actor_id.as_deref()),
        ("staff", Some("token-ops-1"))
    );
    assert_eq!(suspended.detail.0["reason"], "unpaid for three months");
    assert_eq!(rows.iter().filter(|r| r.action == "tenant_unsuspended").count(), 1);
}

#[sqlx::test(migrations = false)]
async fn a_staff_request_is_audited_with_its_reason_and_the_sweep_purges_a_lost_job(pool: PgPool) {
    // Arrange: a conversation; staff start a deletion the owner asked for by email.
    let p = Pipeline::start(pool, "owner@gate2.sa", "PN1912").await;
    let tenant = tenant(&p).await;
    p.deliver(&text("PN1912", "wamid.GATE2A", "966500001912", "My number is on file", 1)).await;
    p.sends(1).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    let staff = Actor::Staff("token-ops-2".into());
    let reason = "owner emailed support@ on 2026-12-01 from the account's address";
    let mut conn = p.pool.acquire().await.unwrap();
    let req = deletion::request_by_staff(&mut conn, tenant, &staff, reason, Duration::days(7)).await.unwrap();
    assert!(matches!(accounts::status(&mut conn, tenant).await.unwrap(), TenantStatus::Deleting { .. }));
    assert!(
        deletion::request_by_staff(&mut conn, tenant, &staff, reason, Duration::days(7)).await.is_err(),
        "one open request per tenant"
    );
    // The job was lost (or never enqueued) and the request is past its date.
    sqlx::query("delete from apalis.jobs where job_type = 'delete_account'")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("update deletion_requests set requested_at = now() - interval '8 days', purge_after = now() - interval '1 day'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    // Act
    DeleteAccount::Sweep.run(p.ctx()).await.unwrap();

    // Assert
    assert_eq!(p.count("select count(*) from messages").await, 0);
    assert_eq!(p.count("select count(*) from contacts").await, 0);
    assert_eq!(p.count("select count(*) from deletion_requests where completed_at is not null").await, 1);
    let rows = audit::for_tenant(&p.pool, tenant, 100).await.unwrap();
    let asked = rows.iter().find(|r| r.action == "deletion_requested").expect("audited");
    assert_eq!((asked.actor_kind.as_str(), asked.actor_id.as_deref()), ("staff", Some("token-ops-2")));
    assert_eq!(asked.detail.0["reason"], reason);
    assert_eq!(asked.detail.0["request_id"], req.request_id.to_string());
    assert!(rows.iter().any(|r| r.action == "account_deleted"));
}

#[sqlx::test(migrations = false)]
async fn the_sweep_purges_a_request_near_the_promise_whatever_its_grace_and_skips_cancelled_ones(
    pool: PgPool,
) {
    // Arrange: two businesses' requests, 29 days old: one open (grace 29 days), one cancelled.
    let p = Pipeline::start(pool, "owner@gate3.sa", "PN1913").await;
    let tenant = tenant(&p).await;
    p.deliver(&text("PN1913", "wamid.GATE3A", "966500001913", "Hi", 1)).await;
    p.sends(1).await;
    p.until_finished(&["handle_inbound", "generate_reply", "send_message"]).await;
    let other = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    other.sign_up("Other", "owner@gate3b.sa", "Other Shop", "en").await;
    let other_tenant: TenantId =
        sqlx::query_scalar("select tenant_id from users where email = 'owner@gate3b.sa'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    let staff = Actor::Staff("token-ops-3".into());
    let mut conn = p.pool.acquire().await.unwrap();
    deletion::request(&mut conn, tenant, &staff, None, Duration::days(29)).await.unwrap();
    deletion::request(&mut conn, other_tenant, &staff, None, Duration::days(0)).await.unwrap();
    deletion::cancel(&mut conn, other_tenant, &staff).await.unwrap();
    let aged = "update deletion_requests set requested_at = now() - interval '29 days', purge_after = now() + interval '12 hours'";
    sqlx::query(aged).execute(&mut *conn).await.unwrap();
    drop(conn);

    // Act
    DeleteAccount::Sweep.run(p.ctx()).await.unwrap();

    // Assert
    assert_eq!(p.count("select count(*) from messages").await, 0, "purged before day 30");
    let open: i64 =
        sqlx::query_scalar("select count(*) from users where tenant_id = $1 and email = 'owner@gate3b.sa'")
            .bind(other_tenant)
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(open, 1, "a cancelled request purges nothing");
}

#[sqlx::test(migrations = false)]
async fn the_purge_waits_while_the_confirmation_email_is_still_queued(pool: PgPool) {
    // Arrange: a request whose confirmation has not gone out yet.
    let p = Pipeline::start(pool, "owner@gate4.sa", "PN1914").await;
    let tenant = tenant(&p).await;
    let mut conn = p.pool.acquire().await.unwrap();
    let req = deletion::request(&mut conn, tenant, &Actor::System, None, Duration::zero()).await.unwrap();
    let email = EmailId::new();
    sqlx::query(
        "insert into emails (email_id, tenant_id, kind, to_address, subject) values ($1, $2, 'account_deletion', 'owner@gate4.sa', 's')",
    )
    .bind(email)
    .bind(tenant)
    .execute(&mut *conn)
    .await
    .unwrap();
    deletion::confirmation_queued(&mut conn, tenant, req.request_id, email).await.unwrap();
    drop(conn);

    // Act / Assert: waits, then purges once the email is sent.
    let waiting = deletion::carry_out(&p.pool, tenant, req.request_id).await.unwrap();
    assert_eq!(waiting, Outcome::WaitingForConfirmation);
    assert_eq!(p.count("select count(*) from users where email = 'owner@gate4.sa'").await, 1);
    sqlx::query("update emails set status = 'sent' where email_id = $1")
        .bind(email)
        .execute(&p.pool)
        .await
        .unwrap();
    let done = deletion::carry_out(&p.pool, tenant, req.request_id).await.unwrap();
    assert!(matches!(done, Outcome::Purged(_)), "{done:?}");
    assert_eq!(p.count("select count(*) from users where email = 'owner@gate4.sa'").await, 0);
}
