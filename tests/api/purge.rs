//! Purging a tenant's conversation content (the heart of an account deletion): afterwards
//! a `pg_dump` holds none of its customers' words (voice notes and their transcripts
//! included), numbers or names, nor its users'
//! names and addresses, while another tenant's conversation, the usage counts and the
//! audit rows remain; running it again finishes an interrupted purge and changes nothing
//! else.

use std::process::Command;

use mujibak_core::{domain::TenantId, purge::purge_content};
use mujibak_devtools::sandbox::graph::media::sample_voice_note;
use sqlx::PgPool;

use crate::{
    helpers::{database_url, pg_dump},
    media::voice_note,
    pipeline::{customer, text, Pipeline},
};

pub fn dump(pool: &PgPool) -> String {
    let out =
        Command::new(pg_dump()).arg("--no-owner").arg(database_url(pool)).output().expect("pg_dump runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Another business ("Other Shop") with a customer ("Other Customer", 966599990000),
/// whose rows a purge or an erasure must leave.
pub async fn other_business_customer(pool: &PgPool) {
    sqlx::raw_sql(
        "insert into tenants (tenant_id, business_name) values ('00000000-0000-0000-0000-00000000000b', 'Other Shop');
         insert into contacts (tenant_id, contact_id, connection_id, wa_id, name)
           values ('00000000-0000-0000-0000-00000000000b', gen_random_uuid(), gen_random_uuid(), '966599990000', 'Other Customer');",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = false)]
async fn after_a_purge_a_dump_holds_none_of_the_tenants_people_and_the_rest_remains(pool: PgPool) {
    // Arrange: a business whose customer wrote and got a reply; another business's row.
    let p = Pipeline::start(pool, "owner@purge.sa", "PN1800").await;
    // Voice notes are transcribed (their transcripts are checked below).
    p.configure_bot(&[("media_understanding", "on")]).await;
    let said = "Please deliver to 7 Tahlia Street, my name is Reem";
    p.graph.set_auto_statuses(false); // nothing arrives for the business meanwhile
    p.deliver(&text("PN1800", "wamid.PURGE1", "966500001800", said, 1)).await;
    p.sends(1).await;
    // A voice note: its file and its transcript are the customer's words too.
    let spoken = sample_voice_note("Ring twice at the Jasmine Villa");
    let voice = p.graph.add_media("PN1800", "audio/ogg", spoken.clone());
    p.deliver(&customer("PN1800", "966500001800", voice_note("wamid.PURGE2", &voice))).await;
    p.sends(2).await;
    p.until_finished(&["handle_inbound", "fetch_media", "generate_reply", "send_message"]).await;
    let file_hex = hex::encode(&spoken);
    let tenant: TenantId =
        sqlx::query_scalar("select tenant_id from users").fetch_one(&p.pool).await.unwrap();
    other_business_customer(&p.pool).await;
    // The business's own words: a quick reply, a knowledge-base entry and the bot page's text.
    p.owner.get("/settings/replies").await;
    p.owner
        .post("/settings/replies", &[("shortcut", "gate"), ("body", "Use the Quince Gate entrance")])
        .await;
    p.owner.get("/settings/knowledge").await;
    p.owner
        .post("/settings/knowledge/documents", &[("title", "Menu"), ("text", "Saffron Marigold cake 40 SAR")])
        .await;
    let before = dump(&p.pool);
    for (what, needle) in [
        ("text", said),
        ("transcript", "Jasmine Villa"),
        ("voice note's file", &file_hex),
        ("number", "966500001800"),
        ("owner", "owner@purge.sa"),
        ("quick reply", "Quince Gate"),
        ("knowledge", "Saffron Marigold"),
        ("bot page's knowledge", "We open daily from 7am to 11pm."),
        ("business name", "Alnoor Bakery"),
    ] {
        assert!(before.contains(needle), "the dump had the {what} before");
    }

    // Act: twice (the second finishes nothing left, as after an interruption).
    let first = purge_content(&p.pool, tenant).await.unwrap();
    let second = purge_content(&p.pool, tenant).await.unwrap();

    // Assert
    assert!(first.content_rows >= 5, "{first:?}");
    assert_eq!(second.content_rows, 0);
    let after = dump(&p.pool);
    for needle in [
        said,
        "Tahlia",
        "Jasmine Villa",
        &file_hex,
        "966500001800",
        "500001800",
        "Sara",
        "owner@purge.sa",
        "Quince Gate",
        "Saffron Marigold",
        "We open daily from 7am to 11pm.",
        "Alnoor Bakery",
    ] {
        assert!(!after.contains(needle), "the dump still holds {needle:?}");
    }
    let (name, email): (String, String) =
        sqlx::query_as("select name, email from users where tenant_id = $1")
            .bind(tenant)
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(name, "Deleted user");
    assert!(email.starts_with("deleted-") && email.ends_with("@deleted.invalid"), "{email}");
    assert!(after.contains("Other Customer") && after.contains("966599990000"), "another tenant's rows stay");
    let usage: i64 =
        sqlx::query_scalar("select coalesce(sum(inbound), 0) from usage_daily where tenant_id = $1")
            .bind(tenant)
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(usage, 2, "usage counts (billing) stay");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where tenant_id = $1 and action in ('account_created', 'content_purged')",
    )
    .bind(tenant)
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!(audited, 3, "the audit rows stay, and each purge adds one");
}

#[sqlx::test(migrations = false)]
async fn a_purge_marks_the_tenants_unsent_breach_notices_skipped(pool: PgPool) {
    // Arrange: an incident notified to a tenant whose notice job has not run yet.
    crate::helpers::migrated(&pool).await;
    let tenant = TenantId::new();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "insert into tenants (tenant_id, business_name) values ('{tenant}', 'Leaving Shop');
         insert into incidents (incident_id, title, description_ar, description_en, detected_at, recorded_by,
                                recorded_by_name, affects_all)
           values ('00000000-0000-0000-0000-0000000000a1', 'Leak', 'تسرب', 'Leak', now(), 'staff', 'Staff', true);
         insert into incident_notifications (incident_id, user_id, tenant_id)
           values ('00000000-0000-0000-0000-0000000000a1', gen_random_uuid(), '{tenant}');"
    )))
    .execute(&pool)
    .await
    .unwrap();

    // Act
    purge_content(&pool, tenant).await.unwrap();

    // Assert: the incident page counts it skipped, not waiting forever.
    let status: String =
        sqlx::query_scalar("select status from incident_notifications").fetch_one(&pool).await.unwrap();
    assert_eq!(status, "skipped");
}
