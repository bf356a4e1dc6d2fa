//! Ids, secrets and their hashes.
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A prefixed, time-sortable id: `prefix` + lower-case ULID.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A random secret: `prefix` + 32 random bytes, hex.
pub fn new_secret(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}{}", hex::encode(b))
}

/// Secrets are high-entropy random strings, so one SHA-256 is the right hash: it is
/// fast to look up and cannot be reversed or brute-forced.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Authenticated encryption (AES-256-GCM) with the server's `AUTHIO_SECRET_KEY`: what
/// must stay secret at rest (SSO connections' client secrets) or in the browser's hands
/// (the SSO sign-in state). A sealed value is base64url(nonce ‖ ciphertext ‖ tag); `aad`
/// binds it to its use, so one sealed for a connection's secret opens nowhere else.
pub struct Sealer(aws_lc_rs::aead::LessSafeKey);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// From 64 hex digits.
    pub fn from_hex(hex_key: &str) -> Result<Sealer, String> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| "AUTHIO_SECRET_KEY must be 64 hex digits".to_string())?;
        if bytes.len() != 32 {
            return Err("AUTHIO_SECRET_KEY must be 64 hex digits (32 bytes)".into());
        }
        let key = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &bytes)
            .map_err(|_| "AUTHIO_SECRET_KEY: not an AES-256 key".to_string())?;
        Ok(Sealer(aws_lc_rs::aead::LessSafeKey::new(key)))
    }

    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> String {
        use base64::Engine;
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = plaintext.to_vec();
        let sealed = self.0.seal_in_place_append_tag(
            aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
            aws_lc_rs::aead::Aad::from(aad.as_bytes()),
            &mut out,
        );
        // Sealing with a valid key and a 12-byte nonce cannot fail; an empty result
        // would only fail to open later.
        if sealed.is_err() {
            out.clear();
        }
        let mut all = nonce.to_vec();
        all.extend_from_slice(&out);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(all)
    }

    /// The plaintext, when `sealed` was sealed with this key for `aad`.
    pub fn open(&self, aad: &str, sealed: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let mut all = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if all.len() < 12 + 16 {
            return None;
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&all[..12]);
        let body = &mut all[12..];
        let plain = self
            .0
            .open_in_place(
                aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                aws_lc_rs::aead::Aad::from(aad.as_bytes()),
                body,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_use() {
        let s = Sealer::from_hex(&"11".repeat(32)).unwrap();
        let sealed = s.seal("connection:conn_1", b"top secret");
        assert_eq!(s.open("connection:conn_1", &sealed).as_deref(), Some(&b"top secret"[..]));
        assert_eq!(s.open("connection:conn_2", &sealed), None, "another use");
        let other = Sealer::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(other.open("connection:conn_1", &sealed), None, "another key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.open("connection:conn_1", &String::from_utf8(tampered).unwrap()), None);
        assert!(Sealer::from_hex("abc").is_err());
        assert_ne!(s.seal("x", b"same"), s.seal("x", b"same"), "a fresh nonce each time");
    }
}
