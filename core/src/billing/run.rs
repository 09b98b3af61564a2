//! The monthly invoice run: on the 1st (00:10 Riyadh) every billable business gets one
//! invoice for the month that ended, billing the plan it is on when the run reaches it.
//! Billable: on a paid plan, signed up before the month ended, and not deleted (a
//! suspended business still owes its month). The buyer is printed as the business name
//! and its first owner's email at that moment (a snapshot that outlives the account).
//! Issuing goes through [`super::issue`], so a replayed or racing run issues nothing twice.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Asia::Riyadh;
use sqlx::{PgConnection, PgPool};

use super::{issue, BillingError, Buyer, Invoice, NewLine, Seller};
use crate::{db::billing_run as db, domain::TenantId};

/// The Riyadh calendar month `at` falls in (its first day).
pub fn period_of(at: DateTime<Utc>) -> NaiveDate {
    let local = at.with_timezone(&Riyadh).date_naive();
    local.with_day(1).unwrap_or(local)
}

/// The Riyadh calendar month before the one `tick` falls in (its first day).
pub fn period_before(tick: DateTime<Utc>) -> NaiveDate {
    let first = period_of(tick);
    first.checked_sub_months(Months::new(1)).unwrap_or(first)
}

/// Businesses to invoice for the month starting `period`.
pub async fn billable(pool: &PgPool, period: NaiveDate) -> Result<Vec<TenantId>, BillingError> {
    let end = period.checked_add_months(Months::new(1)).unwrap_or(period);
    Ok(db::billable(pool, end).await?)
}

/// Issues `tenant`'s invoice for `period` in the caller's transaction: the new invoice, or
/// `None` when it already has one or has nothing to pay (no longer billable).
pub async fn issue_for(
    conn: &mut PgConnection,
    tenant: TenantId,
    period: NaiveDate,
    seller: &Seller,
    at: DateTime<Utc>,
) -> Result<Option<Invoice>, BillingError> {
    let Some(b) = db::buyer_and_plan(conn, tenant).await? else {
        return Ok(None);
    };
    if b.price_halalas <= 0 {
        return Ok(None);
    }
    let month = period.format("%Y-%m");
    let line = NewLine {
        description_ar: format!("اشتراك باقة {} لشهر {month}", b.name_ar),
        description_en: format!("{} plan, {month}", b.name_en),
        quantity: 1,
        unit_halalas: b.price_halalas,
    };
    let buyer = Buyer { name: b.business_name, email: b.email };
    let (invoice, new) = issue(conn, tenant, period, seller, &buyer, &[line], at).await?;
    Ok(new.then_some(invoice))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_period_is_the_riyadh_month_before_the_tick() {
        // 00:10 on 1 December in Riyadh is 21:10 UTC on 30 November.
        let tick = Utc.with_ymd_and_hms(2026, 11, 30, 21, 10, 0).unwrap();
        assert_eq!(period_before(tick), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        let january = Utc.with_ymd_and_hms(2026, 12, 31, 21, 10, 0).unwrap();
        assert_eq!(period_before(january), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    }
}
