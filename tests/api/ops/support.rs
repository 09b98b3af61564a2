//! Reading a tenant's conversations as staff needs support:read and a stated reason; each
//! view writes an audit row with the reason, and the page says so in a banner. Without a
//! reason nothing of the conversations is shown and nothing is audited.

use reqwest::StatusCode;
use sqlx::PgPool;

use super::{audited, token, Api};
use crate::pipeline::{text, Options, Pipeline};

#[sqlx::test(migrations = false)]
async fn support_views_of_conversations_need_a_reason_and_are_audited_with_it(pool: PgPool) {
    // Arrange: a tenant whose customer wrote something private.
    let p = Pipeline::start_opts(pool.clone(), "owner@support.example", "PN-SUP", Options::default()).await;
    let secret = "My order 7781 has the wrong size";
    assert_eq!(p.deliver(&text("PN-SUP", "wamid.S1", "966500000042", secret, 1)).await, StatusCode::OK);
    p.sends(1).await;
    let tenant: String =
        sqlx::query_scalar("select tenant_id::text from tenants").fetch_one(&pool).await.unwrap();
    let conversation = p.conversation_id().await;
    let api = Api::new(p.addr, Some(&token(&pool, "support-amal", "support:read,ops:read").await));
    let staff: String =
        sqlx::query_scalar("select token_id::text from staff_tokens").fetch_one(&pool).await.unwrap();
    let list = format!("/ops/tenants/{tenant}/conversations");
    let thread = format!("{list}/{conversation}");

    // No reason, or a reason that says nothing: refused, nothing shown, nothing audited.
    for path in [list.clone(), format!("{list}?reason=because"), format!("{thread}?reason=")] {
        let answer = api.get(&path).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", answer.body);
        assert!(!answer.body.contains(secret) && !answer.body.contains("966500000042"), "{path}");
    }
    assert!(audited(&pool, "conversations_viewed").await.is_empty());

    // With a reason: the list, then the thread, each audited with the reason.
    let reason = "Ticket 981: customer says the bot replied twice";
    let q: String = form_urlencoded::byte_serialize(reason.as_bytes()).collect();
    let answer = api.get(&format!("{list}?reason={q}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["content"]["conversations"][0]["conversation_id"], conversation.as_str());
    let answer = api.get(&format!("{thread}?reason={q}")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains(secret), "the thread shows the messages");

    let rows = audited(&pool, "conversations_viewed").await;
    assert_eq!(rows.len(), 2, "one row per view");
    for (i, (kind, actor, detail)) in rows.iter().enumerate() {
        assert_eq!((kind.as_str(), actor.as_deref()), ("staff", Some(staff.as_str())));
        assert_eq!(detail["reason"], reason);
        let expected = if i == 0 { serde_json::Value::Null } else { conversation.as_str().into() };
        assert_eq!(detail["conversation"], expected);
    }
    let tenants: Vec<Option<String>> =
        sqlx::query_scalar("select tenant_id::text from audit_log where action = 'conversations_viewed'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(tenants.iter().all(|t| t.as_deref() == Some(tenant.as_str())), "rows name the tenant viewed");

    // The console page shows the banner (and, without a reason, only the question).
    let browser = crate::web::Browser::new(p.addr);
    let support = token(&pool, "support-html", "support:read").await;
    assert_eq!(browser.post_raw("/ops/signin", &[("token", &support)]).await.status, StatusCode::SEE_OTHER);
    let page = browser.get(&thread).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Why do you need to read"), "asks for a reason");
    assert!(!page.body.contains(secret), "shows nothing without one");
    let page = browser.get(&format!("{thread}?reason={q}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Staff support view") && page.body.contains("recorded in the audit log"));
    assert!(page.body.contains(secret) && page.body.contains("Ticket 981"));
    assert_eq!(audited(&pool, "conversations_viewed").await.len(), 3, "every view, API or page");
}
