//! Plans cannot be gamed: the month's invoice bills the highest plan held in the month (a
//! switch to a cheaper plan the night before the run saves nothing), a downgrade applies
//! when the month ends (the page says when), a downgrade the team does not fit is refused,
//! and an account deleted before the month ends is billed for the days it used.

use chrono::{Datelike, Utc};
use chrono_tz::Asia::Riyadh;
use mujibak_core::{billing::run, domain::TenantId};
use mujibak_jobs::{billing::Billing, Job, JobContext};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    billing::payments::seller,
    helpers::{drain_jobs, job_context, sized_pool, TestApp},
    web::{verify_email, Browser, Mailbox, PASSWORD},
};

struct Shop {
    pool: PgPool,
    owner: Browser,
    tenant: TenantId,
    ctx: JobContext,
    _mail: Mailbox,
}

/// A business whose owner proved their address, with a billing context that can issue.
async fn shop(pool: PgPool, email: &str) -> Shop {
    let pool = sized_pool(&pool, 10).await;
    let mail = Mailbox::start(&pool).await;
    let seller_vars = [
        ("SELLER_NAME", "مُجيب للتقنية"),
        ("SELLER_VAT_NUMBER", "300000000000003"),
        ("SELLER_ADDRESS", "Riyadh"),
    ];
    let addr = TestApp::new(pool.clone()).vars(&seller_vars).spawn().await;
    let owner = Browser::with_headers(addr, &[("accept-language", "en")]);
    owner.sign_up("Owner", email, "Hopper", "en").await;
    verify_email(&owner, &mail.sink, email).await;
    let tenant = sqlx::query_scalar("select tenant_id from tenants").fetch_one(&pool).await.unwrap();
    let ctx = JobContext { seller: Some(seller()), ..job_context(&pool) };
    Shop { pool, owner, tenant, ctx, _mail: mail }
}

impl Shop {
    async fn choose(&self, plan: &str) -> crate::web::Page {
        self.owner.get("/billing").await;
        self.owner.post("/billing/plan", &[("plan", plan)]).await
    }

    async fn plan(&self) -> String {
        sqlx::query_scalar("select plan_id from tenants").fetch_one(&self.pool).await.unwrap()
    }

    /// Totals of the invoices issued, oldest first: (total, English line).
    async fn invoices(&self) -> Vec<(i64, String)> {
        sqlx::query_as(
            "select i.total, l.description_en from invoices i join invoice_lines l using (invoice_id)
              where i.kind = 'invoice' order by i.issued_at",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

fn this_month() -> chrono::NaiveDate {
    run::period_of(Utc::now())
}

#[sqlx::test(migrations = false)]
async fn switching_to_a_cheaper_plan_before_the_run_still_bills_the_highest_plan_held(pool: PgPool) {
    // Arrange: the owner takes Pro, then Starter before the month's invoice.
    let s = shop(pool, "owner@hopper.sa").await;
    assert_eq!(s.choose("pro").await.status, StatusCode::SEE_OTHER);
    let down = s.choose("starter").await;
    assert_eq!(down.status, StatusCode::SEE_OTHER, "{}", down.body);

    // Assert: the page says when the cheaper plan starts; Pro holds until then.
    let page = s.owner.get("/billing").await;
    assert!(page.body.contains("Your plan changes to Starter on"), "{}", page.body);
    assert_eq!(s.plan().await, "pro");

    // Act: the month's invoice.
    Billing::Issue { tenant_id: s.tenant, period: this_month() }.run(&s.ctx).await.unwrap();

    // Assert: Pro's price (299 SAR + VAT), not Starter's.
    let month = this_month().format("%Y-%m");
    assert_eq!(s.invoices().await, vec![(34_385, format!("Pro plan, {month}"))]);
}

#[sqlx::test(migrations = false)]
async fn a_downgrade_applies_when_the_month_ends_and_one_the_team_does_not_fit_is_refused(pool: PgPool) {
    // Arrange: Pro, with four people in the team (Starter has three seats).
    let s = shop(pool, "owner@team-fit.sa").await;
    s.choose("pro").await;
    for n in 0..3 {
        sqlx::query(
            "insert into users (tenant_id, user_id, name, email, password_hash, role, locale, email_verified_at)
             values ($1, gen_random_uuid(), 'Agent', $2, '!', 'agent', 'en', now())",
        )
        .bind(s.tenant)
        .bind(format!("agent{n}@team-fit.sa"))
        .execute(&s.pool)
        .await
        .unwrap();
    }

    // Act + Assert: Starter is refused, saying why.
    let refused = s.choose("starter").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("Remove members first"), "{}", refused.body);
    assert_eq!(s.plan().await, "pro");

    // Act: one agent leaves; Starter is chosen; then the month ends (the run's time comes).
    sqlx::query("delete from users where email = 'agent0@team-fit.sa'").execute(&s.pool).await.unwrap();
    assert_eq!(s.choose("starter").await.status, StatusCode::SEE_OTHER);
    assert_eq!(s.plan().await, "pro", "a downgrade waits for the month's end");
    sqlx::query("update tenants set next_plan_at = now() - interval '1 minute'")
        .execute(&s.pool)
        .await
        .unwrap();
    Billing::Run { period: this_month() }.run(&s.ctx).await.unwrap();

    // Assert: on Starter now; a fourth member cannot join it.
    assert_eq!(s.plan().await, "starter");
    let (members, seats) =
        mujibak_core::db::plans::seats(&mut s.pool.acquire().await.unwrap(), s.tenant).await.unwrap();
    assert_eq!((members, seats), (3, 3));
}

#[sqlx::test(migrations = false)]
async fn an_account_deleted_before_the_month_ends_is_billed_for_the_days_it_used(pool: PgPool) {
    // Arrange: Starter, and a billing worker.
    let s = shop(pool, "owner@leaving.sa").await;
    s.choose("starter").await;

    // Act: the owner deletes the account today; the billing job it queues runs.
    s.owner.get("/account/delete").await;
    let asked = s.owner.post("/account/delete", &[("password", PASSWORD)]).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    assert!(drain_jobs::<Billing>(&s.ctx).await >= 1, "the final invoice was queued");

    // Assert: this month is invoiced for the days up to today.
    let today = Utc::now().with_timezone(&Riyadh).date_naive();
    let days = days_in_month(today);
    let amount = (9_900 * i64::from(today.day()) + i64::from(days) / 2) / i64::from(days);
    let total = amount + (amount * 15 + 50) / 100;
    let issued = s.invoices().await.pop().expect("the final invoice");
    let month = this_month().format("%Y-%m");
    assert_eq!(issued, (total, format!("Starter plan, {month} ({} of {days} days)", today.day())));

    // Assert: next month's run does not bill it again.
    let next = this_month().checked_add_months(chrono::Months::new(1)).unwrap();
    assert!(!run::billable(&s.pool, next).await.unwrap().contains(&s.tenant));
}

fn days_in_month(d: chrono::NaiveDate) -> u32 {
    let first = d.with_day(1).unwrap();
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap();
    (next - first).num_days() as u32
}
