//! Trusted signing keys: which community keys a kiosk accepts passes from.

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A short key id: the first bytes of SHA-256 over the public key. It only
/// picks the key to try; the signature check is what proves the pass.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; KeyId::LEN]);

impl KeyId {
    pub const LEN: usize = 4;

    pub fn of(key: &VerifyingKey) -> KeyId {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; KeyId::LEN];
        id.copy_from_slice(&digest[..KeyId::LEN]);
        KeyId(id)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<KeyId> {
        bytes.try_into().ok().map(KeyId)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One community signing key the kiosk trusts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// The community id that passes signed by this key must claim.
    pub issuer: String,
    #[serde(with = "hex_key")]
    pub key: VerifyingKey,
}

impl TrustedKey {
    pub fn kid(&self) -> KeyId {
        KeyId::of(&self.key)
    }
}

/// The set of trusted keys, as kept in the store and in trust files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustList {
    pub keys: Vec<TrustedKey>,
}

impl TrustList {
    pub fn new(keys: Vec<TrustedKey>) -> TrustList {
        TrustList { keys }
    }

    pub fn get(&self, kid: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.kid() == *kid)
    }
}

mod hex_key {
    use ed25519_dalek::VerifyingKey;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &VerifyingKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(key.as_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VerifyingKey, D::Error> {
        let text = String::deserialize(d)?;
        let bytes: [u8; 32] = hex::decode(&text)
            .map_err(D::Error::custom)?
            .try_into()
            .map_err(|_| D::Error::custom("an Ed25519 public key is 64 hex digits"))?;
        VerifyingKey::from_bytes(&bytes).map_err(D::Error::custom)
    }
}
