//! Dunning: an invoice unpaid 3 days after issue is reminded once; 14 days after issue the
//! bot is paused (no model call) until it is paid, and paying resumes it.

use mujibak_jobs::{
    billing::Billing,
    plan_limit::{gate, Gate},
    Job,
};
use sqlx::PgPool;

use super::World;

#[sqlx::test(migrations = false)]
async fn an_unpaid_invoice_is_reminded_once_pauses_the_bot_past_the_limit_and_paying_resumes_it(
    pool: PgPool,
) {
    // Arrange: invoices issued 15, 4 and 1 day(s) ago.
    let mut w = World::start(pool).await;
    let (late, late_invoice) = w.invoiced_ago("Late", 15).await;
    let (due, _) = w.invoiced_ago("Due", 4).await;
    let (fresh, _) = w.invoiced_ago("Fresh", 1).await;

    // Act: the daily dunning, twice (a replayed tick).
    Billing::Dunning.run(&w.ctx).await.unwrap();
    Billing::Dunning.run(&w.ctx).await.unwrap();

    // Assert: one reminder each for the two past 3 days; one pause, for the one past 14.
    let reminded: Vec<(String, i64)> = sqlx::query_as(
        "select e.to_address, count(*) from emails e where e.kind = 'invoice_reminder' group by 1 order by 1",
    )
    .fetch_all(&w.pool)
    .await
    .unwrap();
    assert_eq!(reminded, vec![("owner@due.sa".to_owned(), 1), ("owner@late.sa".to_owned(), 1)]);
    assert_eq!(
        w.count(
            "select count(*) from emails where kind = 'bot_paused_unpaid' and to_address = 'owner@late.sa'"
        )
        .await,
        1
    );
    assert_eq!(w.count("select count(*) from emails where kind = 'bot_paused_unpaid'").await, 1);
    assert_eq!(gate(&w.ctx, late).await.unwrap(), Gate::OnHold, "no model call while paused");
    assert_eq!(gate(&w.ctx, due).await.unwrap(), Gate::Allowed);
    assert_eq!(gate(&w.ctx, fresh).await.unwrap(), Gate::Allowed);

    // Act: the late business pays through its link; the webhook arrives.
    let mid = w.open(late, late_invoice).await;
    w.start_worker();
    w.moyasar.pay(&mid).unwrap();

    // Assert: paid, and the bot answers again.
    w.until_status(late_invoice, "paid").await;
    assert_eq!(gate(&w.ctx, late).await.unwrap(), Gate::Allowed);
    w.until_idle().await;
    Billing::Dunning.run(&w.ctx).await.unwrap();
    assert_eq!(gate(&w.ctx, late).await.unwrap(), Gate::Allowed, "a paid invoice pauses nothing");
}
