//! The monthly invoice run: on the 1st (00:10 Riyadh) every billable business gets one
//! invoice for the month that ended, billing the dearest plan it held at any time in the
//! month (moving to a cheaper plan before the run saves nothing). Billable: a paid plan held
//! in the month, signed up before the month ended, its owner's address proven, and no
//! deletion asked before the month began (a suspended business still owes its month). A
//! business that asked for its deletion during the month is billed for the days up to the
//! day it asked (that day included): the account stopped working then. The buyer is
//! printed as the business name and its first owner's email at that moment (a snapshot that
//! outlives the account). Issuing goes through [`super::issue`], so a replayed or racing
//! run issues nothing twice.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
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

/// The first day after `period`'s month.
pub fn period_end(period: NaiveDate) -> NaiveDate {
    period.checked_add_months(Months::new(1)).unwrap_or(period)
}

/// Midnight in Riyadh at the start of `day`.
pub fn starts_at(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Riyadh.from_local_datetime(&midnight).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// Businesses to invoice for the month starting `period`.
pub async fn billable(pool: &PgPool, period: NaiveDate) -> Result<Vec<TenantId>, BillingError> {
    Ok(db::billable(pool, period, period_end(period)).await?)
}

/// The days of `period`'s month a business used, when it asked for its deletion `asked`
/// during the month: (days used, days in the month); `None` when it used the whole month.
pub fn days_used(period: NaiveDate, asked: Option<DateTime<Utc>>) -> Option<(u32, u32)> {
    let asked = asked?;
    let end = period_end(period);
    if asked < starts_at(period) || asked >= starts_at(end) {
        return None;
    }
    let days = (end - period).num_days() as u32;
    Some((asked.with_timezone(&Riyadh).day(), days))
}

/// `price` for `used` of `days` days, to the nearest halala (halves up).
pub fn prorated(price: i64, used: u32, days: u32) -> i64 {
    (2 * price * i64::from(used) + i64::from(days)) / (2 * i64::from(days))
}

/// Issues `tenant`'s invoice for `period` in the caller's transaction: the new invoice, or
/// `None` when it already has one or has nothing to pay (no paid plan held in the month,
/// or no owner with a proven address).
pub async fn issue_for(
    conn: &mut PgConnection,
    tenant: TenantId,
    period: NaiveDate,
    seller: &Seller,
    at: DateTime<Utc>,
) -> Result<Option<Invoice>, BillingError> {
    let asked = db::deletion_asked(conn, tenant).await?;
    let used = days_used(period, asked);
    // The plans held up to the deletion's asking, or to the month's end.
    let until = match (used, asked) {
        (Some(_), Some(asked)) => asked,
        _ => starts_at(period_end(period)),
    };
    let Some(b) = db::buyer_and_plan(conn, tenant, starts_at(period), until).await? else {
        return Ok(None);
    };
    if b.price_halalas <= 0 {
        return Ok(None);
    }
    let month = period.format("%Y-%m");
    let (unit, part_en, part_ar) = match used {
        Some((used, days)) => (
            prorated(b.price_halalas, used, days),
            format!(" ({used} of {days} days)"),
            format!(" ({used} من {days} يومًا)"),
        ),
        None => (b.price_halalas, String::new(), String::new()),
    };
    let line = NewLine {
        description_ar: format!("اشتراك باقة {} لشهر {month}{part_ar}", b.name_ar),
        description_en: format!("{} plan, {month}{part_en}", b.name_en),
        quantity: 1,
        unit_halalas: unit,
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

    #[test]
    fn a_month_left_part_way_is_billed_for_its_days_to_the_halala() {
        let november = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        // Asked on 12 November, 23:30 Riyadh (20:30 UTC): twelve of thirty days.
        let asked = Utc.with_ymd_and_hms(2026, 11, 12, 20, 30, 0).unwrap();
        assert_eq!(days_used(november, Some(asked)), Some((12, 30)));
        // 00:30 on 1 December in Riyadh is still November in UTC: the next month, whole.
        let december = Utc.with_ymd_and_hms(2026, 11, 30, 21, 30, 0).unwrap();
        assert_eq!(days_used(november, Some(december)), None);
        assert_eq!(days_used(november, None), None);
        assert_eq!(prorated(9_900, 12, 30), 3_960);
        assert_eq!(prorated(9_900, 6, 31), 1_916); // 1916.13
        assert_eq!(prorated(29_900, 1, 31), 965); // 964.52, rounded up
        assert_eq!(starts_at(november), Utc.with_ymd_and_hms(2026, 10, 31, 21, 0, 0).unwrap());
    }
}
