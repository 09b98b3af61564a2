//! Collecting an invoice through Moyasar: what a hosted invoice holds ([`hosted`]), what
//! Moyasar's answer about it means ([`verdict`]: paid only if its status is `paid` and
//! its amount and currency are the invoice's, anything else paid is a mismatch for
//! staff), and recording that answer ([`settle`], in the caller's transaction: paid once,
//! the bot's pause lifted when nothing overdue is left; a mismatch flagged and audited,
//! the invoice left open). Webhooks, callbacks and the hourly reconciliation all end
//! here, after re-fetching the invoice from Moyasar; nothing in a webhook body is trusted.
//! Must not: call Moyasar (the `billing` job does), render or know apalis.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{money, Invoice};
use crate::{
    clients::moyasar::{MoyasarInvoice, NewInvoice},
    db::{
        audit::{self, Actor},
        payments as db,
    },
    domain::TenantId,
};

/// The key in a hosted invoice's metadata that names our invoice.
pub const METADATA_KEY: &str = "invoice_id";

/// The hosted invoice (payment link) for `invoice`, with links back to `base_url`.
pub fn hosted(invoice: &Invoice, base_url: &str) -> NewInvoice {
    let period = invoice.period_start.map(|p| p.format("%Y-%m").to_string()).unwrap_or_default();
    NewInvoice {
        amount: invoice.total,
        currency: "SAR",
        description: format!(
            "Mujibak {} {period} — {} SAR incl. 15% VAT / مُجيب فاتورة {}",
            invoice.number,
            money::sar(invoice.total),
            invoice.number
        ),
        callback_url: format!("{base_url}/webhooks/moyasar/invoice"),
        success_url: format!("{base_url}/billing?paid={}", invoice.invoice_id),
        back_url: format!("{base_url}/billing"),
        metadata: json!({ METADATA_KEY: invoice.invoice_id.to_string(), "number": invoice.number }),
    }
}

/// What Moyasar's view of a hosted invoice means for ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Paid in full, in SAR.
    Paid { payment_id: String },
    /// Moyasar says paid, but not what we invoiced: staff must look.
    Mismatch(String),
    /// Not paid (yet): initiated, failed, expired…
    Unpaid,
}

/// Judges Moyasar's `fetched` invoice against our `total` (halalas, SAR).
pub fn verdict(total: i64, fetched: &MoyasarInvoice) -> Verdict {
    if fetched.status != "paid" {
        return Verdict::Unpaid;
    }
    if fetched.amount != total || fetched.currency != "SAR" {
        return Verdict::Mismatch(format!(
            "Moyasar invoice {} is paid with {} {} but the invoice is {total} SAR (halalas)",
            fetched.id, fetched.amount, fetched.currency
        ));
    }
    Verdict::Paid { payment_id: fetched.payment_id.clone().unwrap_or_else(|| fetched.id.clone()) }
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Marked paid now; `released`: the bot's pause was lifted with it.
    Paid { released: bool },
    /// Nothing to change (already paid, credited, or still unpaid).
    Unchanged,
    /// Flagged for staff now (a mismatch seen for the first time).
    Flagged,
}

/// Records `verdict` for `tenant`'s `invoice` in the caller's transaction. Invoices
/// overdue are those issued more than `suspend_after` before `now`.
pub async fn settle(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
    verdict: &Verdict,
    suspend_after: Duration,
    now: DateTime<Utc>,
) -> Result<Settled, sqlx::Error> {
    match verdict {
        Verdict::Paid { payment_id } => {
            if !db::mark_paid(conn, tenant, invoice, payment_id, now).await? {
                return Ok(Settled::Unchanged);
            }
            let detail = json!({ "invoice_id": invoice, "payment_id": payment_id });
            audit::record(conn, Some(tenant), &Actor::System, "invoice_paid", detail).await?;
            let released = db::release(conn, tenant, now - suspend_after).await?;
            Ok(Settled::Paid { released })
        }
        Verdict::Mismatch(reason) => {
            if !db::flag(conn, tenant, invoice, reason).await? {
                return Ok(Settled::Unchanged);
            }
            let detail = json!({ "invoice_id": invoice, "reason": reason });
            audit::record(conn, Some(tenant), &Actor::System, "invoice_payment_mismatch", detail).await?;
            Ok(Settled::Flagged)
        }
        Verdict::Unpaid => {
            db::checked(conn, tenant, invoice).await?;
            Ok(Settled::Unchanged)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(status: &str, amount: i64, currency: &str) -> MoyasarInvoice {
        MoyasarInvoice {
            id: "inv-1".into(),
            status: status.into(),
            amount,
            currency: currency.into(),
            url: String::new(),
            payment_id: Some("pay-1".into()),
            metadata: None,
        }
    }

    #[test]
    fn only_a_paid_invoice_of_the_same_amount_and_currency_is_paid() {
        assert_eq!(
            verdict(11385, &fetched("paid", 11385, "SAR")),
            Verdict::Paid { payment_id: "pay-1".into() }
        );
        assert!(matches!(verdict(11385, &fetched("paid", 11384, "SAR")), Verdict::Mismatch(_)));
        assert!(matches!(verdict(11385, &fetched("paid", 11385, "USD")), Verdict::Mismatch(_)));
        for status in ["initiated", "failed", "expired", "canceled", "on_hold", "refunded", "voided"] {
            assert_eq!(verdict(11385, &fetched(status, 11385, "SAR")), Verdict::Unpaid, "{status}");
        }
    }
}
