//! Billing's ledger: what an invoice holds and how it is issued, the Saudi VAT rule
//! (`money`), the ZATCA phase-1 QR (`qr`), the phase-2-ready chain (`chain`), plans and
//! their limits (`plan`), the monthly run (`run`) and collecting through Moyasar (`pay`).
//!
//! [`issue`] runs in the caller's transaction and is the only way an invoice is made: it
//! locks the chain (issuers queue there), returns the period's invoice if the tenant has
//! one (a replayed or racing run issues nothing), else takes the next gapless number of
//! the year (`INV-2026-000123`, Riyadh calendar), the next ICV and the previous hash,
//! computes totals, QR and hash, and stores rows the database will never let change.
//! [`credit`] reverses an invoice with a credit note (`CN-2026-000001`) on the same
//! chain; the original is marked credited, not edited. Must not: know apalis, render
//! templates or call Moyasar.

pub mod chain;
pub mod emails;
pub mod money;
pub mod pay;
pub mod pdf;
pub mod plan;
pub mod qr;
pub mod run;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Asia::Riyadh;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use crate::db::invoices::{Invoice, Line};
use crate::{db::invoices as db, domain::TenantId};

/// The seller printed on every invoice (from configuration).
#[derive(Debug, Clone)]
pub struct Seller {
    pub name: String,
    pub vat_number: String,
    pub address: String,
}

/// The buyer as printed: a snapshot that outlives the account.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub name: String,
    pub email: String,
}

/// A line to invoice (VAT-exclusive).
#[derive(Debug, Clone)]
pub struct NewLine {
    pub description_ar: String,
    pub description_en: String,
    pub quantity: i32,
    pub unit_halalas: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("no such invoice")]
    NotFound,
    #[error(transparent)]
    Qr(#[from] qr::FieldTooLong),
    #[error("the invoice chain is broken: {0}")]
    Chain(#[from] chain::ChainError),
    #[error("the invoice PDF could not be drawn: {0}")]
    Pdf(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// An issued document with what its printed forms (page and PDF) show: its lines and,
/// for a credit note, the number of the invoice it reverses.
#[derive(Debug, Clone)]
pub struct Printed {
    pub invoice: Invoice,
    pub lines: Vec<Line>,
    pub credits: Option<String>,
}

/// `tenant`'s document `invoice` as printed, or `None` when `tenant` has no such document.
pub async fn printed(pool: &PgPool, tenant: TenantId, invoice: Uuid) -> Result<Option<Printed>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let Some(doc) = db::get(&mut conn, tenant, invoice).await? else { return Ok(None) };
    let lines = db::lines(&mut conn, tenant, invoice).await?;
    let credits = match doc.credits {
        Some(original) => db::get(&mut conn, tenant, original).await?.map(|o| o.number),
        None => None,
    };
    Ok(Some(Printed { invoice: doc, lines, credits }))
}

/// Issues `tenant`'s invoice for the month starting `period`, or returns the one it has
/// (`false`: nothing was issued). In the caller's transaction.
pub async fn issue(
    conn: &mut PgConnection,
    tenant: TenantId,
    period: NaiveDate,
    seller: &Seller,
    buyer: &Buyer,
    lines: &[NewLine],
    at: DateTime<Utc>,
) -> Result<(Invoice, bool), BillingError> {
    let (icv, pih) = db::lock_chain(conn).await?;
    if let Some(existing) = db::for_period(conn, tenant, period).await? {
        return Ok((existing, false));
    }
    let lines: Vec<Line> = lines
        .iter()
        .zip(1..)
        .map(|(l, n)| Line {
            line_no: n,
            description_ar: l.description_ar.clone(),
            description_en: l.description_en.clone(),
            quantity: l.quantity,
            unit_halalas: l.unit_halalas,
            amount_halalas: l.unit_halalas * i64::from(l.quantity),
        })
        .collect();
    let doc = Draft { kind: "invoice", tenant, period: Some(period), credits: None, seller, buyer, at };
    let invoice = doc.build(conn, icv, pih, &lines).await?;
    db::insert(conn, &invoice, &lines).await?;
    Ok((invoice, true))
}

/// Reverses `invoice` with a credit note of the same amounts (returned, or the one it
/// already has). In the caller's transaction.
pub async fn credit(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
    seller: &Seller,
    at: DateTime<Utc>,
) -> Result<Invoice, BillingError> {
    let (icv, pih) = db::lock_chain(conn).await?;
    if let Some(note) = db::credit_note_of(conn, tenant, invoice).await? {
        return Ok(note);
    }
    let original = db::get(conn, tenant, invoice).await?.ok_or(BillingError::NotFound)?;
    let lines = db::lines(conn, tenant, invoice).await?;
    let buyer = Buyer { name: original.buyer_name.clone(), email: original.buyer_email.clone() };
    let doc = Draft {
        kind: "credit_note",
        tenant,
        period: None,
        credits: Some(invoice),
        seller,
        buyer: &buyer,
        at,
    };
    let note = doc.build(conn, icv, pih, &lines).await?;
    db::insert(conn, &note, &lines).await?;
    Ok(note)
}

/// Checks every document's place in the chain and its hash; how many there are.
pub async fn verify_chain(pool: &PgPool) -> Result<usize, BillingError> {
    let mut conn = pool.acquire().await?;
    let docs = db::chain(&mut conn).await?;
    let mut hashed = Vec::with_capacity(docs.len());
    for d in &docs {
        let lines = db::lines(&mut conn, d.tenant_id, d.invoice_id).await?;
        hashed.push((hashed_of(d, &lines), d.hash.as_str()));
    }
    Ok(chain::verify(hashed)?)
}

/// What the hash of `d` covers.
pub fn hashed_of<'a>(d: &'a Invoice, lines: &[Line]) -> chain::Hashed<'a> {
    chain::Hashed {
        number: &d.number,
        uuid: d.uuid.to_string(),
        icv: d.icv,
        pih: &d.pih,
        issued_at: timestamp(d.issued_at),
        seller_vat: &d.seller_vat,
        buyer_name: &d.buyer_name,
        subtotal: d.subtotal,
        vat: d.vat,
        total: d.total,
        lines: lines
            .iter()
            .map(|l| format!("{}|{}|{}|{}", l.description_en, l.quantity, l.unit_halalas, l.amount_halalas))
            .collect(),
    }
}

/// The invoice time as the QR and the hash print it (UTC, seconds).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A document being issued.
struct Draft<'a> {
    kind: &'static str,
    tenant: TenantId,
    period: Option<NaiveDate>,
    credits: Option<Uuid>,
    seller: &'a Seller,
    buyer: &'a Buyer,
    at: DateTime<Utc>,
}

impl Draft<'_> {
    async fn build(
        &self,
        conn: &mut PgConnection,
        last_icv: i64,
        pih: String,
        lines: &[Line],
    ) -> Result<Invoice, BillingError> {
        // Issued to the second (the QR and the hash print seconds).
        let at = DateTime::from_timestamp(self.at.timestamp(), 0).unwrap_or(self.at);
        let year = at.with_timezone(&Riyadh).year();
        let seq = db::next_number(conn, self.kind, year).await?;
        let prefix = if self.kind == "invoice" { "INV" } else { "CN" };
        let amounts: Vec<i64> = lines.iter().map(|l| l.amount_halalas).collect();
        let totals = money::totals(&amounts);
        let qr = qr::encode(&qr::QrFields {
            seller_name: &self.seller.name,
            vat_number: &self.seller.vat_number,
            timestamp: &timestamp(at),
            total: &money::sar(totals.total),
            vat: &money::sar(totals.vat),
        })?;
        let mut invoice = Invoice {
            invoice_id: Uuid::new_v4(),
            tenant_id: self.tenant,
            kind: self.kind.to_owned(),
            number: format!("{prefix}-{year}-{seq:06}"),
            period_start: self.period,
            credits: self.credits,
            issued_at: at,
            seller_name: self.seller.name.clone(),
            seller_vat: self.seller.vat_number.clone(),
            seller_address: self.seller.address.clone(),
            buyer_name: self.buyer.name.clone(),
            buyer_email: self.buyer.email.clone(),
            subtotal: totals.subtotal,
            vat: totals.vat,
            total: totals.total,
            qr,
            uuid: Uuid::new_v4(),
            icv: last_icv + 1,
            pih,
            hash: String::new(),
        };
        invoice.hash = chain::hash(&hashed_of(&invoice, lines));
        Ok(invoice)
    }
}
