//! Secrets at rest: AES-256-GCM with a key id in every ciphertext, so keys can rotate.
//!
//! `ENCRYPTION_KEYS` = `kid:base64key[,kid:base64key…]`, the first being the current key
//! (new ciphertexts) and the others older keys still readable. An entry may also be 64 hex
//! digits alone (what Heroku's `secret` generator makes): its key id is then `h` and the
//! first 8 hex digits of the key's SHA-256, stable and revealing nothing of the key. A ciphertext is
//! `v1:<kid>:<base64(nonce ‖ ciphertext ‖ tag)>`. The associated data binds it to what it
//! protects (e.g. `whatsapp.access_token:<connection id>`), so a ciphertext copied to
//! another row or column does not decrypt.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Digest;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("ENCRYPTION_KEYS is malformed: {0}")]
    BadKeys(String),
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("no key {0:?} in ENCRYPTION_KEYS")]
    UnknownKey(String),
    #[error("ciphertext does not authenticate (wrong key or tampered)")]
    Tampered,
}

/// The current key and the older ones.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses `ENCRYPTION_KEYS`.
    pub fn parse(spec: &SecretString) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for part in spec.expose_secret().split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kid, raw) = match part.split_once(':') {
                Some((kid, b64)) => {
                    let raw = STANDARD
                        .decode(b64)
                        .map_err(|_| CryptoError::BadKeys(format!("key {kid} is not base64")))?;
                    (kid.to_owned(), raw)
                }
                None if part.len() == 64 && part.chars().all(|c| c.is_ascii_hexdigit()) => {
                    let raw = hex::decode(part).map_err(|_| CryptoError::BadKeys("bad hex key".into()))?;
                    let digest = hex::encode(sha2::Sha256::digest(&raw));
                    (format!("h{}", &digest[..8]), raw)
                }
                None => {
                    return Err(CryptoError::BadKeys("expected kid:base64key or 64 hex digits".into()));
                }
            };
            let kid = kid.as_str();
            if kid.is_empty() || !kid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(CryptoError::BadKeys("key ids are letters, digits, - and _".into()));
            }
            let cipher = Aes256Gcm::new_from_slice(&raw)
                .map_err(|_| CryptoError::BadKeys(format!("key {kid} must be 32 bytes")))?;
            if keys.iter().any(|(k, _)| k == kid) {
                return Err(CryptoError::BadKeys(format!("key id {kid} repeated")));
            }
            keys.push((kid.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(CryptoError::BadKeys("no key".into()));
        }
        Ok(Self { keys })
    }

    /// A fresh `kid:base64key` entry (for `scripts/dev` and operators).
    pub fn generate_entry(kid: &str) -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        format!("{kid}:{}", STANDARD.encode(key))
    }

    /// Id of the key new ciphertexts use.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plaintext` under the current key, bound to `context`.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let (kid, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend(sealed);
        format!("v1:{kid}:{}", STANDARD.encode(blob))
    }

    /// Opens a ciphertext made by [`Self::seal`] with the same `context`.
    pub fn open(&self, ciphertext: &str, context: &str) -> Result<SecretString, CryptoError> {
        let mut parts = ciphertext.splitn(3, ':');
        let (Some("v1"), Some(kid), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Malformed);
        };
        let cipher = self.keys.iter().find(|(k, _)| k == kid).map(|(_, c)| c);
        let cipher = cipher.ok_or_else(|| CryptoError::UnknownKey(kid.to_owned()))?;
        let blob = STANDARD.decode(b64).map_err(|_| CryptoError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, sealed) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let plain = cipher
            .decrypt(&nonce.into(), Payload { msg: sealed, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plain).map(SecretString::from).map_err(|_| CryptoError::Malformed)
    }

    /// The key id a ciphertext was sealed with.
    pub fn key_id(ciphertext: &str) -> Option<&str> {
        ciphertext.strip_prefix("v1:")?.split(':').next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(&SecretString::from(spec.to_owned())).unwrap()
    }

    #[test]
    fn seals_and_opens_bound_to_context_and_key() {
        let (a, b) = (Keyring::generate_entry("k2"), Keyring::generate_entry("k1"));
        let new = ring(&format!("{a},{b}"));
        let old = ring(&b);
        let sealed_old = old.seal("EAAG-token", "whatsapp.access_token:1");
        assert!(sealed_old.starts_with("v1:k1:") && !sealed_old.contains("EAAG"));
        // The new ring still opens what the old key sealed; new seals use k2.
        assert_eq!(new.open(&sealed_old, "whatsapp.access_token:1").unwrap().expose_secret(), "EAAG-token");
        assert_eq!(Keyring::key_id(&new.seal("x", "c")), Some("k2"));
        assert_eq!(new.open(&sealed_old, "whatsapp.access_token:2").err(), Some(CryptoError::Tampered));
        assert!(matches!(
            ring(&a).open(&sealed_old, "whatsapp.access_token:1"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_bare_64_hex_secret_is_a_key_with_a_stable_id_that_reveals_nothing() {
        let hex_key = "0f".repeat(32);
        let (a, b) = (ring(&hex_key), ring(&hex_key));
        let id = a.current_id().to_owned();
        assert_eq!(id, b.current_id(), "the same secret gives the same id");
        assert!(id.starts_with('h') && id.len() == 9 && !hex_key.contains(&id[1..]), "{id}");
        assert_ne!(ring(&"1e".repeat(32)).current_id(), id);
        let sealed = a.seal("EAAG-token", "c");
        assert_eq!(b.open(&sealed, "c").unwrap().expose_secret(), "EAAG-token");
        let rotated = ring(&format!("{},{hex_key}", Keyring::generate_entry("k2")));
        assert_eq!(rotated.open(&sealed, "c").unwrap().expose_secret(), "EAAG-token");
    }

    #[test]
    fn malformed_key_specs_are_refused() {
        for bad in ["", "k1", "k1:notbase64!", "k1:AAAA", "k 1:AAAA", &"0f".repeat(31), &"zz".repeat(32)] {
            assert!(Keyring::parse(&SecretString::from(bad.to_owned())).is_err(), "{bad:?}");
        }
    }
}
