//! Templates and UI strings, loaded once at boot from `templates/` (embedded in the binary,
//! so every role finds them whatever its working directory). Pages are typed structs
//! rendered inside the shared layout data ([`Chrome`]); every UI string comes from the
//! catalogs `templates/locales/{ar,en}.toml`, so a page missing a key fails to render.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Riyadh;
use mujibak_core::domain::Locale;
use rust_embed::RustEmbed;
use serde::Serialize;
use serde_json::Value;

/// Everything under `templates/`.
#[derive(RustEmbed)]
#[folder = "templates/"]
pub struct Assets;

/// The layout data every page gets beside its own.
#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    pub lang: &'static str,
    pub dir: &'static str,
    pub csrf: String,
    pub path: String,
    pub user: Option<ChromeUser>,
    pub flash: Vec<FlashView>,
    pub support_email: String,
    pub sandbox: bool,
    /// Messages about the page's form as a whole, already translated.
    pub alerts: Vec<String>,
    /// Security incidents that affected the signed-in user's tenant, notified within the
    /// last 30 days: each shows a banner linking to its notice.
    pub incidents: Vec<mujibak_core::domain::IncidentId>,
    /// `hijri` or `gregorian`: the calendar the `riyadh` filter writes dates in.
    pub calendar: &'static str,
}

/// The signed-in user, as the layout shows them.
#[derive(Debug, Clone, Serialize)]
pub struct ChromeUser {
    pub name: String,
    pub is_owner: bool,
    /// Until the address is proven, every page says so (and owners cannot invite or connect).
    pub email_verified: bool,
}

/// A flash message, already translated.
#[derive(Debug, Clone, Serialize)]
pub struct FlashView {
    pub kind: String,
    pub text: String,
}

/// Compiled templates and both catalogs.
pub struct Views {
    tera: tera::Tera,
    ar: Value,
    en: Value,
}

impl Views {
    /// Shown if even the error page cannot render.
    pub const FALLBACK_ERROR: &'static str = "<!doctype html><title>Error</title><p>Error / خطأ</p>";

    /// Loads and compiles every template and catalog; fails fast on any error.
    pub fn load() -> anyhow::Result<Self> {
        let mut tera = tera::Tera::default();
        let mut sources = Vec::new();
        for name in Assets::iter() {
            let template = name.ends_with(".html") || name.ends_with(".txt");
            if template && !name.starts_with("privacy/") && !name.starts_with("static/") {
                let file = Assets::get(&name).expect("listed asset exists");
                let text = String::from_utf8(file.data.into_owned())?;
                sources.push((name.to_string(), text));
            }
        }
        tera.add_raw_templates(sources)?;
        tera.autoescape_on(vec![".html"]);
        tera.register_filter("riyadh", riyadh_filter);
        tera.register_filter("graph_error", graph_error_filter);
        Ok(Self { tera, ar: catalog("ar")?, en: catalog("en")? })
    }

    /// The catalog of `locale` (the `t` of templates).
    pub fn catalog(&self, locale: Locale) -> &Value {
        match locale {
            Locale::Ar => &self.ar,
            Locale::En => &self.en,
        }
    }

    /// One string by dotted key (`flash.signed_in`); the key itself if missing.
    pub fn text(&self, locale: Locale, key: &str) -> String {
        key.split('.')
            .try_fold(self.catalog(locale), |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_owned()
    }

    /// Renders `template` with the page data under `page` and the layout data.
    pub fn render(&self, template: &str, page: &impl Serialize, chrome: &Chrome) -> tera::Result<String> {
        let locale = Locale::parse(chrome.lang).unwrap_or(Locale::Ar);
        let mut ctx = tera::Context::from_serialize(chrome)?;
        ctx.insert("page", page);
        ctx.insert("t", self.catalog(locale));
        self.tera.render(template, &ctx)
    }

    /// Renders a non-layout template (emails) with `data` and the catalog of `locale`.
    pub fn render_plain(
        &self,
        template: &str,
        data: &impl Serialize,
        locale: Locale,
    ) -> tera::Result<String> {
        let mut ctx = tera::Context::from_serialize(data)?;
        ctx.insert("t", self.catalog(locale));
        ctx.insert("lang", locale.as_str());
        ctx.insert("dir", locale.dir());
        ctx.insert("calendar", "gregorian");
        self.tera.render(template, &ctx)
    }

    /// Dotted keys present in one catalog and not the other, as `lang:key`.
    pub fn missing_keys(&self) -> Vec<String> {
        let (ar, en) = (keys(&self.ar), keys(&self.en));
        let mut missing: Vec<_> = en.difference(&ar).map(|k| format!("ar:{k}")).collect();
        missing.extend(ar.difference(&en).map(|k| format!("en:{k}")));
        missing
    }

    /// A static file (CSS) from `templates/static/`.
    pub fn asset(name: &str) -> Option<Vec<u8>> {
        Assets::get(&format!("static/{name}")).map(|f| f.data.into_owned())
    }

    /// The privacy policy text in `locale`.
    pub fn policy(locale: Locale) -> String {
        let file =
            Assets::get(&format!("privacy/policy.{}.txt", locale.as_str())).expect("policy text is embedded");
        String::from_utf8_lossy(&file.data).into_owned()
    }
}

fn catalog(lang: &str) -> anyhow::Result<Value> {
    let file = Assets::get(&format!("locales/{lang}.toml"))
        .ok_or_else(|| anyhow::anyhow!("templates/locales/{lang}.toml is missing"))?;
    let table: toml::Table = toml::from_str(std::str::from_utf8(&file.data)?)?;
    Ok(serde_json::to_value(table)?)
}

fn keys(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, v, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    walk("", v, &mut out);
    out
}

/// `{{ ts | riyadh }}`: an RFC 3339 timestamp shown in Asia/Riyadh, Gregorian, 24-hour.
/// The class of a stored WhatsApp error (`domain::graph_error`), a catalog key.
fn graph_error_filter(value: &Value, _: &std::collections::HashMap<String, Value>) -> tera::Result<Value> {
    let raw = value.as_str().ok_or_else(|| tera::Error::msg("graph_error expects a string"))?;
    Ok(Value::String(mujibak_core::domain::graph_error::class(raw).to_owned()))
}

/// A timestamp as Riyadh's wall clock: `2026-11-26 00:30`, or with `calendar="hijri"` the
/// Umm al-Qura date in `lang` (`26 جمادى الأولى 1448 هـ 00:30`).
fn riyadh_filter(value: &Value, args: &std::collections::HashMap<String, Value>) -> tera::Result<Value> {
    let raw = value.as_str().ok_or_else(|| tera::Error::msg("riyadh expects a timestamp string"))?;
    let at: DateTime<Utc> =
        raw.parse().map_err(|e| tera::Error::msg(format!("bad timestamp {raw:?}: {e}")))?;
    let local = at.with_timezone(&Riyadh);
    if args.get("calendar").and_then(Value::as_str) != Some("hijri") {
        return Ok(Value::String(local.format("%Y-%m-%d %H:%M").to_string()));
    }
    let locale = args.get("lang").and_then(Value::as_str).and_then(Locale::parse).unwrap_or(Locale::Ar);
    let date = mujibak_core::domain::hijri::format(local.date_naive(), locale);
    Ok(Value::String(format!("{date} {}", local.format("%H:%M"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_have_the_same_keys() {
        let views = Views::load().expect("templates and catalogs load");
        let missing = views.missing_keys();
        assert!(missing.is_empty(), "keys missing from a catalog: {missing:?}");
    }

    #[test]
    fn riyadh_times_are_utc_plus_three() {
        let v = riyadh_filter(&Value::String("2026-11-25T21:30:00Z".into()), &Default::default()).unwrap();
        assert_eq!(v, Value::String("2026-11-26 00:30".into()));
        // In Riyadh it is already the 28th: Eid al-Adha 1444.
        let hijri = [("calendar".to_owned(), Value::from("hijri")), ("lang".to_owned(), Value::from("en"))];
        let v = riyadh_filter(&Value::String("2023-06-27T21:30:00Z".into()), &hijri.into_iter().collect())
            .unwrap();
        assert_eq!(v, Value::String("10 Dhu al-Hijjah 1444 AH 00:30".into()));
    }
}
