//! Numbers as Saudi users type them: Arabic-Indic (٠–٩) and Eastern Arabic-Indic (۰–۹)
//! digits are read as the ASCII digits they are (hours, phone-number search).

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

#[cfg(test)]
mod tests {
    #[test]
    fn both_arabic_digit_sets_read_as_ascii_and_nothing_else_changes() {
        assert_eq!(super::ascii_digits("٠٥٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ 12 سعر"), "050123456789 0123456789 12 سعر");
    }
}
