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
