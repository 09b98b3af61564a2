//! The ZATCA phase-1 QR payload of a simplified tax invoice: five TLV fields (1 seller
//! name, 2 VAT registration number, 3 invoice time, 4 total with VAT, 5 VAT), each one
//! byte of tag, one byte of length in UTF-8 bytes (not characters: an Arabic name is
//! about twice as many bytes as letters), then the UTF-8 value; the concatenation in
//! Base64. A field over 255 bytes cannot be encoded and is refused.

use base64::{engine::general_purpose::STANDARD, Engine};

/// What the QR holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrFields<'a> {
    pub seller_name: &'a str,
    pub vat_number: &'a str,
    /// ISO 8601, e.g. `2022-04-25T15:30:00Z`.
    pub timestamp: &'a str,
    /// With two decimals, e.g. `1000.00`.
    pub total: &'a str,
    pub vat: &'a str,
}

/// A field too long for one length byte.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("QR field {tag} is {len} bytes; at most 255 fit")]
pub struct FieldTooLong {
    pub tag: u8,
    pub len: usize,
}

/// The Base64 TLV payload of `fields`.
pub fn encode(fields: &QrFields<'_>) -> Result<String, FieldTooLong> {
    let mut bytes = Vec::with_capacity(128);
    let values = [fields.seller_name, fields.vat_number, fields.timestamp, fields.total, fields.vat];
    for (tag, value) in (1u8..).zip(values) {
        let len = u8::try_from(value.len()).map_err(|_| FieldTooLong { tag, len: value.len() })?;
        bytes.push(tag);
        bytes.push(len);
        bytes.extend_from_slice(value.as_bytes());
    }
    Ok(STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_english_vector() {
        let fields = QrFields {
            seller_name: "Bobs Records",
            vat_number: "310122393500003",
            timestamp: "2022-04-25T15:30:00Z",
            total: "1000.00",
            vat: "150.00",
        };
        assert_eq!(
            encode(&fields).unwrap(),
            "AQxCb2JzIFJlY29yZHMCDzMxMDEyMjM5MzUwMDAwMwMUMjAyMi0wNC0yNVQxNTozMDowMFoEBzEwMDAuMDAFBjE1MC4wMA=="
        );
    }

    #[test]
    fn an_arabic_seller_name_is_measured_in_bytes_not_letters() {
        let name = "مُجيب للتقنية";
        assert_eq!((name.chars().count(), name.len()), (13, 25));
        let fields = QrFields {
            seller_name: name,
            vat_number: "300000000000003",
            timestamp: "2025-01-15T09:30:00Z",
            total: "115.00",
            vat: "15.00",
        };
        assert_eq!(
            encode(&fields).unwrap(),
            "ARnZhdmP2KzZitioINmE2YTYqtmC2YbZitipAg8zMDAwMDAwMDAwMDAwMDMDFDIwMjUtMDEtMTVUMDk6MzA6MDBaBAYxMTUuMDAFBTE1LjAw"
        );
    }

    #[test]
    fn a_field_over_255_bytes_is_refused() {
        let long = "م".repeat(128); // 256 bytes
        let fields = QrFields { seller_name: &long, vat_number: "3", timestamp: "t", total: "1", vat: "0" };
        assert_eq!(encode(&fields), Err(FieldTooLong { tag: 1, len: 256 }));
    }
}
