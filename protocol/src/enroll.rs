//! Enrollment from the kiosk's screen (issue 31). A kiosk that is not
//! enrolled asks the server for a short one-time code (`EnrollAsk`), shows
//! it on its screen with its key's fingerprint and a QR code of the claim
//! link; a committee admin types the code on the Gates page (or scans the
//! QR code) and names the gate; the kiosk's polls, signed with its device
//! key, then get its enrollment. Nothing on the screen lets anyone else
//! enroll: the code is bound to the kiosk's key when it is made, and only
//! polls signed by that key get the answer.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sync::SyncError;

/// `POST /api/v1/enroll/ask`: a code for this kiosk.
pub const ASK_PATH: &str = "/enroll/ask";
/// `POST /api/v1/enroll/poll`: has an admin claimed it yet?
pub const POLL_PATH: &str = "/enroll/poll";
/// The Gates page's claim link, which the screen's QR code opens.
pub const CLAIM_PATH: &str = "/gates/enroll";

/// A code's letters: no 0/O, 1/I/L, which people misread off a screen.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Eight of them: 31⁸ ≈ 8.5 × 10¹¹ codes, of which a few hundred are live.
pub const CODE_LEN: usize = 8;
/// How long a code can be claimed; the kiosk asks for a new one after.
pub const ASK_VALID_MS: i64 = 30 * 60_000;
/// How often the kiosk asks whether it was claimed.
pub const POLL_EVERY_S: u64 = 10;

/// The kiosk asks for a code.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollAsk {
    /// The kiosk's device id; its entries already carry it.
    pub device: String,
    /// The kiosk's Ed25519 public key (hex): the code is bound to it.
    pub device_key: String,
    /// The gate's name from the kiosk's configuration, a suggestion.
    pub gate_name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollAskAnswer {
    /// The code to show ([`show_code`] groups it for reading).
    pub code: String,
    /// Until then it can be claimed.
    pub expires_in_s: u64,
}

/// The kiosk asks whether its code was claimed; signed by its device key.
/// `counter` grows with every poll of a code, so a copied poll is refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollPoll {
    pub code: String,
    pub device: String,
    pub counter: u64,
    /// Hex of the Ed25519 signature of [`poll_message`].
    pub signature: String,
}

/// What a poll's signature covers.
pub fn poll_message(code: &str, device: &str, counter: u64) -> Vec<u8> {
    format!("shoumen-enroll-poll/1\n{code}\n{device}\n{counter}\n").into_bytes()
}

impl EnrollPoll {
    pub fn signed(code: &str, device: &str, counter: u64, key: &SigningKey) -> EnrollPoll {
        let signature = key.sign(&poll_message(code, device, counter));
        EnrollPoll { code: code.into(), device: device.into(), counter, signature: hex::encode(signature.to_bytes()) }
    }

    /// Checks the signature against the key the code was made for.
    pub fn verify(&self, device_key: &VerifyingKey) -> Result<(), SyncError> {
        let bytes: [u8; 64] =
            hex::decode(&self.signature).ok().and_then(|b| b.try_into().ok()).ok_or(SyncError::BadHex("signature"))?;
        device_key
            .verify(&poll_message(&self.code, &self.device, self.counter), &Signature::from_bytes(&bytes))
            .map_err(|_| SyncError::BadSignature)
    }
}

/// A key's fingerprint as the screen shows it and the admin compares it:
/// the first 8 bytes of its SHA-256, in groups of four hex digits.
pub fn fingerprint(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex = hex::encode(&digest[..8]);
    hex.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(" ")
}

/// A code as typed: case, spaces and dashes do not matter. `None` if it
/// cannot be one.
pub fn normalize_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// A code as the screen shows it: two groups of four.
pub fn show_code(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a}-{b}"),
        _ => code.to_string(),
    }
}

/// The claim link the screen's QR code holds: the Gates page's form with
/// the code and the fingerprint filled in.
pub fn claim_url(server: &str, code: &str, key: &VerifyingKey) -> String {
    let fp: String = fingerprint(key).chars().filter(|c| *c != ' ').collect();
    format!("{}{CLAIM_PATH}?code={code}&fp={fp}", server.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_verifies_only_with_its_key_and_its_own_fields() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let poll = EnrollPoll::signed("K7M29QXD", "kiosk-1", 5, &key);
        assert_eq!(poll.verify(&key.verifying_key()), Ok(()));
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert_eq!(poll.verify(&other), Err(SyncError::BadSignature));
        let moved = EnrollPoll { counter: 6, ..poll.clone() };
        assert_eq!(moved.verify(&key.verifying_key()), Err(SyncError::BadSignature));
        let garbled = EnrollPoll { signature: "zz".into(), ..poll };
        assert_eq!(garbled.verify(&key.verifying_key()), Err(SyncError::BadHex("signature")));
    }

    #[test]
    fn codes_are_read_as_people_type_them() {
        assert_eq!(normalize_code("k7m2-9qxd").as_deref(), Some("K7M29QXD"));
        assert_eq!(normalize_code(" K7M2 9QXD ").as_deref(), Some("K7M29QXD"));
        assert_eq!(normalize_code("K7M29QX"), None, "too short");
        assert_eq!(normalize_code("K7M29QX0"), None, "0 is never in a code");
        assert_eq!(show_code("K7M29QXD"), "K7M2-9QXD");
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(fingerprint(&key).len(), 19);
        assert!(claim_url("https://gate.example.org/", "K7M29QXD", &key)
            .starts_with("https://gate.example.org/gates/enroll?code=K7M29QXD&fp="));
    }
}
