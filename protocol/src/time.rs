//! Time a kiosk can believe: the server's clock, signed by the community's
//! key over the kiosk's own nonce, so that neither a captive portal nor a
//! replayed answer can move the kiosk's clock (ARCHITECTURE.md, "Trusted
//! time").
//!
//! The kiosk sends a fresh random nonce with its heartbeat; the server
//! answers with its time, signed over (community, device, nonce, time).
//! The kiosk believes it only if the nonce is the one it just sent and the
//! round trip was short, and keeps it as an offset to its monotonic clock.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::trust::{KeyId, TrustList};

/// Why a time answer is not believed (or a nonce not signed).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimeError {
    #[error("{0} is not valid hex of the right length")]
    BadHex(&'static str),
    #[error("the server's time is signed by key {0}, which this kiosk does not trust")]
    UnknownKey(String),
    #[error("the server's time for {community:?} is signed by a key of {issuer:?}")]
    WrongCommunity { community: String, issuer: String },
    #[error("{0}")]
    WrongAnswer(&'static str),
    #[error("the server's time does not carry the community's signature (altered on the way?)")]
    BadSignature,
}

fn decode_hex<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], TimeError> {
    hex::decode(text).ok().and_then(|b| b.try_into().ok()).ok_or(TimeError::BadHex(what))
}

/// Bytes of a kiosk's time nonce (hex on the wire).
pub const NONCE_LEN: usize = 16;

/// The server's time, signed for one kiosk's one question.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerTime {
    pub community: String,
    pub device: String,
    /// The kiosk's nonce, hex.
    pub nonce: String,
    /// The server's wall clock (unix ms) when it answered.
    pub server_ms: i64,
    pub kid: String,
    pub signature: String,
}

impl ServerTime {
    const CONTEXT: &'static [u8] = b"shoumen-time-v1\0";

    fn message(community: &str, device: &str, nonce: &[u8; NONCE_LEN], server_ms: i64) -> Vec<u8> {
        let mut m = Self::CONTEXT.to_vec();
        for part in [community, device] {
            m.extend_from_slice(part.as_bytes());
            m.push(0);
        }
        m.extend_from_slice(nonce);
        m.extend_from_slice(&server_ms.to_be_bytes());
        m
    }

    /// `nonce` is the hex the kiosk sent; a malformed one is refused, so a
    /// server never signs bytes it did not check.
    pub fn sign(
        key: &SigningKey,
        community: &str,
        device: &str,
        nonce: &str,
        server_ms: i64,
    ) -> Result<ServerTime, TimeError> {
        let raw: [u8; NONCE_LEN] = decode_hex(nonce, "time nonce")?;
        let sig = key.sign(&Self::message(community, device, &raw, server_ms));
        Ok(ServerTime {
            community: community.to_string(),
            device: device.to_string(),
            nonce: nonce.to_string(),
            server_ms,
            kid: KeyId::of(&key.verifying_key()).to_string(),
            signature: hex::encode(sig.to_bytes()),
        })
    }

    /// The server's time if this answers the kiosk `device`'s question
    /// `nonce`, signed by a key of `trust` that belongs to the community named.
    pub fn verify(&self, trust: &TrustList, device: &str, nonce: &[u8; NONCE_LEN]) -> Result<i64, TimeError> {
        let kid: [u8; KeyId::LEN] = decode_hex(&self.kid, "key id")?;
        let key = trust.get(&KeyId(kid)).ok_or_else(|| TimeError::UnknownKey(self.kid.clone()))?;
        if key.issuer != self.community {
            return Err(TimeError::WrongCommunity { community: self.community.clone(), issuer: key.issuer.clone() });
        }
        if self.device != device {
            return Err(TimeError::WrongAnswer("the server's time answers another kiosk"));
        }
        let sent: [u8; NONCE_LEN] = decode_hex(&self.nonce, "time nonce")?;
        if &sent != nonce {
            return Err(TimeError::WrongAnswer("the server's time answers another question (a replay?)"));
        }
        let sig: [u8; 64] = decode_hex(&self.signature, "time signature")?;
        key.key
            .verify(&Self::message(&self.community, &self.device, nonce, self.server_ms), &Signature::from_bytes(&sig))
            .map_err(|_| TimeError::BadSignature)?;
        Ok(self.server_ms)
    }
}

/// How far the kiosk can vouch for the time it decides by. Recorded with
/// every entry as `clock_synced` (true unless `Uncertain`) and reported in
/// the heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeTrust {
    /// The server's signed time, this boot, recent enough.
    Server,
    /// The operating system says NTP set the clock, and it is not below
    /// the floor; the server has not answered yet this boot.
    Ntp,
    /// Neither: after a power cut without network, the clock may be
    /// anything at or above the floor.
    Uncertain,
}

impl TimeTrust {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeTrust::Server => "server",
            TimeTrust::Ntp => "ntp",
            TimeTrust::Uncertain => "uncertain",
        }
    }

    pub fn parse(s: &str) -> Option<TimeTrust> {
        [TimeTrust::Server, TimeTrust::Ntp, TimeTrust::Uncertain].into_iter().find(|t| t.as_str() == s)
    }

    pub fn vouched(self) -> bool {
        self != TimeTrust::Uncertain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::TrustedKey;

    fn trust(key: &SigningKey, issuer: &str) -> TrustList {
        TrustList::new(vec![TrustedKey { issuer: issuer.into(), key: key.verifying_key() }])
    }

    #[test]
    fn a_time_answer_holds_only_for_its_kiosk_its_nonce_and_its_community_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let nonce = [3u8; NONCE_LEN];
        let t = ServerTime::sign(&key, "lotus", "k1", &hex::encode(nonce), 1_800_000_000_000).unwrap();
        let trusted = trust(&key, "lotus");
        assert_eq!(t.verify(&trusted, "k1", &nonce), Ok(1_800_000_000_000));
        // Replayed to a later question, to another kiosk, altered, or signed
        // by a key the kiosk does not trust: refused.
        assert!(matches!(t.verify(&trusted, "k1", &[4u8; NONCE_LEN]), Err(TimeError::WrongAnswer(_))));
        assert!(matches!(t.verify(&trusted, "k2", &nonce), Err(TimeError::WrongAnswer(_))));
        let altered = ServerTime { server_ms: t.server_ms + 600_000, ..t.clone() };
        assert_eq!(altered.verify(&trusted, "k1", &nonce), Err(TimeError::BadSignature));
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(matches!(t.verify(&trust(&other, "lotus"), "k1", &nonce), Err(TimeError::UnknownKey(_))));
        assert!(ServerTime::sign(&key, "lotus", "k1", "not hex", 1).is_err());
    }
}
