//! `messages.csv` of an export: RFC 4180 (every field quoted, CRLF line ends), UTF-8 with
//! a byte-order mark so spreadsheet programs read Arabic right, times in UTC (RFC 3339).
//! A field that would start with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
//! leading apostrophe: customers write the messages, and a spreadsheet would otherwise
//! run such a cell as a formula (CSV injection).

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::PgPool;

use super::{Archive, ExportError};
use crate::{db::export_rows, domain::TenantId};

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

/// Writes every message of `tenant`, `page` rows per query, into the archive's open file.
pub(super) async fn write_messages(
    zip: &mut Archive<'_>,
    pool: &PgPool,
    tenant: TenantId,
    page: i64,
) -> Result<(), ExportError> {
    zip.write("\u{feff}".as_bytes())?;
    zip.write(line(HEADER.iter().map(|h| h.to_string())).as_bytes())?;
    let mut after = None;
    loop {
        let rows = export_rows::messages(pool, tenant, after, page).await?;
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
    let guard = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    format!("\"{}{}\"", if guard { "'" } else { "" }, value.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_doubled_and_guarded_against_formulas() {
        let got = line(["a,b".into(), "say \"hi\"".into(), "=1+2".into(), "سطر\nثان".into(), "".into()]);
        assert_eq!(got, "\"a,b\",\"say \"\"hi\"\"\",\"'=1+2\",\"سطر\nثان\",\"\"\r\n");
    }
}
