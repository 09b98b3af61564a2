//! How a customer is shown and tagged: a Saudi mobile number written the way Saudis read
//! it (+966 5X XXX XXXX), and the labels a team puts on a customer (typed separated by
//! commas, Arabic or Latin).

/// `wa_id` (digits, country code first) for display: Saudi mobiles grouped as
/// `+966 5X XXX XXXX`; any other number as `+` and its digits.
pub fn display_number(wa_id: &str) -> String {
    let digits: String = wa_id.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("966") {
        Some(local) if local.len() == 9 && local.starts_with('5') => {
            format!("+966 {} {} {}", &local[..2], &local[2..5], &local[5..])
        }
        _ => format!("+{digits}"),
    }
}

/// At most this many labels on a customer, each at most [`MAX_LABEL`] characters.
pub const MAX_LABELS: usize = 10;
pub const MAX_LABEL: usize = 30;

/// Why typed labels were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelError {
    TooMany,
    TooLong,
}

/// Labels as typed ("VIP، wholesale, vip"): split at Latin or Arabic commas, trimmed,
/// lower-cased, repeats dropped, in the order typed.
pub fn parse_labels(typed: &str) -> Result<Vec<String>, LabelError> {
    let mut labels: Vec<String> = Vec::new();
    for raw in typed.split([',', '،']) {
        let label = raw.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        if label.is_empty() || labels.contains(&label) {
            continue;
        }
        if label.chars().count() > MAX_LABEL {
            return Err(LabelError::TooLong);
        }
        labels.push(label);
    }
    if labels.len() > MAX_LABELS {
        return Err(LabelError::TooMany);
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saudi_mobiles_are_grouped_and_other_numbers_left_whole() {
        assert_eq!(display_number("966551234567"), "+966 55 123 4567");
        assert_eq!(display_number("447700900123"), "+447700900123");
        assert_eq!(display_number("96611234567"), "+96611234567", "a landline is not a mobile");
    }

    #[test]
    fn labels_split_at_either_comma_and_repeat_once() {
        assert_eq!(
            parse_labels("VIP، wholesale , vip,, عميل دائم").unwrap(),
            ["vip", "wholesale", "عميل دائم"]
        );
        assert_eq!(parse_labels("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_labels(&"x".repeat(31)), Err(LabelError::TooLong));
        let eleven = (0..11).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert_eq!(parse_labels(&eleven), Err(LabelError::TooMany));
    }
}
