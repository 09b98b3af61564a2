//! The invoice ledger (billing's foundation): two invoice runs racing over the same
//! period issue one invoice per tenant with gapless numbers and an unbroken ZATCA chain;
//! a rolled-back issue gives its number back; the database refuses to change or delete
//! an issued invoice, and a credit note reverses one without editing it; the chain check
//! catches a row changed behind the trigger's back; invoices and their payments survive an
//! account purge.

use chrono::{NaiveDate, TimeZone, Utc};
use mujibak_core::{
    billing::{self, chain::ChainError, Buyer, NewLine, Seller},
    domain::TenantId,
    purge::purge_content,
};
use sqlx::PgPool;

use crate::helpers::migrated;

fn seller() -> Seller {
    Seller {
        name: "مُجيب للتقنية".into(), vat_number: "300000000000003".into(), address: "Riyadh".into()
    }
}

fn plan_line() -> Vec<NewLine> {
    vec![NewLine {
        description_ar: "اشتراك الباقة الأساسية".into(),
        description_en: "Starter plan".into(),
        quantity: 1,
        unit_halalas: 9_900,
    }]
}

fn period() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

async fn tenants(pool: &PgPool, n: usize) -> Vec<TenantId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let t = TenantId::new();
        sqlx::query("insert into tenants (tenant_id, business_name) values ($1, $2)")
            .bind(t)
            .bind(format!("Shop {i}"))
            .execute(pool)
            .await
            .unwrap();
        ids.push(t);
    }
    ids
}

/// One invoice run: each tenant's invoice for the period, one transaction each.
async fn run(pool: PgPool, tenants: Vec<TenantId>) -> usize {
    let mut issued = 0;
    for t in tenants {
        let mut tx = pool.begin().await.unwrap();
        let buyer = Buyer { name: format!("Buyer {t}"), email: "owner@shop.sa".into() };
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 21, 10, 0).unwrap();
        let (_, new) =
            billing::issue(&mut tx, t, period(), &seller(), &buyer, &plan_line(), at).await.unwrap();
        tx.commit().await.unwrap();
        issued += usize::from(new);
    }
    issued
}

#[sqlx::test(migrations = false)]
async fn two_racing_runs_issue_one_invoice_per_tenant_with_gapless_numbers_and_an_unbroken_chain(
    pool: PgPool,
) {
    // Arrange: 30 tenants; a run that took number 1 and rolled back.
    let pool = crate::helpers::sized_pool(&pool, 10).await;
    let ids = tenants(&pool, 30).await;
    let mut tx = pool.begin().await.unwrap();
    let buyer = Buyer { name: "Rolled back".into(), email: "x@shop.sa".into() };
    billing::issue(&mut tx, ids[0], period(), &seller(), &buyer, &plan_line(), Utc::now()).await.unwrap();
    tx.rollback().await.unwrap();

    // Act: two runs at once, in opposite orders.
    let mut reversed = ids.clone();
    reversed.reverse();
    let (a, b) =
        tokio::join!(tokio::spawn(run(pool.clone(), ids.clone())), tokio::spawn(run(pool.clone(), reversed)));

    // Assert
    assert_eq!(a.unwrap() + b.unwrap(), 30, "each tenant's invoice issued once between the two runs");
    let numbers: Vec<String> =
        sqlx::query_scalar("select number from invoices order by number").fetch_all(&pool).await.unwrap();
    let expected: Vec<String> = (1..=30).map(|n| format!("INV-2026-{n:06}")).collect();
    assert_eq!(numbers, expected, "gapless, no duplicates, the rolled-back number reused");
    assert_eq!(billing::verify_chain(&pool).await.unwrap(), 30);
    let (subtotal, vat, total): (i64, i64, i64) =
        sqlx::query_as("select subtotal, vat, total from invoices limit 1").fetch_one(&pool).await.unwrap();
    assert_eq!((subtotal, vat, total), (9_900, 1_485, 11_385));
}

#[sqlx::test(migrations = false)]
async fn an_issued_invoice_cannot_change_and_a_credit_note_reverses_it_on_the_chain(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let t = tenants(&pool, 1).await[0];
    let mut tx = pool.begin().await.unwrap();
    let buyer = Buyer { name: "Alnoor Bakery".into(), email: "owner@alnoor.sa".into() };
    let at = Utc.with_ymd_and_hms(2025, 1, 15, 9, 30, 0).unwrap();
    let lines = vec![NewLine {
        description_ar: "اشتراك".into(),
        description_en: "Plan".into(),
        quantity: 1,
        unit_halalas: 10_000,
    }];
    let (invoice, _) = billing::issue(&mut tx, t, period(), &seller(), &buyer, &lines, at).await.unwrap();
    tx.commit().await.unwrap();

    // Act
    let mut refused = Vec::new();
    for sql in [
        "update invoices set total = 1",
        "update invoices set buyer_name = 'Someone else'",
        "delete from invoices",
        "update invoice_lines set unit_halalas = 1",
        "delete from invoice_lines",
        "truncate invoices cascade",
    ] {
        // Refused by the immutability trigger itself, not by some other error (a foreign
        // key would refuse `delete from invoices` all the same).
        let error = sqlx::raw_sql(sql).execute(&pool).await.err().map(|e| e.to_string()).unwrap_or_default();
        refused.push(error.contains("is immutable once issued"));
    }
    let mut tx = pool.begin().await.unwrap();
    let later = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
    let note = billing::credit(&mut tx, t, invoice.invoice_id, &seller(), later).await.unwrap();
    let again = billing::credit(&mut tx, t, invoice.invoice_id, &seller(), later).await.unwrap();
    tx.commit().await.unwrap();

    // Assert
    assert_eq!(refused, [true; 6], "every change to an issued invoice is refused");
    assert_eq!(invoice.qr, "ARnZhdmP2KzZitioINmE2YTYqtmC2YbZitipAg8zMDAwMDAwMDAwMDAwMDMDFDIwMjUtMDEtMTVUMDk6MzA6MDBaBAYxMTUuMDAFBTE1LjAw");
    assert_eq!(
        (note.kind.as_str(), note.number.as_str(), note.credits),
        ("credit_note", "CN-2026-000001", Some(invoice.invoice_id))
    );
    assert_eq!(
        (note.subtotal, note.vat, note.total, note.buyer_name.as_str()),
        (10_000, 1_500, 11_500, "Alnoor Bakery")
    );
    assert_eq!(again.invoice_id, note.invoice_id, "one credit note per invoice");
    assert_eq!(note.pih, invoice.hash);
    let mut conn = pool.acquire().await.unwrap();
    let status = sqlx::query_scalar::<_, String>("select status from invoice_states where invoice_id = $1")
        .bind(invoice.invoice_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(status, "credited");
    assert_eq!(billing::verify_chain(&pool).await.unwrap(), 2);
}

#[sqlx::test(migrations = false)]
async fn the_chain_check_catches_a_row_changed_behind_the_triggers_back(pool: PgPool) {
    // Arrange: three invoices; then a superuser disables the guard and edits the second.
    migrated(&pool).await;
    let ids = tenants(&pool, 3).await;
    run(pool.clone(), ids).await;
    assert_eq!(billing::verify_chain(&pool).await.unwrap(), 3);

    // Act
    sqlx::raw_sql(
        "alter table invoices disable trigger invoices_immutable;
         update invoices set buyer_name = 'Edited' where icv = 2;
         alter table invoices enable trigger invoices_immutable;",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Assert
    let broken = billing::verify_chain(&pool).await.unwrap_err();
    assert!(matches!(broken, billing::BillingError::Chain(ChainError::Content { icv: 2 })), "{broken:?}");
}

#[sqlx::test(migrations = false)]
async fn invoices_outlive_an_account_purge_with_the_buyer_as_printed(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let t = tenants(&pool, 1).await[0];
    run(pool.clone(), vec![t]).await;
    let invoice: uuid::Uuid =
        sqlx::query_scalar("select invoice_id from invoices").fetch_one(&pool).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    mujibak_core::db::payments::record_link(&mut conn, t, invoice, "moyasar-inv-1", "https://pay/1")
        .await
        .unwrap();
    let paid =
        mujibak_core::db::payments::mark_paid(&mut conn, t, invoice, "moyasar-pay-1", chrono::Utc::now());
    assert!(paid.await.unwrap());
    drop(conn);

    // Act
    purge_content(&pool, t).await.unwrap();

    // Assert
    let (buyer, lines): (String, i64) = sqlx::query_as(
        "select buyer_name, (select count(*) from invoice_lines) from invoices where tenant_id = $1",
    )
    .bind(t)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((buyer.as_str(), lines), (format!("Buyer {t}").as_str(), 1));
    let payment: (String, Option<String>, Option<String>) =
        sqlx::query_as("select status, moyasar_id, payment_id from invoice_states where invoice_id = $1")
            .bind(invoice)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        payment,
        ("paid".into(), Some("moyasar-inv-1".into()), Some("moyasar-pay-1".into())),
        "the payment too"
    );
    assert_eq!(billing::verify_chain(&pool).await.unwrap(), 1);
}
