//! The kiosk ⇄ server API (`/api/v1`): request and response bodies, the
//! signed checkpoint over a kiosk's chain head, and the signed list bundle.
//!
//! Every kiosk request carries `Authorization: Bearer <device>:<secret>`
//! except enrollment, which carries a one-time token instead.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::entry::{Direction, Entry, Hash};
use crate::lists::ListSnapshot;
use crate::pass::PassId;
use crate::trust::{KeyId, TrustList};

/// The path prefix of every kiosk API route.
pub const API: &str = "/api/v1";

/// The most entries one push may carry.
pub const MAX_PAGE: usize = 500;

/// A kiosk must send a heartbeat at least this often.
pub const HEARTBEAT_EVERY_S: u64 = 15 * 60;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SyncError {
    #[error("{0} is not valid hex of the right length")]
    BadHex(&'static str),
    #[error("signature does not verify")]
    BadSignature,
    #[error("the list bundle is signed by key {0}, which this kiosk does not trust")]
    UnknownKey(String),
    #[error("the list bundle is not valid JSON: {0}")]
    BadBundle(String),
}

/// `POST /api/v1/enroll`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollRequest {
    /// The one-time token an admin created on the server.
    pub token: String,
    /// The kiosk's device id; its entries already carry it.
    pub device: String,
    /// The kiosk's Ed25519 public key (hex), which signs its checkpoints.
    pub device_key: String,
    /// The gate's name, as the committee sees it.
    pub gate_name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollResponse {
    pub device: String,
    /// The secret of `Authorization: Bearer <device>:<secret>`; shown once.
    pub secret: String,
    /// The community id passes must claim as issuer.
    pub community: String,
    /// The community's signing keys: they sign passes and list bundles.
    pub trust: TrustList,
    /// The public visitor form for this gate, for the kiosk's visitor page.
    pub visitor_url: String,
    /// The gate's name as the committee named it (absent from older servers).
    #[serde(default)]
    pub gate: String,
}

/// A signed statement "device D's chain has head H at seq S". It travels with
/// every push and heartbeat, so a server that stored a different history
/// (or a kiosk whose log was rewritten) is caught.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub device: String,
    pub seq: u64,
    /// Hex of the chain hash after entry `seq` (GENESIS for seq 0).
    pub head: String,
    /// Hex of the Ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    pub fn message(device: &str, seq: u64, head: &Hash) -> Vec<u8> {
        let mut m = b"shoumen-checkpoint-v1\0".to_vec();
        m.extend_from_slice(device.as_bytes());
        m.push(0);
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(head);
        m
    }

    pub fn sign(key: &SigningKey, device: &str, seq: u64, head: &Hash) -> Checkpoint {
        let sig = key.sign(&Checkpoint::message(device, seq, head));
        Checkpoint { device: device.to_string(), seq, head: hex::encode(head), signature: hex::encode(sig.to_bytes()) }
    }

    /// Checks the signature and returns the head hash it vouches for.
    pub fn verify(&self, key: &VerifyingKey) -> Result<Hash, SyncError> {
        let head: Hash = decode_hex(&self.head, "checkpoint head")?;
        let sig: [u8; 64] = decode_hex(&self.signature, "checkpoint signature")?;
        key.verify(&Checkpoint::message(&self.device, self.seq, &head), &Signature::from_bytes(&sig))
            .map_err(|_| SyncError::BadSignature)?;
        Ok(head)
    }
}

/// One entry as pushed: the entry and the kiosk's chain hash after it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushedEntry {
    pub entry: Entry,
    /// Hex of `h_seq`; the server recomputes it from its own stored head.
    pub hash: String,
}

/// `POST /api/v1/entries`: consecutive entries, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushRequest {
    pub entries: Vec<PushedEntry>,
    /// Over the last entry of the page.
    pub checkpoint: Checkpoint,
}

/// The answer to a push (200) or to a push that starts past the watermark
/// (409, nothing stored: resend from `watermark + 1`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushResponse {
    /// The highest seq up to which the server holds every entry.
    pub watermark: u64,
    /// How many entries of this page were new.
    pub stored: u64,
}

/// An error body: a stable code and a sentence for people.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    /// e.g. `unauthorized`, `gap`, `tamper`, `bad_request`, `rate_limited`.
    pub code: String,
    pub message: String,
    /// Set on `gap`: where to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<u64>,
}

/// The kiosk's clock as it sees it; the Pi has no RTC.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClockReport {
    pub boot_id: String,
    pub mono_ms: u64,
    /// The operating system's wall clock (unix ms), uncorrected: the
    /// server's time minus this is the clock's offset.
    pub wall_ms: i64,
    pub synced: bool,
    /// How far the kiosk vouches for the time it decides by (absent from
    /// kiosks before trusted time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<crate::time::TimeTrust>,
    /// When the kiosk last took the server's time (its corrected clock,
    /// unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_at_ms: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthItem {
    pub device: String,
    pub ok: bool,
    pub state: String,
}

/// How a gate is laid out (docs/deployment.md), so the committee knows
/// where home quarantine is checked on the way out.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GateLayout {
    /// "in", "out" or "both".
    pub direction: String,
    /// A second camera faces inward and reads people going out.
    pub inward_camera: bool,
}

impl GateLayout {
    /// Whether a pass going out is seen by this gate at all.
    pub fn checks_exit(&self) -> bool {
        self.direction != "in" || self.inward_camera
    }
}

/// `POST /api/v1/cosign`: a kiosk, a witness of its community's evidence
/// log (issue 29), cosigned the checkpoint of `size` records it was shown
/// and checked against the one it holds (c2sp.org/tlog-cosignature).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KioskCosignature {
    /// The kiosk's witness key (a cosignature/v1 vkey), pinned by the
    /// server at first sight.
    pub witness_key: String,
    pub size: u64,
    /// The note signature line.
    pub line: String,
}

/// `POST /api/v1/heartbeat`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Heartbeat {
    pub clock: ClockReport,
    /// Entries not yet acknowledged by the server.
    pub queue: u64,
    pub health: Vec<HealthItem>,
    pub checkpoint: Checkpoint,
    pub version: String,
    #[serde(default)]
    pub layout: Option<GateLayout>,
    /// The evidence log's head the kiosk holds (issue 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::evidence::HeldHead>,
    /// A fresh random nonce (hex): the answer's time is signed over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_nonce: Option<String>,
    /// The machine's own numbers, for the district's dashboards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vitals: Option<Vitals>,
    /// The kiosk's side of updates (issue 31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::release::UpdateReport>,
}

/// A kiosk's machine as a number each: what a district's monitoring graphs
/// and alerts on. Every field is optional: a kiosk reports what it can read.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Vitals {
    /// The SoC's temperature (°C): a Pi in a summer gatehouse throttles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_temp_c: Option<f32>,
    /// Free space where the entry log lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_free_bytes: Option<u64>,
    /// Mean time to scan one camera frame (ms), over the last seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_ms: Option<f32>,
    /// How old the lists the kiosk decides by are (s), by its own reckoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lists_age_s: Option<i64>,
}

/// The most presence items one answer carries.
pub const MAX_PRESENCE: usize = 2000;

/// One pass's newest allowed direction, from any gate of the community.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceItem {
    pub pass_id: PassId,
    pub direction: Direction,
    /// Wall clock of that entry (unix ms).
    pub at_ms: i64,
}

/// The one rule for merging presence, wherever it is kept (the gate's
/// memory, the kiosk's store, the server): a report replaces the one held
/// only when it is strictly newer by wall clock, so the order in which
/// gates report (or a sync that brings an older one back) does not matter.
pub fn presence_replaces(held_at_ms: i64, incoming_at_ms: i64) -> bool {
    incoming_at_ms > held_at_ms
}

/// [`presence_replaces`] as the guard of an SQL upsert into a table named
/// `presence` (`INSERT … ON CONFLICT … DO UPDATE SET … ` + this).
pub const PRESENCE_UPSERT_GUARD: &str = "WHERE excluded.at_ms > presence.at_ms";

/// `GET /api/v1/presence?since=C`: presence that changed after cursor `C`,
/// oldest change first. Ask again from `cursor` while `more` is set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceFeed {
    pub cursor: u64,
    pub items: Vec<PresenceItem>,
    pub more: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeartbeatResponse {
    /// The server's wall clock (unix ms) when it answered; unsigned, for
    /// display only.
    pub server_ms: i64,
    /// The newest list bundle version, as a hint only: it is not signed, so
    /// the kiosk always asks `/lists` and believes only the signed answer.
    pub lists_version: u64,
    /// The server's time signed over the heartbeat's `time_nonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<crate::time::ServerTime>,
    /// The release the district chose for this kiosk, if it runs another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::release::UpdateOffer>,
}

/// Everything a kiosk checks passes against, published as one unit so that
/// versions and expiry are signed together.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListBundle {
    pub community: String,
    /// Strictly increasing; a kiosk refuses anything older than it has.
    pub version: u64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub trust: TrustList,
    pub revocations: ListSnapshot,
    pub quarantine: ListSnapshot,
    /// Self-declared home quarantine nobody confirmed yet (newer servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<ListSnapshot>,
}

/// The list bundle as signed, inside a [`ListsAnswer`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedBundle {
    /// The bundle's JSON, exactly as signed.
    pub bundle: String,
    /// The signing key's id (hex).
    pub kid: String,
    pub signature: String,
}

impl SignedBundle {
    const CONTEXT: &'static [u8] = b"shoumen-lists-v1\0";

    pub fn sign(bundle: &ListBundle, key: &SigningKey) -> SignedBundle {
        let json = serde_json::to_string(bundle).expect("bundle serialises");
        let sig = key.sign(&[Self::CONTEXT, json.as_bytes()].concat());
        SignedBundle {
            bundle: json,
            kid: KeyId::of(&key.verifying_key()).to_string(),
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// Verifies the signature against `trust`, then parses. Rollback and
    /// expiry are the store's to refuse, since it knows what it holds.
    pub fn open(&self, trust: &TrustList) -> Result<ListBundle, SyncError> {
        let kid: [u8; KeyId::LEN] = decode_hex(&self.kid, "key id")?;
        let key = trust.get(&KeyId(kid)).ok_or_else(|| SyncError::UnknownKey(self.kid.clone()))?;
        let sig: [u8; 64] = decode_hex(&self.signature, "bundle signature")?;
        key.key
            .verify(&[Self::CONTEXT, self.bundle.as_bytes()].concat(), &Signature::from_bytes(&sig))
            .map_err(|_| SyncError::BadSignature)?;
        let bundle: ListBundle = serde_json::from_str(&self.bundle).map_err(|e| SyncError::BadBundle(e.to_string()))?;
        if bundle.community != key.issuer {
            return Err(SyncError::BadBundle(format!(
                "bundle is for community {:?} but the key belongs to {:?}",
                bundle.community, key.issuer
            )));
        }
        Ok(bundle)
    }
}

/// The server's signed word that bundle `version` is the newest at `at`
/// (unix seconds). Without it a kiosk could be told "your lists are
/// current" by anyone on the path and skip a newer revocation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Current {
    pub community: String,
    pub version: u64,
    pub at: i64,
    pub kid: String,
    pub signature: String,
}

impl Current {
    const CONTEXT: &'static [u8] = b"shoumen-lists-current-v1\0";

    fn message(community: &str, version: u64, at: i64) -> Vec<u8> {
        let mut m = Self::CONTEXT.to_vec();
        m.extend_from_slice(community.as_bytes());
        m.push(0);
        m.extend_from_slice(&version.to_be_bytes());
        m.extend_from_slice(&at.to_be_bytes());
        m
    }

    pub fn sign(key: &SigningKey, community: &str, version: u64, at: i64) -> Current {
        let sig = key.sign(&Current::message(community, version, at));
        Current {
            community: community.to_string(),
            version,
            at,
            kid: KeyId::of(&key.verifying_key()).to_string(),
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// Checks the signature against `trust` and that the key belongs to the
    /// community named.
    pub fn verify(&self, trust: &TrustList) -> Result<(), SyncError> {
        let kid: [u8; KeyId::LEN] = decode_hex(&self.kid, "key id")?;
        let key = trust.get(&KeyId(kid)).ok_or_else(|| SyncError::UnknownKey(self.kid.clone()))?;
        if key.issuer != self.community {
            return Err(SyncError::BadBundle(format!(
                "statement for {:?} signed by a key of {:?}",
                self.community, key.issuer
            )));
        }
        let sig: [u8; 64] = decode_hex(&self.signature, "statement signature")?;
        key.key
            .verify(&Current::message(&self.community, self.version, self.at), &Signature::from_bytes(&sig))
            .map_err(|_| SyncError::BadSignature)
    }
}

/// `GET /api/v1/lists?since=V`: the newest bundle if it is newer than `V`,
/// and always the signed statement of which version is the newest now.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListsAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<SignedBundle>,
    pub current: Current,
    /// The evidence log's newest checkpoint, when the kiosk asked with
    /// `log=<size it holds>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::evidence::LogAnswer>,
}

pub fn decode_hex<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], SyncError> {
    hex::decode(text).ok().and_then(|b| b.try_into().ok()).ok_or(SyncError::BadHex(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::ListKind;
    use crate::trust::TrustedKey;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn checkpoint_signature_binds_device_seq_and_head() {
        let k = key(1);
        let cp = Checkpoint::sign(&k, "kiosk-a", 7, &[9; 32]);
        assert_eq!(cp.verify(&k.verifying_key()), Ok([9; 32]));
        let other = |f: &dyn Fn(&mut Checkpoint)| {
            let mut c = cp.clone();
            f(&mut c);
            c.verify(&k.verifying_key())
        };
        assert_eq!(other(&|c| c.seq = 8), Err(SyncError::BadSignature));
        assert_eq!(other(&|c| c.device = "kiosk-b".into()), Err(SyncError::BadSignature));
        assert_eq!(other(&|c| c.head = hex::encode([8u8; 32])), Err(SyncError::BadSignature));
        assert_eq!(other(&|c| c.head = "zz".into()), Err(SyncError::BadHex("checkpoint head")));
        assert_eq!(cp.verify(&key(2).verifying_key()), Err(SyncError::BadSignature));
    }

    #[test]
    fn a_current_statement_binds_community_version_and_time() {
        let k = key(4);
        let trust = TrustList::new(vec![TrustedKey { issuer: "c".into(), key: k.verifying_key() }]);
        let st = Current::sign(&k, "c", 9, 1_000);
        assert_eq!(st.verify(&trust), Ok(()));
        let mut lower = st.clone();
        lower.version = 8;
        assert_eq!(lower.verify(&trust), Err(SyncError::BadSignature), "a forged lower version");
        let mut later = st.clone();
        later.at = 2_000;
        assert_eq!(later.verify(&trust), Err(SyncError::BadSignature), "a replay made to look fresh");
        assert!(matches!(Current::sign(&key(5), "c", 9, 1_000).verify(&trust), Err(SyncError::UnknownKey(_))));
    }

    #[test]
    fn bundle_opens_only_with_a_trusted_key_and_unchanged_text() {
        let k = key(3);
        let list = |kind| ListSnapshot { kind, version: 4, issued_at: 10, expires_at: 20, items: vec![] };
        let trust = TrustList::new(vec![TrustedKey { issuer: "c".into(), key: k.verifying_key() }]);
        let bundle = ListBundle {
            community: "c".into(),
            version: 4,
            issued_at: 10,
            expires_at: 20,
            trust: trust.clone(),
            revocations: list(ListKind::Revocations),
            quarantine: list(ListKind::Quarantine),
            unconfirmed: None,
        };
        let signed = SignedBundle::sign(&bundle, &k);
        assert_eq!(signed.open(&trust), Ok(bundle));
        let mut edited = signed.clone();
        edited.bundle = edited.bundle.replace("\"version\":4", "\"version\":5");
        assert_eq!(edited.open(&trust), Err(SyncError::BadSignature));
        assert!(matches!(signed.open(&TrustList::default()), Err(SyncError::UnknownKey(_))));
        let other = TrustList::new(vec![TrustedKey { issuer: "other".into(), key: k.verifying_key() }]);
        assert!(matches!(signed.open(&other), Err(SyncError::BadBundle(_))));
    }
}
