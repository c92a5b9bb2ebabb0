//! Phone passes bound to their holder, shown as a code that changes every
//! 10 seconds.
//!
//! A phone pass carries the public key of a key pair its holder's browser
//! made and keeps (not extractable, in IndexedDB). The phone never shows the
//! pass alone: it shows `SMR:` + base45(`time` ‖ `signature` ‖ `pass`), where
//! `time` is unix seconds as 4 bytes big-endian, `pass` is the pass's
//! COSE_Sign1 bytes, and `signature` is the holder's 64-byte signature over
//! `"SMR1"` ‖ `time` ‖ `pass`. A kiosk checks the community's signature
//! first, then the holder's, then that `time` is within [`CODE_WINDOW_S`] of
//! its clock. A screenshot is refused once it is older than that.
//!
//! Holder keys are Ed25519 (32 bytes) or, for browsers without WebCrypto
//! Ed25519, ECDSA P-256 with SHA-256, kept as a 33-byte compressed point.
//! Both signatures are 64 bytes (P-256 as r ‖ s, WebCrypto's format).

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use p256::ecdsa::signature::Verifier;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::base45;
use crate::pass_error::{PassError, PREFIX};

/// The text every rotating code starts with.
pub const CODE_PREFIX: &str = "SMR:";

pub use crate::pass_error::CODE_WINDOW_S;

/// The phone makes a new code this often.
pub const CODE_STEP_S: i64 = 10;

/// What the holder signs before the time and the pass: keeps a holder
/// signature from meaning anything anywhere else.
const DOMAIN: &[u8; 4] = b"SMR1";

/// Bytes before the pass in a code: the time and the signature.
const HEAD: usize = 4 + 64;

/// A holder's public key, as a pass carries it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum HolderKey {
    Ed25519([u8; 32]),
    /// SEC1 compressed point.
    P256([u8; 33]),
}

impl HolderKey {
    /// Reads the bytes a pass carries: 32 for Ed25519, 33 for P-256.
    pub fn from_wire(bytes: &[u8]) -> Result<HolderKey, String> {
        match bytes.len() {
            32 => {
                let raw: [u8; 32] = bytes.try_into().expect("32 bytes");
                let key =
                    VerifyingKey::from_bytes(&raw).map_err(|_| "holder key is not an Ed25519 point".to_string())?;
                // A small-order point (all zeros, say) makes signatures that
                // prove nothing about who holds the phone.
                if key.is_weak() {
                    return Err("holder key is a small-order Ed25519 point; make a new key".to_string());
                }
                Ok(HolderKey::Ed25519(raw))
            }
            33 => {
                p256::PublicKey::from_sec1_bytes(bytes).map_err(|_| "holder key is not a P-256 point".to_string())?;
                Ok(HolderKey::P256(bytes.try_into().expect("33 bytes")))
            }
            n => Err(format!("holder key is {n} bytes; expected 32 (Ed25519) or 33 (P-256)")),
        }
    }

    /// Reads a key as WebCrypto exports it in "raw" format: 32 bytes for
    /// Ed25519, a 65-byte uncompressed point for P-256 (compressed here to
    /// save QR space).
    pub fn from_webcrypto(algorithm: &str, raw: &[u8]) -> Result<HolderKey, String> {
        match algorithm {
            "Ed25519" if raw.len() == 32 => HolderKey::from_wire(raw),
            "P-256" => {
                let key = p256::PublicKey::from_sec1_bytes(raw)
                    .map_err(|_| "the P-256 key is not a valid point".to_string())?;
                let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key, true);
                HolderKey::from_wire(point.as_bytes())
            }
            "Ed25519" => Err(format!("an Ed25519 key is 32 bytes, not {}", raw.len())),
            other => Err(format!("holder key algorithm {other:?} is not Ed25519 or P-256")),
        }
    }

    pub fn to_wire(&self) -> Vec<u8> {
        match self {
            HolderKey::Ed25519(k) => k.to_vec(),
            HolderKey::P256(k) => k.to_vec(),
        }
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            HolderKey::Ed25519(_) => "Ed25519",
            HolderKey::P256(_) => "P-256",
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        match self {
            HolderKey::Ed25519(k) => VerifyingKey::from_bytes(k)
                .is_ok_and(|key| key.verify_strict(message, &Signature::from_bytes(signature)).is_ok()),
            HolderKey::P256(k) => {
                let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(k) else { return false };
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else { return false };
                key.verify(message, &sig).is_ok()
            }
        }
    }
}

impl fmt::Debug for HolderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from(*self))
    }
}

impl From<HolderKey> for String {
    fn from(k: HolderKey) -> String {
        format!("{}:{}", k.algorithm(), hex::encode(k.to_wire()))
    }
}

impl TryFrom<String> for HolderKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (_, hex_part) = s.split_once(':').ok_or_else(|| format!("holder key {s:?} is not ALGORITHM:HEX"))?;
        let bytes = hex::decode(hex_part).map_err(|e| format!("holder key {s:?} is not hex: {e}"))?;
        HolderKey::from_wire(&bytes)
    }
}

/// What the holder signs for a code made at `time_s`.
pub fn signed_message(pass_cose: &[u8], time_s: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + pass_cose.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(&time_s.to_be_bytes());
    m.extend_from_slice(pass_cose);
    m
}

/// The code a phone shows at `time_s` for `pass_text` (an `SM1:` pass),
/// with `sign` making the holder's 64-byte signature. The phone page does
/// the same in JavaScript; this one serves tests and the simulated phone.
pub fn make_code(pass_text: &str, time_s: i64, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> Result<String, PassError> {
    let body = pass_text.trim_end().strip_prefix(PREFIX).ok_or(PassError::WrongPrefix)?;
    let cose = base45::decode(body)?;
    let time =
        u32::try_from(time_s).map_err(|_| PassError::BadClaims(format!("code time {time_s} is out of range")))?;
    let signature = sign(&signed_message(&cose, time));
    let mut bytes = Vec::with_capacity(HEAD + cose.len());
    bytes.extend_from_slice(&time.to_be_bytes());
    bytes.extend_from_slice(&signature);
    bytes.extend_from_slice(&cose);
    Ok(format!("{CODE_PREFIX}{}", base45::encode(&bytes)))
}

/// [`make_code`] with an Ed25519 holder key held in memory.
pub fn make_code_ed25519(pass_text: &str, time_s: i64, holder: &SigningKey) -> Result<String, PassError> {
    make_code(pass_text, time_s, |m| ed25519_dalek::Signer::sign(holder, m).to_bytes())
}

/// A rotating code taken apart: the pass's COSE bytes still to be checked.
pub(crate) struct Code {
    pub time_s: i64,
    pub signature: [u8; 64],
    pub pass_cose: Vec<u8>,
}

/// Splits the text after [`CODE_PREFIX`] (already checked for length by
/// `pass::verify`); nothing is trusted yet.
pub(crate) fn split(text: &str) -> Result<Option<Code>, PassError> {
    let Some(body) = text.strip_prefix(CODE_PREFIX) else { return Ok(None) };
    let bytes = base45::decode(body)?;
    if bytes.len() <= HEAD {
        return Err(PassError::Malformed(format!("a rotating code of {} bytes is too short", bytes.len())));
    }
    let time = u32::from_be_bytes(bytes[..4].try_into().expect("4 bytes"));
    Ok(Some(Code {
        time_s: i64::from(time),
        signature: bytes[4..HEAD].try_into().expect("64 bytes"),
        pass_cose: bytes[HEAD..].to_vec(),
    }))
}

/// Checks the holder's signature over a code whose pass has verified.
pub(crate) fn check_holder(code: &Code, holder: &HolderKey) -> Result<(), PassError> {
    let time = u32::try_from(code.time_s).expect("read from 4 bytes");
    if holder.verify(&signed_message(&code.pass_cose, time), &code.signature) {
        Ok(())
    } else {
        Err(PassError::BadHolderSignature)
    }
}
