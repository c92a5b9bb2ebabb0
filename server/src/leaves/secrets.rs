//! Tokens, digests and their comparison.

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A random token for URLs and cookies: 32 hex digits (128 bits).
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Whether two digests (hex) are equal, in time that does not depend on
/// where they differ.
pub fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
