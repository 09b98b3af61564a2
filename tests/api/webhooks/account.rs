//! Account updates (issue 16, item 4): the connection's status follows Meta's
//! `account_update` events that stop a number (the bot stops sending, the owner is
//! emailed and sees why on the settings page); informational ones are recorded.
//!
//! Shapes: Meta's webhook reference, `account_update` (event, ban_info, restriction_info,
//! violation_info; the WhatsApp Business Account id is the entry's id).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    helpers::eventually,
    pipeline::{change, text, Pipeline},
};

#[sqlx::test(migrations = false)]
async fn a_deleted_account_stops_the_bot_emails_the_owner_and_says_why(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@deleted.sa", "PN1680").await;

    // Informational: recorded, the connection stays active.
    let verified =
        change("account_update", json!({ "phone_number": "966500000001", "event": "VERIFIED_ACCOUNT" }));
    assert_eq!(p.deliver(&verified).await, StatusCode::OK);
    let deleted =
        change("account_update", json!({ "phone_number": "966500000001", "event": "ACCOUNT_DELETED" }));
    assert_eq!(p.deliver(&deleted).await, StatusCode::OK);

    p.until_count("select count(*) from whatsapp_connections where status = 'deleted'", 1).await;
    assert_eq!(
        p.count(
            "select count(*) from inbound_events where kind = 'account_update' and processed_at is not null"
        )
        .await,
        2,
        "both events are recorded"
    );
    let mail = eventually(Duration::from_secs(15), "the owner's email", || async {
        p.mail.messages().first().cloned()
    })
    .await;
    assert_eq!(mail.to, vec!["owner@deleted.sa".to_owned()]);
    let settings = p.owner.get("/settings/whatsapp").await;
    assert!(
        settings.body.contains("Deleted by Meta") && settings.body.contains("ACCOUNT_DELETED"),
        "the settings page says why"
    );

    // The bot has stopped: a customer message is stored, not answered.
    p.deliver(&text("PN1680", "wamid.A1", "966500001680", "Hello?", 0)).await;
    p.until_count("select count(*) from conversations where notice = 'connection_inactive'", 1).await;
    p.until_finished(&["handle_inbound", "generate_reply"]).await;
    assert!(p.model.requests().is_empty());
    assert!(p.graph.sends().is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_ban_restriction_or_offboarding_moves_the_status_and_a_reinstatement_brings_it_back(pool: PgPool) {
    let p = Pipeline::start(pool, "owner@banned.sa", "PN1690").await;
    let status = || async {
        sqlx::query_scalar::<_, String>("select status from whatsapp_connections")
            .fetch_one(&p.pool)
            .await
            .unwrap()
    };
    let send = |value: serde_json::Value| {
        let p = &p;
        async move { assert_eq!(p.deliver(&change("account_update", value)).await, StatusCode::OK) }
    };

    send(json!({ "phone_number": "966500000001", "event": "DISABLED_UPDATE",
        "ban_info": { "waba_ban_state": "DISABLE", "waba_ban_date": "2026-11-30" } }))
    .await;
    p.until_count("select count(*) from whatsapp_connections where status = 'disabled'", 1).await;

    send(json!({ "phone_number": "966500000001", "event": "DISABLED_UPDATE",
        "ban_info": { "waba_ban_state": "REINSTATE", "waba_ban_date": "2026-12-02" } }))
    .await;
    p.until_count("select count(*) from whatsapp_connections where status = 'active'", 1).await;
    p.until_finished(&["handle_inbound"]).await;
    assert_eq!(status().await, "active", "a reinstated account answers again");

    send(json!({ "event": "ACCOUNT_RESTRICTION", "restriction_info": [
        { "restriction_type": "RESTRICTED_CUSTOMER_INITIATED_MESSAGING", "expiration": "2026-12-10T00:00:00+0000" }] }))
    .await;
    p.until_count("select count(*) from whatsapp_connections where status = 'restricted'", 1).await;

    send(json!({ "event": "ACCOUNT_OFFBOARDED" })).await;
    p.until_count("select count(*) from whatsapp_connections where status = 'offboarded'", 1).await;
    send(json!({ "event": "ACCOUNT_RECONNECTED" })).await;
    p.until_count("select count(*) from whatsapp_connections where status = 'active'", 1).await;

    send(
        json!({ "event": "PARTNER_REMOVED", "waba_info": { "waba_id": "WABA1", "owner_business_id": "B1" } }),
    )
    .await;
    p.until_count("select count(*) from whatsapp_connections where status = 'removed'", 1).await;
    p.until_finished(&["handle_inbound", "send_email"]).await;
    assert!(p.mail.messages().len() >= 4, "the owner is emailed each time the bot stops");

    // Another account's update (a different entry id) does not touch this connection.
    let mut other = change("account_update", json!({ "event": "ACCOUNT_DELETED" }));
    other["entry"][0]["id"] = json!("WABA-SOMEONE-ELSE");
    p.deliver(&other).await;
    p.until_count("select count(*) from inbound_events where kind = 'misfiled'", 1).await;
    assert_eq!(status().await, "removed");
}
