//! Deterministic keys and claims for tests, vectors and the demo community.

use ed25519_dalek::SigningKey;

use crate::pass::{PassClaims, PassFlags, PassId, Role};

/// A fixed "now" for test vectors: 2026-09-21T12:26:40Z.
pub const VECTOR_NOW: i64 = 1_790_000_000;

/// A signing key derived from one byte, so vectors are reproducible.
pub fn key_from_byte(b: u8) -> SigningKey {
    SigningKey::from_bytes(&[b; 32])
}

/// A typical resident pass: one year, unit "3-502".
pub fn resident_claims(now: i64) -> PassClaims {
    PassClaims {
        issuer: "demo-garden".into(),
        pass_id: PassId([0x5a, 0x1f, 0x03, 0x9c, 0x44, 0xe2, 0x70, 0x0b]),
        issued_at: now - 86_400,
        not_before: now - 86_400,
        expires_at: now + 365 * 86_400,
        role: Role::Resident,
        unit: "3-502".into(),
        flags: PassFlags::default(),
        holder: None,
    }
}
