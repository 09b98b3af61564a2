//! Password hashing — argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), run
//! off the async runtime — and the random tokens behind session cookies and emailed links.
//! Only SHA-256 digests of tokens are stored, so a database dump cannot be replayed.

use std::sync::OnceLock;

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::NewPassword;

/// A random 16-byte salt (from the OS-seeded thread RNG).
fn salt() -> SaltString {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).expect("16 bytes is a valid salt")
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash_password(password: &NewPassword) -> anyhow::Result<String> {
    let raw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = salt();
        argon2()
            .hash_password(raw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
    })
    .await?
}

/// Checks `candidate` against a stored PHC string. With no stored hash (unknown email) it
/// verifies against a dummy hash anyway, so both cases take the same time.
pub async fn verify_password(candidate: String, stored: Option<String>) -> bool {
    let known = stored.is_some();
    tokio::task::spawn_blocking(move || {
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&phc)
            .map(|parsed| argon2().verify_password(candidate.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = salt();
        argon2().hash_password(b"not a real password", &salt).expect("dummy hash").to_string()
    })
}

/// A fresh random token: 32 bytes, base64url. Returns (token for the user, digest to store).
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let digest = token_digest(&token);
    (token, digest)
}

/// The CSRF token of a signed-out visitor's session, derived from its cookie token, so a
/// visitor needs no stored session until there is something to store. Only the cookie's
/// holder can compute it: the token is 256 random bits the page's scripts cannot read.
pub fn csrf_for(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("mujibak.csrf:{token}").as_bytes()))
}

/// Whether `token` has the shape of one [`new_token`] makes (43 base64url characters).
pub fn well_formed(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The stored form of a token.
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_that_verify() {
        let pw = NewPassword::parse("camel-lantern-harbor-41", &[]).unwrap();
        let phc = hash_password(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("camel-lantern-harbor-41".into(), Some(phc.clone())).await);
        assert!(!verify_password("camel-lantern-harbor-42".into(), Some(phc)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn tokens_are_random_and_stored_as_digests() {
        let (a, da) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_digest(&a), da);
    }
}
