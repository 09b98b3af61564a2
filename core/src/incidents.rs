//! Breach notification (the privacy policy's promise; PDPL): staff with incidents:write
//! record an incident (title, a description in Arabic and in English, when Mujibak became
//! aware of it, and the tenants it affects: all, or a list), which starts the regulator's
//! 72-hour deadline ([`deadline`]); "notify affected users" ([`notify`]) fans out one
//! notification per user of an affected tenant, unique per incident and user (the table's
//! primary key), so running it again adds only users it never had; the caller enqueues
//! one `notify_breach` job per row returned, on the same transaction. Each staff action is
//! audited (`incident_recorded`, `incident_notified`). Users of an affected tenant see a
//! banner for [`BANNER_DAYS`] after the first notification ([`banners`]).
//! Also owns the notification email ([`mail`]), one language per user.
//! Must not: render templates or know apalis (the jobs crate enqueues and sends).

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Riyadh;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;

pub use crate::db::incidents::{Failure, Incident, Notice, Progress, Summary};
use crate::{
    db::{audit, incidents as db},
    domain::{IncidentId, Locale, TenantId, UserId},
    ops::tokens::Staff,
};

/// The regulator (SDAIA) must be told within this long of Mujibak becoming aware.
pub const REGULATOR_DEADLINE: Duration = Duration::hours(72);
/// Affected users see the in-app banner this long after the first notification.
pub const BANNER_DAYS: i32 = 30;
/// Longest title and description (characters).
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 5000;

/// Why an incident action was refused.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// A field's value is not acceptable (said in plain words, for staff).
    #[error("{0}")]
    Invalid(String),
    #[error("no such incident")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// An incident as staff typed it, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub description_ar: String,
    pub description_en: String,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` (a browser's datetime-local) in Riyadh time.
    pub detected_at: String,
    /// `all` or `list`.
    pub affects: String,
    /// Tenant ids separated by spaces, commas or new lines (for `list`).
    pub tenants: String,
}

/// Parses `detected_at`: RFC 3339, or a local Riyadh time without seconds or with them.
pub fn parse_detected_at(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .and_then(|local| Riyadh.from_local_datetime(&local).single())
        .map(|at| at.with_timezone(&Utc))
}

fn text(value: &str, what: &str, max: usize) -> Result<String, IncidentError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(IncidentError::Invalid(format!("{what} is 1 to {max} characters")));
    }
    Ok(value.to_owned())
}

/// Records `draft` for `staff`, audited; returns its id.
pub async fn record(
    conn: &mut PgConnection,
    staff: &Staff,
    draft: &Draft,
) -> Result<IncidentId, IncidentError> {
    let title = text(&draft.title, "the title", MAX_TITLE)?;
    let description_ar = text(&draft.description_ar, "the Arabic description", MAX_DESCRIPTION)?;
    let description_en = text(&draft.description_en, "the English description", MAX_DESCRIPTION)?;
    let detected_at = parse_detected_at(&draft.detected_at).ok_or_else(|| {
        IncidentError::Invalid("detected at is a date and time (Riyadh), e.g. 2026-11-30T14:05".into())
    })?;
    if detected_at > Utc::now() + Duration::minutes(5) {
        return Err(IncidentError::Invalid("detected at is in the future".into()));
    }
    let mut tenants: Vec<TenantId> = Vec::new();
    match draft.affects.trim() {
        "all" => {}
        "list" => {
            for part in draft.tenants.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty())
            {
                let id: TenantId = part.parse().map_err(|_| {
                    IncidentError::Invalid("tenants are tenant ids (UUIDs), one per line".into())
                })?;
                if !tenants.contains(&id) {
                    tenants.push(id);
                }
            }
            if tenants.is_empty() {
                return Err(IncidentError::Invalid(
                    "name at least one affected tenant, or choose all".into(),
                ));
            }
            let known = db::existing_tenants(conn, &tenants).await?;
            if let Some(unknown) = tenants.iter().find(|t| !known.contains(t)) {
                return Err(IncidentError::Invalid(format!("no tenant has the id {unknown}")));
            }
        }
        _ => return Err(IncidentError::Invalid("affects is all or list".into())),
    }
    let id = IncidentId::new();
    let recorded_by = staff.token_id.to_string();
    let new = db::NewIncident {
        incident_id: id,
        title: &title,
        description_ar: &description_ar,
        description_en: &description_en,
        detected_at,
        recorded_by: &recorded_by,
        recorded_by_name: &staff.name,
        tenants: &tenants,
    };
    db::insert(conn, &new).await?;
    let detail = json!({ "incident": id, "affects_all": tenants.is_empty(), "tenants": tenants });
    audit::record(conn, None, &staff.actor(), "incident_recorded", detail).await?;
    Ok(id)
}

/// Fans incident `id` out to every affected user not yet notified, audited; returns the
/// (tenant, user) pairs the caller must enqueue a `notify_breach` job for, on the same
/// transaction. A second call returns only users added since (none, usually).
pub async fn notify(
    conn: &mut PgConnection,
    staff: &Staff,
    id: IncidentId,
) -> Result<Vec<(TenantId, UserId)>, IncidentError> {
    db::get(conn, id).await?.ok_or(IncidentError::NotFound)?;
    let fresh = db::fan_out(conn, id).await?;
    audit::record(
        conn,
        None,
        &staff.actor(),
        "incident_notified",
        json!({ "incident": id, "queued": fresh.len() }),
    )
    .await?;
    tracing::info!(incident.id = %id, queued = fresh.len(), "incident notification fanned out");
    Ok(fresh)
}

/// The regulator's deadline as the console shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Deadline {
    pub at: DateTime<Utc>,
    /// Seconds left (negative once passed).
    pub seconds_left: i64,
    /// "41 h 12 min left" or "overdue by 3 h 5 min".
    pub label: String,
}

/// `detected_at` + 72 hours, seen at `now`.
pub fn deadline(detected_at: DateTime<Utc>, now: DateTime<Utc>) -> Deadline {
    let at = detected_at + REGULATOR_DEADLINE;
    let left = (at - now).num_seconds();
    let span = |s: i64| format!("{} h {} min", s / 3600, (s % 3600) / 60);
    let label =
        if left >= 0 { format!("{} left", span(left)) } else { format!("overdue by {}", span(-left)) };
    Deadline { at, seconds_left: left, label }
}

/// One incident with everything its console page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub incident: Incident,
    pub deadline: Deadline,
    pub tenants: Vec<TenantId>,
    pub progress: Progress,
    pub failures: Vec<Failure>,
}

pub async fn overview(conn: &mut PgConnection, id: IncidentId) -> Result<Overview, IncidentError> {
    let incident = db::get(conn, id).await?.ok_or(IncidentError::NotFound)?;
    Ok(Overview {
        deadline: deadline(incident.detected_at, Utc::now()),
        tenants: db::tenants(conn, id).await?,
        progress: db::progress(conn, id).await?,
        failures: db::failures(conn, id, 200).await?,
        incident,
    })
}

/// Incidents whose banner a user of `tenant` sees now.
pub async fn banners(conn: &mut PgConnection, tenant: TenantId) -> Result<Vec<IncidentId>, sqlx::Error> {
    db::banners(conn, tenant, BANNER_DAYS).await
}

/// Subject, text and HTML of the notification in `locale`, with the description in it.
pub fn mail(locale: Locale, description: &str, detected_at: DateTime<Utc>) -> (String, String, String) {
    let when = detected_at.with_timezone(&Riyadh).format("%Y-%m-%d %H:%M").to_string();
    let (subject, intro, aware, closing) = match locale {
        Locale::Ar => (
            "مُجيب: إشعار بحادثة أمنية تخص بياناتك",
            "نكتب إليك لإبلاغك بحادثة أمنية قد تكون طالت بيانات حسابك في مُجيب.",
            format!("علمنا بالحادثة في {when} بتوقيت الرياض."),
            "ستجد هذا الإشعار أيضًا عند تسجيل دخولك إلى مُجيب. لن نطلب منك أبدًا كلمة المرور عبر البريد.",
        ),
        Locale::En => (
            "Mujibak: notice of a security incident affecting your data",
            "We are writing to tell you about a security incident that may have affected your account's data on Mujibak.",
            format!("We became aware of it on {when} (Riyadh time)."),
            "You will also see this notice when you sign in to Mujibak. We will never ask for your password by email.",
        ),
    };
    let text = format!("{intro}\n\n{description}\n\n{aware}\n\n{closing}\n");
    let esc = crate::notices::esc;
    let paragraphs: String = description
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", esc(p.trim()).replace('\n', "<br>")))
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><body><p>{intro}</p>{paragraphs}<p>{aware}</p><p>{closing}</p></body></html>",
        lang = locale.as_str(),
        dir = locale.dir(),
        intro = esc(intro),
        aware = esc(&aware),
        closing = esc(closing),
    );
    (subject.to_owned(), text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detected_at_reads_rfc3339_and_riyadh_local_time() {
        let utc = Utc.with_ymd_and_hms(2026, 11, 30, 11, 5, 0).unwrap();
        assert_eq!(parse_detected_at("2026-11-30T11:05:00Z"), Some(utc));
        assert_eq!(parse_detected_at("2026-11-30T14:05"), Some(utc));
        assert_eq!(parse_detected_at(" 2026-11-30 14:05 "), Some(utc));
        assert_eq!(parse_detected_at("yesterday"), None);
    }

    #[test]
    fn the_deadline_is_72_hours_after_detection_and_says_when_it_passed() {
        let detected = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
        let d = deadline(detected, detected + Duration::minutes(90));
        assert_eq!(d.at, detected + Duration::hours(72));
        assert_eq!(d.label, "70 h 30 min left");
        let late = deadline(detected, detected + Duration::hours(75));
        assert!(late.seconds_left < 0);
        assert_eq!(late.label, "overdue by 3 h 0 min");
    }

    #[test]
    fn the_mail_is_in_one_language_and_escapes_the_description() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
        let (subject, text, html) = mail(Locale::Ar, "وصف <b>الحادثة</b>", at);
        assert!(subject.contains("حادثة") && !subject.contains("Mujibak:"));
        assert!(text.contains("وصف <b>الحادثة</b>") && text.contains("2026-11-30 13:00"));
        assert!(html.contains("&lt;b&gt;") && html.contains("dir=\"rtl\""));
        let (subject, text, _) = mail(Locale::En, "What happened", at);
        assert!(subject.starts_with("Mujibak:") && text.contains("What happened") && !text.contains("مُجيب"));
    }
}
