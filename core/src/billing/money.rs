//! Money in halalas (1 SAR = 100 halalas), and the VAT rule every invoice follows:
//! prices are VAT-exclusive; the lines' amounts are summed first, and VAT is computed
//! once on that subtotal at 15 %, rounded to the nearest halala with halves rounded up
//! (away from zero). The total is subtotal + VAT, so the three printed figures always
//! add up, and the QR's totals are the invoice's.

/// The standard VAT rate, in percent.
pub const VAT_PERCENT: i64 = 15;

/// Subtotal, VAT and total of an invoice, in halalas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub vat: i64,
    pub total: i64,
}

/// The totals of lines of `amounts` (halalas, VAT-exclusive, non-negative).
pub fn totals(amounts: &[i64]) -> Totals {
    let subtotal: i64 = amounts.iter().sum();
    let vat = vat_of(subtotal);
    Totals { subtotal, vat, total: subtotal + vat }
}

/// 15 % of `subtotal` halalas, halves rounded away from zero.
pub fn vat_of(subtotal: i64) -> i64 {
    let scaled = subtotal * VAT_PERCENT; // in hundredths of a halala
    let (q, r) = (scaled / 100, scaled % 100);
    if r.abs() >= 50 {
        q + scaled.signum()
    } else {
        q
    }
}

/// `halalas` as SAR with two decimals (`115.00`), as the QR and the invoice print it.
pub fn sar(halalas: i64) -> String {
    let sign = if halalas < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", halalas.abs() / 100, halalas.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_rounds_half_halalas_up_on_edge_amounts() {
        // (subtotal, VAT): exact, below a half, exactly a half, above a half.
        for (subtotal, vat) in [
            (0, 0),
            (1, 0),  // 0.15
            (3, 0),  // 0.45
            (4, 1),  // 0.60
            (10, 2), // 1.50: a half, up
            (30, 5), // 4.50: a half, up
            (33, 5), // 4.95
            (9_900, 1_485),
            (9_999, 1_500), // 1499.85
            (29_900, 4_485),
            (100_000, 15_000),
        ] {
            assert_eq!(vat_of(subtotal), vat, "VAT of {subtotal}");
            assert_eq!(vat_of(-subtotal), -vat, "a credit mirrors it");
        }
    }

    #[test]
    fn vat_is_taken_once_on_the_sum_of_the_lines() {
        // Per line, 10 + 10 would round to 2 + 2; on the sum 20 it is 3.
        assert_eq!(totals(&[10, 10]), Totals { subtotal: 20, vat: 3, total: 23 });
        assert_eq!(totals(&[9_900, 450]), Totals { subtotal: 10_350, vat: 1_553, total: 11_903 });
    }

    #[test]
    fn amounts_print_with_two_decimals() {
        assert_eq!(sar(11_500), "115.00");
        assert_eq!(sar(5), "0.05");
        assert_eq!(sar(-1_553), "-15.53");
    }
}
