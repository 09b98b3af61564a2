//! Dates in the Hijri calendar as Saudi Arabia keeps it (Umm al-Qura), for users who
//! read dates that way: `10 ذو الحجة 1444 هـ` / `10 Dhu al-Hijjah 1444 AH`.

use chrono::{Datelike, NaiveDate};

use super::Locale;

const MONTHS_AR: [&str; 12] = [
    "محرم",
    "صفر",
    "ربيع الأول",
    "ربيع الآخر",
    "جمادى الأولى",
    "جمادى الآخرة",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذو القعدة",
    "ذو الحجة",
];
const MONTHS_EN: [&str; 12] = [
    "Muharram",
    "Safar",
    "Rabi al-Awwal",
    "Rabi al-Akhir",
    "Jumada al-Ula",
    "Jumada al-Akhirah",
    "Rajab",
    "Shaban",
    "Ramadan",
    "Shawwal",
    "Dhu al-Qadah",
    "Dhu al-Hijjah",
];

/// The Umm al-Qura (year, month, day) of `date`; `None` outside the calendar's table.
pub fn from_gregorian(date: NaiveDate) -> Option<(usize, usize, usize)> {
    let (y, m, d) = (usize::try_from(date.year()).ok()?, date.month() as usize, date.day() as usize);
    let h = hijri_date::HijriDate::from_gr(y, m, d).ok()?;
    Some((h.year, h.month, h.day))
}

/// `date` written in the Hijri calendar in `locale`; the Gregorian date (`YYYY-MM-DD`)
/// outside the table.
pub fn format(date: NaiveDate, locale: Locale) -> String {
    match from_gregorian(date) {
        Some((y, m, d)) => match locale {
            Locale::Ar => format!("{d} {} {y} هـ", MONTHS_AR[m - 1]),
            Locale::En => format!("{d} {} {y} AH", MONTHS_EN[m - 1]),
        },
        None => date.format("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn saudi_calendar_dates_match_the_announced_ones() {
        // 1 Ramadan 1445 was Monday 11 March 2024; Eid al-Adha 1444 was 28 June 2023.
        assert_eq!(from_gregorian(day(2024, 3, 11)), Some((1445, 9, 1)));
        assert_eq!(from_gregorian(day(2023, 6, 28)), Some((1444, 12, 10)));
        assert_eq!(format(day(2023, 6, 28), Locale::Ar), "10 ذو الحجة 1444 هـ");
        assert_eq!(format(day(2024, 3, 11), Locale::En), "1 Ramadan 1445 AH");
    }
}
