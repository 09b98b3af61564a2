//! Numbers as Saudi users type them: Arabic-Indic (٠–٩) and Eastern Arabic-Indic (۰–۹)
//! digits are read as the ASCII digits they are (hours, phone-number search), and a phone
//! number typed the local way (`055 123 4567`), the international way (`+966 55 123 4567`,
//! `00966…`) or without its 0 (`551234567`) is read as WhatsApp stores it (`966551234567`).

/// `s` with Arabic-Indic and Eastern Arabic-Indic digits written as ASCII.
pub fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            c => c,
        })
        .collect()
}

/// The digits of `query` as WhatsApp stores a number (country code, no `+`), if `query`
/// is written like a phone number (digits with `+`, spaces, dashes, dots or brackets);
/// a Saudi mobile number typed locally (`05…`, ten digits; `5…`, nine) gains its `966`.
/// `None` for anything else (a name, a sentence).
pub fn saudi_number(query: &str) -> Option<String> {
    let query = ascii_digits(query);
    let phone_like = query.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    if !phone_like || digits.is_empty() {
        return None;
    }
    let digits = digits.strip_prefix("00").map(str::to_owned).unwrap_or(digits);
    Some(match digits.len() {
        10 if digits.starts_with("05") => format!("966{}", &digits[1..]),
        9 if digits.starts_with('5') => format!("966{digits}"),
        _ => digits,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_saudi_number_is_read_as_whatsapp_stores_it_however_it_is_typed() {
        for typed in [
            "0551234567",
            "055 123 4567",
            "+966 55 123 4567",
            "+966-55-123-4567",
            "00966551234567",
            "551234567",
            "٠٥٥١٢٣٤٥٦٧",
            "(055) 123-4567",
            "966551234567",
        ] {
            assert_eq!(super::saudi_number(typed).as_deref(), Some("966551234567"), "{typed}");
        }
        assert_eq!(super::saudi_number("4567").as_deref(), Some("4567"), "part of a number");
        assert_eq!(super::saudi_number("+44 20 7946 0958").as_deref(), Some("442079460958"));
        for not_a_number in ["Customer 15", "نورة", "", "  ", "+"] {
            assert_eq!(super::saudi_number(not_a_number), None, "{not_a_number:?}");
        }
    }

    #[test]
    fn both_arabic_digit_sets_read_as_ascii_and_nothing_else_changes() {
        assert_eq!(super::ascii_digits("٠٥٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ 12 سعر"), "050123456789 0123456789 12 سعر");
    }
}
