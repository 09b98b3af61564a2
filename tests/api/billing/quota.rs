//! A plan's monthly AI replies: counted when Meta accepts a reply the model wrote; the
//! owner is emailed at 80 % and at 100 %, once each; the reply after the last allowed one
//! makes no model call (the fallback goes instead, and the inbox says why); the away,
//! fallback and a person's replies never count.

use sqlx::PgPool;

use crate::{
    pipeline::{text, Pipeline},
    web::{mail_to, read_mail},
};

/// Emails whose decoded subject holds `needle`.
fn subjects(p: &Pipeline, needle: &str) -> usize {
    p.mail.messages().iter().map(read_mail).filter(|(_, subject, _)| subject.contains(needle)).count()
}

async fn used(p: &Pipeline) -> i64 {
    p.count("select coalesce(sum(replies), 0)::bigint from ai_usage_monthly").await
}

#[sqlx::test(migrations = false)]
async fn the_reply_after_the_last_allowed_one_makes_no_model_call_and_each_warning_goes_once(pool: PgPool) {
    // Arrange: a plan of 5 AI replies a month, a fallback message set.
    let p = Pipeline::start(pool, "owner@quota.sa", "PN2101").await;
    sqlx::raw_sql(
        "insert into plans (plan_id, name_en, name_ar, price_halalas, ai_replies, numbers, seats, position)
         values ('tiny', 'Tiny', 'صغيرة', 1000, 5, 1, 1, 9);
         update tenants set plan_id = 'tiny';",
    )
    .execute(&p.pool)
    .await
    .unwrap();
    p.configure_bot(&[("fallback_message", "A team member will answer you soon.")]).await;
    let ask =
        |i: usize| text("PN2101", &format!("wamid.Q{i}"), &format!("9665000021{i:02}"), "Do you deliver?", 1);

    // Act: five customers answered by the model, one after another.
    for i in 0..5 {
        p.deliver(&ask(i)).await;
        p.sends(i + 1).await;
        p.until_count("select coalesce(sum(replies), 0)::bigint from ai_usage_monthly", i as i64 + 1).await;
    }
    let warned: (bool, bool) =
        sqlx::query_as("select warned_80_at is not null, warned_100_at is not null from ai_usage_monthly")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    // The sixth and seventh customers.
    p.deliver(&ask(5)).await;
    p.sends(6).await;
    p.deliver(&ask(6)).await;
    p.sends(7).await;
    p.until_finished(&["generate_reply", "send_message", "send_email"]).await;

    // Assert
    assert_eq!(p.model.requests().len(), 5, "no model call after the fifth reply");
    assert_eq!(used(&p).await, 5, "the fallback is not an AI reply");
    let sent = p.graph.sends();
    let texts: Vec<&str> = sent.iter().map(|s| s.body["text"]["body"].as_str().unwrap_or("")).collect();
    assert!(texts[5..].iter().all(|t| *t == "A team member will answer you soon."), "{texts:?}");
    let notice: Option<String> =
        sqlx::query_scalar("select notice from conversations order by created_at desc limit 1")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(notice.as_deref(), Some("quota_reached"));
    // The 80 % warning went when the fifth reply was asked for (4 of 5 used), once; the
    // 100 % warning when the sixth was, once.
    assert_eq!(warned, (true, false), "80 % warned when the fifth was asked for, 100 % not yet");
    mail_to(&p.mail, "owner@quota.sa", "all of its plan").await;
    assert_eq!(subjects(&p, "80% of your plan"), 1);
    assert_eq!(subjects(&p, "replies are used up"), 1);
}
