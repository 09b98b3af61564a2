//! A business's usage counts are one row per day, which every send of the business also
//! writes: storing customer messages holds it only at the end of the transaction (a batch
//! of many events counts them all in one statement, as its last write), never while the
//! batch works, and every message stored is counted once.

use std::time::Duration;

use sqlx::PgPool;

use super::set_based::{deliver_all, run_first_job};
use crate::{
    helpers::eventually,
    pipeline::{Options, Pipeline},
};

const RETURNING: &str = "966500003001";

#[sqlx::test(migrations = false)]
async fn a_batch_holds_no_business_usage_row_while_it_works_and_counts_every_message(pool: PgPool) {
    // Arrange: a returning customer wrote before (their conversation and today's usage row
    // exist); then two new customers and the returning one write (three deliveries wait),
    // and another transaction holds the returning customer's conversation, as a reply
    // being stored for them would for a moment.
    let opts = Options { hold_inbound: true, hold_sends: true, ..Options::default() };
    let p = Pipeline::start_opts(pool, "owner@usage-row.sa", "PN1810", opts).await;
    let first = [("wamid.UR.0".to_owned(), RETURNING.to_owned())];
    deliver_all(&p, &first).await;
    run_first_job(&p).await;
    let later = [
        ("wamid.UR.1".to_owned(), "966500003002".to_owned()),
        ("wamid.UR.2".to_owned(), "966500003003".to_owned()),
        ("wamid.UR.3".to_owned(), RETURNING.to_owned()),
    ];
    deliver_all(&p, &later).await;
    let mut holder = p.pool.begin().await.unwrap();
    sqlx::query(
        "select 1 from conversations where contact_id = (select contact_id from contacts where wa_id = $1)
            for update",
    )
    .bind(RETURNING)
    .execute(&mut *holder)
    .await
    .unwrap();

    // Act: the oldest waiting delivery's job runs: its own event alone, then a batch of
    // the other two, which waits at the returning customer's conversation. Meanwhile the
    // usage row is tried as a send of the business would.
    let probe = async {
        eventually(Duration::from_secs(10), "the batch to wait at the held conversation", || async {
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
            )
            .fetch_one(&p.pool)
            .await
            .unwrap();
            (waiting > 0).then_some(())
        })
        .await;
        let free: i64 =
            sqlx::query_scalar("select count(*) from (select 1 from usage_daily for update skip locked) u")
                .fetch_one(&p.pool)
                .await
                .unwrap();
        holder.commit().await.unwrap();
        free
    };
    let ((), free) = tokio::join!(run_first_job(&p), probe);

    // Assert: the usage row was free while the batch waited; all four messages counted.
    assert_eq!(free, 1, "the batch held the business's usage row while it worked");
    assert_eq!(p.count("select count(*) from messages where direction = 'in'").await, 4);
    assert_eq!(p.count("select coalesce(sum(inbound), 0)::bigint from usage_daily").await, 4);
}
