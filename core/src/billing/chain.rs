//! The invoice chain that ZATCA phase 2 asks for, kept from the first invoice so the
//! integration needs no migration: every invoice and credit note gets a UUID, the next
//! invoice counter value (ICV, 1, 2, 3 … across all of them) and the previous one's hash
//! (PIH); the first PIH is the value phase 2 specifies (Base64 of the hex SHA-256 of "0").
//! Until invoices are UBL XML, an invoice's hash is the Base64 SHA-256 of [`canonical`]:
//! its issued fields one per line in a fixed order, so any change to an issued row breaks
//! the chain from there on ([`verify`]).

use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};

/// The PIH of the first invoice (phase 2's seed).
pub const FIRST_PIH: &str =
    "NWZlY2ViNjZmZmM4NmYzOGQ5NTI3ODZjNmQ2OTZjNzljMmRiYzIzOWRkNGU5MWI0NjcyOWQ3M2EyN2ZiNTdlOQ==";

/// What an invoice's hash covers.
#[derive(Debug, Clone)]
pub struct Hashed<'a> {
    pub number: &'a str,
    pub uuid: String,
    pub icv: i64,
    pub pih: &'a str,
    pub issued_at: String,
    pub seller_vat: &'a str,
    pub buyer_name: &'a str,
    pub subtotal: i64,
    pub vat: i64,
    pub total: i64,
    /// Each line as `description|quantity|unit|amount`.
    pub lines: Vec<String>,
}

/// The text that is hashed.
pub fn canonical(h: &Hashed<'_>) -> String {
    let mut out = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        h.number, h.uuid, h.icv, h.pih, h.issued_at, h.seller_vat, h.buyer_name, h.subtotal, h.vat, h.total
    );
    for line in &h.lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Base64 SHA-256 of the invoice's canonical text.
pub fn hash(h: &Hashed<'_>) -> String {
    STANDARD.encode(Sha256::digest(canonical(h).as_bytes()))
}

/// Where a chain breaks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("invoice {icv}: the counter skips (expected {expected})")]
    Gap { icv: i64, expected: i64 },
    #[error("invoice {icv}: its PIH is not the previous invoice's hash")]
    Link { icv: i64 },
    #[error("invoice {icv}: its stored hash does not match its content")]
    Content { icv: i64 },
}

/// Checks invoices in ICV order: counters 1, 2, 3 …, each PIH the previous hash (the
/// first [`FIRST_PIH`]), each stored hash its content's.
pub fn verify<'a>(chain: impl IntoIterator<Item = (Hashed<'a>, &'a str)>) -> Result<usize, ChainError> {
    let (mut previous, mut n) = (FIRST_PIH.to_owned(), 0);
    for (invoice, stored) in chain {
        n += 1;
        if invoice.icv != n as i64 {
            return Err(ChainError::Gap { icv: invoice.icv, expected: n as i64 });
        }
        if invoice.pih != previous {
            return Err(ChainError::Link { icv: invoice.icv });
        }
        if hash(&invoice) != stored {
            return Err(ChainError::Content { icv: invoice.icv });
        }
        previous = stored.to_owned();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_pih_is_phase_twos_seed() {
        let hex: String = Sha256::digest(b"0").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(STANDARD.encode(hex), FIRST_PIH);
    }
}
