//! Invoices' SQL: issuing (in the caller's transaction: lock the chain, give back an
//! invoice the period already has, else take the next gapless number and ICV and insert
//! the immutable rows), credit notes, and reads. `crate::billing` decides what is on an
//! invoice; this file only stores it.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;

/// An issued invoice or credit note as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invoice {
    pub invoice_id: Uuid,
    pub tenant_id: TenantId,
    pub kind: String,
    pub number: String,
    pub period_start: Option<NaiveDate>,
    pub credits: Option<Uuid>,
    pub issued_at: DateTime<Utc>,
    pub seller_name: String,
    pub seller_vat: String,
    pub seller_address: String,
    pub buyer_name: String,
    pub buyer_email: String,
    pub subtotal: i64,
    pub vat: i64,
    pub total: i64,
    pub qr: String,
    pub uuid: Uuid,
    pub icv: i64,
    pub pih: String,
    pub hash: String,
}

/// One line as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Line {
    pub line_no: i32,
    pub description_ar: String,
    pub description_en: String,
    pub quantity: i32,
    pub unit_halalas: i64,
    pub amount_halalas: i64,
}

const COLUMNS: &str = "invoice_id, tenant_id, kind, number, period_start, credits, issued_at, seller_name,
                       seller_vat, seller_address, buyer_name, buyer_email, subtotal, vat, total, qr, uuid,
                       icv, pih, hash";

/// Locks the chain (every issuer waits here, one at a time) and returns (last ICV, last hash).
pub async fn lock_chain(conn: &mut PgConnection) -> Result<(i64, String), sqlx::Error> {
    sqlx::query_as("select icv, last_hash from invoice_chain for update").fetch_one(conn).await
}

/// The invoice `tenant` already has for `period`, read after [`lock_chain`].
pub async fn for_period(
    conn: &mut PgConnection,
    tenant: TenantId,
    period: NaiveDate,
) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from invoices where tenant_id = $1 and period_start = $2 and kind = 'invoice'"
    )))
    .bind(tenant)
    .bind(period)
    .fetch_optional(conn)
    .await
}

/// The credit note of invoice `credits`, read after [`lock_chain`].
pub async fn credit_note_of(
    conn: &mut PgConnection,
    tenant: TenantId,
    credits: Uuid,
) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from invoices where tenant_id = $1 and credits = $2 and kind = 'credit_note'"
    )))
    .bind(tenant)
    .bind(credits)
    .fetch_optional(conn)
    .await
}

/// The next number of `kind` in `year` (1, 2, 3 …), in the caller's transaction.
pub async fn next_number(conn: &mut PgConnection, kind: &str, year: i32) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into invoice_counters (kind, year, last) values ($1, $2, 1)
         on conflict (kind, year) do update set last = invoice_counters.last + 1
         returning last",
    )
    .bind(kind)
    .bind(year)
    .fetch_one(conn)
    .await
}

/// Stores an issued document, its lines and its state, and moves the chain to it.
pub async fn insert(conn: &mut PgConnection, inv: &Invoice, lines: &[Line]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into invoices (invoice_id, tenant_id, kind, number, period_start, credits, issued_at,
                               seller_name, seller_vat, seller_address, buyer_name, buyer_email,
                               subtotal, vat, total, qr, uuid, icv, pih, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(inv.invoice_id)
    .bind(inv.tenant_id)
    .bind(&inv.kind)
    .bind(&inv.number)
    .bind(inv.period_start)
    .bind(inv.credits)
    .bind(inv.issued_at)
    .bind(&inv.seller_name)
    .bind(&inv.seller_vat)
    .bind(&inv.seller_address)
    .bind(&inv.buyer_name)
    .bind(&inv.buyer_email)
    .bind(inv.subtotal)
    .bind(inv.vat)
    .bind(inv.total)
    .bind(&inv.qr)
    .bind(inv.uuid)
    .bind(inv.icv)
    .bind(&inv.pih)
    .bind(&inv.hash)
    .execute(&mut *conn)
    .await?;
    for l in lines {
        sqlx::query(
            "insert into invoice_lines (invoice_id, line_no, description_ar, description_en, quantity,
                                        unit_halalas, amount_halalas)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(inv.invoice_id)
        .bind(l.line_no)
        .bind(&l.description_ar)
        .bind(&l.description_en)
        .bind(l.quantity)
        .bind(l.unit_halalas)
        .bind(l.amount_halalas)
        .execute(&mut *conn)
        .await?;
    }
    let state = if inv.kind == "credit_note" { "paid" } else { "open" };
    sqlx::query("insert into invoice_states (invoice_id, status) values ($1, $2)")
        .bind(inv.invoice_id)
        .bind(state)
        .execute(&mut *conn)
        .await?;
    if let Some(original) = inv.credits {
        sqlx::query(
            "update invoice_states set status = 'credited', updated_at = now() where invoice_id = $1",
        )
        .bind(original)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("update invoice_chain set icv = $1, last_hash = $2")
        .bind(inv.icv)
        .bind(&inv.hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// One of `tenant`'s documents.
pub async fn get(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from invoices where tenant_id = $1 and invoice_id = $2"
    )))
    .bind(tenant)
    .bind(invoice)
    .fetch_optional(conn)
    .await
}

/// The lines of `invoice`.
pub async fn lines(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
) -> Result<Vec<Line>, sqlx::Error> {
    sqlx::query_as(
        "select l.line_no, l.description_ar, l.description_en, l.quantity, l.unit_halalas, l.amount_halalas
           from invoice_lines l join invoices i using (invoice_id)
          where i.tenant_id = $1 and l.invoice_id = $2 order by l.line_no",
    )
    .bind(tenant)
    .bind(invoice)
    .fetch_all(conn)
    .await
}

/// Every document of every tenant in chain order (the chain's check; staff and tests).
pub async fn chain(conn: &mut PgConnection) -> Result<Vec<Invoice>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {COLUMNS} from invoices order by icv")))
        .fetch_all(conn)
        .await
}

/// A document's state (`open`, `paid`, `credited`).
pub async fn status(pool: &PgPool, tenant: TenantId, invoice: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select s.status from invoice_states s join invoices i using (invoice_id)
          where i.tenant_id = $1 and s.invoice_id = $2",
    )
    .bind(tenant)
    .bind(invoice)
    .fetch_optional(pool)
    .await
}

/// One of a tenant's documents as the billing page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    #[sqlx(flatten)]
    pub invoice: Invoice,
    pub status: String,
    /// Moyasar's payment page, once the payment link is made.
    pub pay_url: Option<String>,
    /// Moyasar's id of it (staff).
    pub moyasar_id: Option<String>,
    /// Why staff must look (a payment that does not match).
    pub flagged: Option<String>,
}

/// `tenant`'s latest documents with their state, newest first.
pub async fn for_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS}, s.status, s.pay_url, s.moyasar_id, s.flagged from invoices join invoice_states s using (invoice_id)
          where tenant_id = $1 order by issued_at desc limit $2"
    )))
    .bind(tenant)
    .bind(limit)
    .fetch_all(conn)
    .await
}
