//! Names people and businesses give themselves. Such a name travels into emails we send to
//! other people (an invitation names its business and its inviter), so a name is only a
//! name: bounded, on one line, with no link or email address (also written with a
//! fullwidth or ideographic dot, or `evil[.]com`), no hidden direction controls (which can
//! reorder what a reader sees), no other control characters, and not our own name
//! ("Mujibak Security Team" would pass for us in an invitation email).

use serde::Serialize;

/// Longest business name, in characters.
pub const BUSINESS_MAX: usize = 80;
/// Longest person's name, in characters.
pub const PERSON_MAX: usize = 100;

/// A trimmed name that passed [`DisplayName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Checks `raw` (at most `max` characters). Errors are catalog keys.
    pub fn parse(raw: &str, max: usize) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("required");
        }
        if s.chars().count() > max {
            return Err("name.too_long");
        }
        if s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
            return Err("name.one_line");
        }
        let plain = unmasked(s);
        if looks_like_link(&plain) {
            return Err("name.no_links");
        }
        if claims_to_be_us(&plain) {
            return Err("name.reserved");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Direction overrides, embeddings and isolates (and the marks), which reorder text.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` lower-cased, with fullwidth letters and digits made ASCII and the other ways of
/// writing a dot (`。`, `．`, `｡`, `[.]`, `(.)`, `{.}`) made one.
fn unmasked(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3002}' | '\u{FF61}' | '\u{2024}' | '\u{FE52}' => '.',
            _ => c,
        })
        .collect::<String>()
        .to_lowercase();
    folded.replace("[.]", ".").replace("(.)", ".").replace("{.}", ".").replace("[dot]", ".")
}

/// Our own name (a name that passes for a message from Mujibak in an invitation email).
fn claims_to_be_us(plain: &str) -> bool {
    let letters: String = plain.chars().filter(|c| c.is_alphanumeric()).collect();
    letters.contains("mujibak") || letters.contains("مجيبك") || plain.contains("مُجيب")
}

/// A URL, an email address, or a word shaped like a domain (`evil.example`, `x.co`).
fn looks_like_link(s: &str) -> bool {
    let lower = s.to_lowercase();
    if lower.contains("://") || lower.contains("www.") || lower.contains('@') {
        return true;
    }
    lower.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        let mut parts = word.rsplitn(2, '.');
        let (tld, rest) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        !rest.is_empty()
            && rest.chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            && (2..=24).contains(&tld.len())
            && tld.chars().all(|c| c.is_ascii_alphabetic())
    })
}

/// A name stored before these rules (or otherwise untrusted) made safe to show in an email:
/// control and direction characters dropped, cut to `max` characters.
pub fn for_email(raw: &str, max: usize) -> String {
    raw.chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_in_both_languages_are_accepted() {
        for ok in [
            "Alnoor Bakery",
            "مخبز النور (تجريبي)",
            "St. Mary's Café",
            "A & B Co.",
            "Dr. Sara's Clinic",
            "مؤسسة ١٢٣",
        ] {
            assert_eq!(DisplayName::parse(ok, BUSINESS_MAX).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn links_line_breaks_direction_controls_and_long_names_are_refused() {
        let phish = "Mujibak Security Team. Your account is suspended – verify now at https://evil.example/x";
        let cases = [
            (phish, "name.too_long"),
            ("Verify at https://evil.example", "name.no_links"),
            ("Visit evil.example now", "name.no_links"),
            ("www.shop", "name.no_links"),
            ("mail me: a@b.sa", "name.no_links"),
            ("Bakery\nCall now", "name.one_line"),
            ("Bakery\u{202E}moc.live", "name.one_line"),
            ("   ", "required"),
        ];
        for (bad, why) in cases {
            assert_eq!(DisplayName::parse(bad, BUSINESS_MAX).err(), Some(why), "{bad:?}");
        }
        assert_eq!(DisplayName::parse(&"ب".repeat(81), BUSINESS_MAX).err(), Some("name.too_long"));
    }

    #[test]
    fn disguised_links_and_our_own_name_are_refused() {
        for (bad, why) in [
            ("Visit evil。com", "name.no_links"),
            ("evil[.]com", "name.no_links"),
            ("evil(.)com now", "name.no_links"),
            ("ｅｖｉｌ．ｃｏｍ", "name.no_links"),
            ("Mujibak Security Team", "name.reserved"),
            ("MUJIBAK support", "name.reserved"),
            ("فريق مجيبك", "name.reserved"),
        ] {
            assert_eq!(DisplayName::parse(bad, BUSINESS_MAX).err(), Some(why), "{bad:?}");
        }
        // A person may be called Mujeeb; a business may sell security.
        for ok in ["مجيب العتيبي", "Riyadh Security Team", "Abdul Mujeeb"] {
            assert!(DisplayName::parse(ok, BUSINESS_MAX).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn stored_names_are_made_safe_for_email() {
        assert_eq!(for_email("Bakery\n\u{202E}Call", 80), "BakeryCall");
        assert_eq!(for_email(&"x".repeat(100), 80).len(), 80);
    }
}
