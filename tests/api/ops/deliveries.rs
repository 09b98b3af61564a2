//! The deliveries page through the ops API: an event the sweeper gave up on is listed and,
//! reprocessed, answered after all; an unreadable delivery is listed until marked handled;
//! neither shows a customer's words; both actions are audited.

use reqwest::StatusCode;
use sqlx::PgPool;

use super::{audited, token, Api};
use crate::pipeline::{text, Options, Pipeline, APP_SECRET};

#[sqlx::test(migrations = false)]
async fn a_dead_event_is_reprocessed_and_an_unreadable_one_marked_handled_each_audited(pool: PgPool) {
    // Arrange: no inbound worker yet; a customer's message stored, then given up on.
    let mut p = Pipeline::start_opts(
        pool.clone(),
        "owner@deliveries.example",
        "PN-DEL",
        Options { hold_inbound: true, ..Options::default() },
    )
    .await;
    let words = "Is the oud still in stock?";
    assert_eq!(p.deliver(&text("PN-DEL", "wamid.D1", "966500000051", words, 1)).await, StatusCode::OK);
    let (tenant, event): (String, String) =
        sqlx::query_as("select tenant_id::text, event_id::text from inbound_events where kind = 'message'")
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::query("update inbound_events set dead_at = now(), error = 'never processed: its jobs did not run'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("delete from apalis.jobs where job_type = 'handle_inbound'").execute(&pool).await.unwrap();
    let raw = "{\"object\":\"whatsapp_business_account\",\"entry\":\"not a list\"}".to_owned();
    let signature = mujibak_core::domain::whatsapp::signature(APP_SECRET, raw.as_bytes());
    assert_eq!(p.post_raw(&p.webhook_url, raw, Some(&signature)).await, StatusCode::OK);
    let api = Api::new(p.addr, Some(&token(&pool, "oncall", "ops:read,ops:write").await));

    // Both are listed, with ids and kinds only.
    let page = api.get(&format!("/ops/deliveries?tenant={tenant}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("oud") && !page.body.contains("966500000051"), "no customer data");
    let listed = page.json()["attention"].as_array().unwrap().clone();
    let kinds: Vec<(&str, bool)> =
        listed.iter().map(|e| (e["kind"].as_str().unwrap(), e["reprocessable"].as_bool().unwrap())).collect();
    assert!(kinds.contains(&("message", true)) && kinds.contains(&("unprocessable", false)), "{kinds:?}");
    let unreadable = listed.iter().find(|e| e["kind"] == "unprocessable").unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Reprocess the dead message: answered once the inbound worker runs.
    let unreadable_path = format!("/ops/deliveries/{tenant}/{unreadable}");
    assert_eq!(api.post(&format!("{unreadable_path}/reprocess"), &[]).await.status, StatusCode::CONFLICT);
    let answer = api.post(&format!("/ops/deliveries/{tenant}/{event}/reprocess"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    p.start_inbound();
    p.sends(1).await;
    assert_eq!(
        api.post(&format!("/ops/deliveries/{tenant}/{event}/reprocess"), &[]).await.status,
        StatusCode::CONFLICT
    );

    // Mark the unreadable one handled: it leaves the list.
    assert_eq!(api.post(&format!("{unreadable_path}/handled"), &[]).await.status, StatusCode::OK);
    assert_eq!(api.post(&format!("{unreadable_path}/handled"), &[]).await.status, StatusCode::CONFLICT);
    let left = api.get(&format!("/ops/deliveries?tenant={tenant}")).await.json();
    assert_eq!(left["attention"].as_array().unwrap().len(), 0, "{left}");

    for (action, id) in [("delivery_reprocessed", &event), ("delivery_handled", &unreadable)] {
        let rows = audited(&pool, action).await;
        assert_eq!(rows.len(), 1, "{action}");
        assert_eq!(rows[0].0, "staff");
        assert_eq!(rows[0].2["event"], id.as_str(), "{action}");
    }
}
