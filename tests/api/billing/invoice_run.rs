//! The monthly invoice run: every business on a paid plan (signed up before the month
//! ended, its owner's address proven, not deleted before the month) gets one invoice for
//! the month, its owners one email; one deleted during the month is billed for the days it
//! used; a replayed run issues and emails nothing more; a worker that was down over the
//! 1st runs the missed month once at start-up.

use chrono::{NaiveDate, TimeZone, Utc};
use mujibak_core::{billing::Seller, domain::TenantId};
use mujibak_jobs::{billing::Billing, cron::Scheduler, worker, Job, JobContext};
use sqlx::PgPool;

use crate::helpers::{eventually, fast_options, job_context, sized_pool, TestWorker};

fn ctx(pool: &PgPool) -> JobContext {
    let seller = Seller {
        name: "مُجيب للتقنية".into(),
        vat_number: "300000000000003".into(),
        address: "Riyadh".into(),
    };
    JobContext { seller: Some(seller), ..job_context(pool) }
}

/// A business with an owner on `plan`, signed up at `created` (SQL).
pub async fn business(pool: &PgPool, name: &str, plan: &str, created: &str) -> TenantId {
    let t = TenantId::new();
    sqlx::query(
        "insert into tenants (tenant_id, business_name, plan_id, created_at) values ($1, $2, $3, $4::timestamptz);
         ",
    )
    .bind(t)
    .bind(name)
    .bind(plan)
    .bind(created)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into users (tenant_id, user_id, name, email, password_hash, role, locale, email_verified_at)
         values ($1, gen_random_uuid(), 'Owner', $2, '!', 'owner', 'ar', now())",
    )
    .bind(t)
    .bind(format!("owner@{}.sa", name.to_lowercase().replace(' ', "-")))
    .execute(pool)
    .await
    .unwrap();
    t
}

async fn invoices(pool: &PgPool) -> Vec<(String, String, i64, String)> {
    sqlx::query_as(
        "select i.buyer_name, i.buyer_email, i.total, l.description_en from invoices i
           join invoice_lines l using (invoice_id) order by i.buyer_name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap()
}

async fn until_done(pool: &PgPool) {
    eventually(std::time::Duration::from_secs(20), "every invoice job to finish", || async {
        let left =
            count(pool, "select count(*) from apalis.jobs where job_type = 'billing' and status <> 'Done'")
                .await;
        (left == 0).then_some(())
    })
    .await;
}

#[sqlx::test(migrations = false)]
async fn each_paid_business_gets_one_invoice_and_one_email_and_a_replayed_run_adds_nothing(pool: PgPool) {
    // Arrange
    let pool = sized_pool(&pool, 10).await;
    business(&pool, "Alnoor", "starter", "2026-10-02 10:00+03").await;
    business(&pool, "Bayt", "pro", "2026-11-20 10:00+03").await;
    business(&pool, "Trial Shop", "trial", "2026-10-02 10:00+03").await;
    business(&pool, "Late", "starter", "2026-12-01 08:00+03").await; // after November
                                                                     // Deleted in October: nothing to bill. Deleted on 12 November: twelve of thirty days.
    for (name, asked) in [("Gone", "2026-10-20 10:00+03"), ("Leaving", "2026-11-12 18:00+03")] {
        let t = business(&pool, name, "starter", "2026-10-02 10:00+03").await;
        sqlx::query(
            "insert into deletion_requests (tenant_id, request_id, requested_by_kind, requested_at, purge_after, completed_at)
             values ($1, gen_random_uuid(), 'user', $2::timestamptz, $2::timestamptz, $2::timestamptz + interval '7 days')",
        )
        .bind(t)
        .bind(asked)
        .execute(&pool)
        .await
        .unwrap();
    }
    let ctx = ctx(&pool);
    let _worker = TestWorker::start_with::<Billing>(&ctx, &fast_options());
    let november = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();

    // Act: the run, then the same run again (a replayed tick).
    Billing::Run { period: november }.run(&ctx).await.unwrap();
    until_done(&pool).await;
    Billing::Run { period: november }.run(&ctx).await.unwrap();
    until_done(&pool).await;

    // Assert
    assert_eq!(
        invoices(&pool).await,
        vec![
            ("Alnoor".into(), "owner@alnoor.sa".into(), 11_385, "Starter plan, 2026-11".into()),
            ("Bayt".into(), "owner@bayt.sa".into(), 34_385, "Pro plan, 2026-11".into()),
            (
                "Leaving".into(),
                "owner@leaving.sa".into(),
                4_554,
                "Starter plan, 2026-11 (12 of 30 days)".into()
            ),
        ]
    );
    assert_eq!(count(&pool, "select count(*) from emails where kind = 'invoice_issued'").await, 3);
    // Each run queued a job per business; the second run's issued nothing.
    assert_eq!(count(&pool, "select count(*) from apalis.jobs where job_type = 'billing'").await, 6);
}

#[sqlx::test(migrations = false)]
async fn a_worker_down_over_the_first_runs_the_missed_month_once_at_start_up(pool: PgPool) {
    // Arrange: the last scheduler ran on 1 November after the run; the worker was down
    // from 30 November until 2 December.
    let pool = sized_pool(&pool, 10).await;
    business(&pool, "Alnoor", "starter", "2026-10-02 10:00+03").await;
    let config = mujibak_core::Config::from_lookup(|n| (n == "DATABASE_URL").then(|| "postgres://x".into()))
        .expect("defaults");
    let last_seen = Utc.with_ymd_and_hms(2026, 10, 31, 21, 20, 0).unwrap(); // 1 Nov 00:20 Riyadh
    let scheduler = Scheduler::new(pool.clone(), worker::schedules(&config.queue).unwrap(), last_seen);

    // Act: start-up on 2 December, and a second scheduler (another worker) right after.
    let start_up = Utc.with_ymd_and_hms(2026, 12, 2, 6, 0, 0).unwrap();
    scheduler.enqueue_due(start_up).await.unwrap();
    scheduler.enqueue_due(start_up).await.unwrap();
    let runs = count(
        &pool,
        "select count(*) from apalis.jobs where job_type = 'billing' and convert_from(job, 'UTF8') like '%\"Run\"%'",
    )
    .await;
    let ctx = ctx(&pool);
    let _worker = TestWorker::start_with::<Billing>(&ctx, &fast_options());
    eventually(std::time::Duration::from_secs(20), "November's invoice", || async {
        (count(&pool, "select count(*) from invoices").await == 1).then_some(())
    })
    .await;
    until_done(&pool).await;

    // Assert
    assert_eq!(runs, 1, "the missed run is enqueued once");
    let period: NaiveDate =
        sqlx::query_scalar("select period_start from invoices").fetch_one(&pool).await.unwrap();
    assert_eq!(period, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    assert_eq!(count(&pool, "select count(*) from invoices").await, 1);
}
