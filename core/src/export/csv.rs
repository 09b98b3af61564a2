//! `messages.csv` of an export: RFC 4180 (every field quoted, CRLF line ends), UTF-8 with
//! a byte-order mark so spreadsheet programs read Arabic right, times in UTC (RFC 3339).
//! A field that starts with a tab or a line break, or whose first visible character
//! (after spaces, line breaks and invisible direction marks) is `=`, `+`, `-` or `@`, ASCII
//! or fullwidth, gets a leading apostrophe: customers write the messages, and a
//! spreadsheet would otherwise run such a cell as a formula (CSV injection).

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::PgPool;

use super::{Archive, ExportError};
use crate::{
    db::export_rows,
    domain::{ContactId, TenantId},
};

const HEADER: [&str; 12] = [
    "conversation_id",
    "created_at",
    "message_id",
    "contact_name",
    "contact_number",
    "direction",
    "author",
    "kind",
    "body",
    "details",
    "status",
    "sent_at",
];

/// Writes every message of `tenant` (or of its customer `contact`), `page` rows per
/// query, into the archive's open file.
pub(super) async fn write_messages(
    zip: &mut Archive<'_>,
    pool: &PgPool,
    tenant: TenantId,
    contact: Option<ContactId>,
    page: i64,
) -> Result<(), ExportError> {
    zip.write("\u{feff}".as_bytes())?;
    zip.write(line(HEADER.iter().map(|h| h.to_string())).as_bytes())?;
    let mut after = None;
    loop {
        let rows = export_rows::messages(pool, tenant, contact, after, page).await?;
        let mut out = String::with_capacity(rows.len() * 160);
        for m in &rows {
            out.push_str(&line([
                m.conversation_id.to_string(),
                time(m.created_at),
                m.message_id.to_string(),
                m.contact_name.clone().unwrap_or_default(),
                m.contact_number.clone().unwrap_or_default(),
                m.direction.clone(),
                m.author.clone(),
                m.kind.clone(),
                m.body.clone().unwrap_or_default(),
                m.details.clone().unwrap_or_default(),
                m.status.clone(),
                m.sent_at.map(time).unwrap_or_default(),
            ]));
        }
        zip.write(out.as_bytes())?;
        zip.page_done(rows.len()).await?;
        match rows.last() {
            Some(m) if rows.len() as i64 == page => {
                after = Some((m.conversation_id, m.created_at, m.message_id))
            }
            _ => return Ok(()),
        }
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// One CSV record of `fields`, each quoted and guarded, ending in CRLF.
pub fn line(fields: impl IntoIterator<Item = String>) -> String {
    let quoted: Vec<String> = fields.into_iter().map(|f| field(&f)).collect();
    quoted.join(",") + "\r\n"
}

fn field(value: &str) -> String {
    format!("\"{}{}\"", if formula(value) { "'" } else { "" }, value.replace('"', "\"\""))
}

/// Whether a spreadsheet could read `value` as a formula: it starts with a tab or a line
/// break, or its first visible character (after spaces, line breaks, direction marks and
/// other invisible characters, which spreadsheets skip) is `=`, `+`, `-` or `@`, in their
/// ASCII or fullwidth forms.
fn formula(value: &str) -> bool {
    if value.starts_with(['\t', '\r', '\n']) {
        return true;
    }
    let invisible = |c: char| {
        c.is_whitespace()
            || crate::domain::name::is_bidi_control(c)
            || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
    };
    let first = value.trim_start_matches(invisible).chars().next();
    first.is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_doubled_and_guarded_against_formulas() {
        let got = line(["a,b".into(), "say \"hi\"".into(), "=1+2".into(), "سطر\nثان".into(), "".into()]);
        assert_eq!(got, "\"a,b\",\"say \"\"hi\"\"\",\"'=1+2\",\"سطر\nثان\",\"\"\r\n");
    }

    #[test]
    fn a_formula_behind_spaces_line_breaks_direction_marks_or_in_fullwidth_is_guarded() {
        for formula in [
            " =1+2",
            "\n=HYPERLINK(\"http://evil.example\")",
            "\u{200F}=1+2",
            "\u{00A0}\u{2066}@SUM(A1)",
            "＝1+2",
            "＋1",
            "\u{FEFF}-1",
        ] {
            assert_eq!(field(formula), format!("\"'{}\"", formula.replace('"', "\"\"")), "{formula:?}");
        }
        for plain in ["hello = world", "السعر ٥٠", "a-b", "email me"] {
            assert_eq!(field(plain), format!("\"{plain}\""), "{plain:?}");
        }
    }
}
