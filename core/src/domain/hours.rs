//! Business hours as an owner types them and as the bot keeps them: parsing a day's
//! ranges (`09:00-17:00, 18:00-23:00`, Arabic-Indic digits and the Arabic comma accepted,
//! anything else refused with a reason, never dropped; a range that ends before it starts,
//! `16:00-02:00`, crosses midnight and belongs to the day it starts), whether the business
//! is open at a moment ([`open_at`]), and the away notice's rule: outside
//! the hours a customer is told once per closed period, not once per message, and the
//! business chooses whether the AI keeps answering meanwhile ([`away`]).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::{Asia::Riyadh, Tz};

use super::bot::{BotSettings, Hours};
use super::digits::ascii_digits;

/// Why a day's hours were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursError {
    /// Not `HH:MM-HH:MM` (e.g. `4pm-11pm`).
    Format,
    /// A range that ends when it starts (`09:00-09:00`).
    Backwards,
}

impl HoursError {
    /// The message key (`errors.*`).
    pub fn key(self) -> &'static str {
        match self {
            HoursError::Format => "errors.hours_format",
            HoursError::Backwards => "errors.hours_backwards",
        }
    }
}

/// One day's ranges from what the owner typed: empty means closed that day.
pub fn parse_day(raw: &str) -> Result<Vec<(String, String)>, HoursError> {
    let text = ascii_digits(raw).replace('،', ",").replace(['–', '—'], "-");
    let mut ranges = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once('-').ok_or(HoursError::Format)?;
        let (from, to) = (clock(from.trim())?, clock(to.trim())?);
        // `to` before `from`: past midnight, into the next day (24:00 is no start).
        if to == from || from == 24 * 60 {
            return Err(HoursError::Backwards);
        }
        ranges.push((format!("{:02}:{:02}", from / 60, from % 60), format!("{:02}:{:02}", to / 60, to % 60)));
    }
    Ok(ranges)
}

/// Minutes after midnight of `H:MM` or `HH:MM` (24:00 is the end of the day).
fn clock(t: &str) -> Result<u32, HoursError> {
    let (h, m) = t.split_once(':').ok_or(HoursError::Format)?;
    let digits =
        |s: &str, max_len| !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return Err(HoursError::Format);
    }
    let (h, m): (u32, u32) =
        (h.parse().map_err(|_| HoursError::Format)?, m.parse().map_err(|_| HoursError::Format)?);
    if m >= 60 || h * 60 + m > 24 * 60 {
        return Err(HoursError::Format);
    }
    Ok(h * 60 + m)
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The open periods that start on `day` (Riyadh): a range that ends before it starts
/// closes the next day.
fn periods(hours: &Hours, day: NaiveDate) -> Vec<(DateTime<Tz>, DateTime<Tz>)> {
    let name = DAYS[day.weekday().num_days_from_monday() as usize];
    let at = |day: NaiveDate, minutes: u32| {
        let end_of_day = minutes >= 24 * 60;
        let time =
            NaiveTime::from_num_seconds_from_midnight_opt(if end_of_day { 0 } else { minutes * 60 }, 0)?;
        let day = if end_of_day { day.succ_opt()? } else { day };
        Riyadh.from_local_datetime(&day.and_time(time)).earliest()
    };
    hours
        .get(name)
        .into_iter()
        .flatten()
        .filter_map(|(f, t)| {
            let (f, t) = (clock(f).ok()?, clock(t).ok()?);
            let close_day = if t <= f { day.succ_opt()? } else { day };
            Some((at(day, f)?, at(close_day, t)?))
        })
        .collect()
}

/// Whether the business is open at `now` (no hours set: always), counting the part after
/// midnight of the day before's late range.
pub fn open_at(hours: &Hours, now: DateTime<Utc>) -> bool {
    if hours.is_empty() {
        return true;
    }
    let local = now.with_timezone(&Riyadh);
    let today = local.date_naive();
    [today.pred_opt(), Some(today)]
        .into_iter()
        .flatten()
        .flat_map(|day| periods(hours, day))
        .any(|(open, close)| open <= local && local < close)
}

/// Whether the business was open at some moment after `from` and up to `to`.
pub fn opened_between(hours: &Hours, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    // No hours: always open. Over a week: every open day has come round.
    if hours.is_empty() || to - from > Duration::days(8) {
        return true;
    }
    let (start, end) = (from.with_timezone(&Riyadh), to.with_timezone(&Riyadh));
    // From the day before: its range past midnight may reach into `from`'s day.
    let (mut day, last) = (start.date_naive().pred_opt().unwrap_or(start.date_naive()), end.date_naive());
    loop {
        if periods(hours, day).iter().any(|(open, close)| *open <= end && *close > start) {
            return true;
        }
        match day.succ_opt() {
            Some(next) if day < last => day = next,
            _ => break,
        }
    }
    false
}

/// What a reply does about the hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Away {
    /// Ask the model (open, or the business lets the AI answer while closed).
    pub ai: bool,
    /// Send (or add) the away message: closed, and this customer has not had it since the
    /// business last closed.
    pub notice: bool,
}

/// The away rule for a reply at `now` to a customer last given the away message at
/// `last_notice`.
pub fn away(settings: &BotSettings, last_notice: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Away {
    if settings.away_message.trim().is_empty() || open_at(&settings.business_hours.0, now) {
        return Away { ai: true, notice: false };
    }
    let notice = last_notice.is_none_or(|at| opened_between(&settings.business_hours.0, at, now));
    Away { ai: settings.away_mode == "notice_and_ai", notice }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_read_with_arabic_digits_and_refused_with_a_reason_not_dropped() {
        assert_eq!(parse_day("٠٩:٠٠-١٧:٠٠").unwrap(), vec![("09:00".into(), "17:00".into())]);
        assert_eq!(parse_day("۹:۳۰-۱۳:۰۰، 16:00–23:00").unwrap().len(), 2);
        assert_eq!(parse_day(" ").unwrap(), vec![]);
        assert_eq!(parse_day("18:00-24:00").unwrap(), vec![("18:00".into(), "24:00".into())]);
        assert_eq!(parse_day("4pm-11pm"), Err(HoursError::Format));
        assert_eq!(parse_day("9-17"), Err(HoursError::Format));
        assert_eq!(parse_day("09:00-25:00"), Err(HoursError::Format));
        assert_eq!(
            parse_day("16:00-02:00").unwrap(),
            vec![("16:00".into(), "02:00".into())],
            "past midnight"
        );
        assert_eq!(parse_day("٠٩:٠٠-٠٩:٠٠"), Err(HoursError::Backwards));
        assert_eq!(parse_day("24:00-02:00"), Err(HoursError::Backwards));
    }

    #[test]
    fn a_range_past_midnight_belongs_to_the_day_it_starts_and_runs_into_the_next() {
        // Tuesdays 16:00-02:00 only (1 December 2026 is a Tuesday).
        let mut hours = Hours::new();
        hours.insert("tue".into(), vec![("16:00".into(), "02:00".into())]);
        assert!(!open_at(&hours, riyadh(1, 15, 59)));
        assert!(open_at(&hours, riyadh(1, 23, 30)));
        assert!(open_at(&hours, riyadh(2, 1, 59)), "Wednesday 01:59 is Tuesday night");
        assert!(!open_at(&hours, riyadh(2, 2, 0)));
        assert!(!open_at(&hours, riyadh(2, 23, 0)), "Wednesday evening is closed");
        assert!(!open_at(&hours, riyadh(1, 1, 0)), "Tuesday 01:00 would be Monday night");
        assert!(opened_between(&hours, riyadh(2, 0, 30), riyadh(2, 3, 0)), "open until 02:00");
        assert!(!opened_between(&hours, riyadh(2, 2, 30), riyadh(2, 23, 0)));
        let mut until_midnight = Hours::new();
        until_midnight.insert("tue".into(), vec![("18:00".into(), "24:00".into())]);
        assert!(open_at(&until_midnight, riyadh(1, 23, 59)));
        assert!(!open_at(&until_midnight, riyadh(2, 0, 0)));
    }

    fn riyadh(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        // December 2026: the 1st is a Tuesday.
        Riyadh.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap().with_timezone(&Utc)
    }

    fn settings(mode: &str) -> BotSettings {
        let mut hours = Hours::new();
        for day in DAYS {
            hours.insert(day.into(), vec![("09:00".into(), "17:00".into())]);
        }
        BotSettings {
            away_message: "We are closed; we open at 9.".into(),
            away_mode: mode.into(),
            business_hours: sqlx::types::Json(hours),
            ..Default::default()
        }
    }

    #[test]
    fn the_away_notice_goes_once_per_closed_period_and_the_ai_answers_if_chosen() {
        let s = settings("notice_only");
        assert_eq!(away(&s, None, riyadh(1, 10, 0)), Away { ai: true, notice: false }, "open");
        assert_eq!(away(&s, None, riyadh(1, 20, 0)), Away { ai: false, notice: true });
        assert!(!away(&s, Some(riyadh(1, 20, 0)), riyadh(1, 23, 0)).notice, "same evening");
        assert!(!away(&s, Some(riyadh(1, 20, 0)), riyadh(2, 6, 0)).notice, "same night");
        assert!(away(&s, Some(riyadh(1, 20, 0)), riyadh(2, 18, 0)).notice, "it opened in between");
        assert!(away(&s, Some(riyadh(1, 20, 0)), riyadh(20, 18, 0)).notice, "weeks later");
        let ai = settings("notice_and_ai");
        assert_eq!(away(&ai, None, riyadh(1, 20, 0)), Away { ai: true, notice: true });
        assert_eq!(away(&ai, Some(riyadh(1, 20, 0)), riyadh(1, 21, 0)), Away { ai: true, notice: false });
        let silent = BotSettings { away_message: String::new(), ..settings("notice_only") };
        assert_eq!(
            away(&silent, None, riyadh(1, 20, 0)),
            Away { ai: true, notice: false },
            "no message: answer"
        );
    }
}
