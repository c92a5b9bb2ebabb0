//! The evidence log as its readers check it: a signed checkpoint (C2SP
//! tlog-checkpoint in a signed note), a returnee's receipt (their record is
//! in the tree of a checkpoint), and one checkpoint extending another. The
//! server writes the log (`server/src/evidence.rs`); kiosks, the server's
//! `/verify` page and `shoumen-server evidence verify` check it with this,
//! needing nothing but the log's public key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardVerifier, VerifierList};
use thiserror::Error;
use tlog_tiles::Checkpoint;
pub use tlog_tiles::Hash;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EvidenceError {
    #[error("the checkpoint is not a signed note ({0}); was it copied whole, with its last empty line?")]
    NotANote(String),
    #[error("the checkpoint is not signed by the log key {0}: it was changed, or it is another log's")]
    BadSignature(String),
    #[error("the log key is not a signed-note verifier key ({0})")]
    BadKey(String),
    #[error("the checkpoint's text is not a tlog checkpoint: {0}")]
    BadCheckpoint(String),
    #[error("the record is not in the tree of the checkpoint (the inclusion proof fails): the record, its salt, its index or the proof was changed")]
    NotIncluded,
    #[error("the checkpoint of {new} records does not extend the one of {old} seen before: the log was rewritten, or shows different histories to different readers (a split view)")]
    Inconsistent { old: u64, new: u64 },
    #[error("the log shrank from {old} to {new} records: it was rewritten, or shows different histories to different readers (a split view)")]
    Shrank { old: u64, new: u64 },
    #[error("the checkpoint is cosigned by {have} of the witnesses, {need} are needed: the log has not shown it to enough independent witnesses")]
    NotWitnessed { have: usize, need: usize },
    #[error("the checkpoint is not cosigned by the witness {0}, whom the policy requires: the log has not shown it to that witness, or the witness refused it")]
    MissingWitness(String),
    #[error("the receipt is not readable: {0}")]
    BadReceipt(String),
}

/// A verified tree head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub origin: String,
    pub size: u64,
    #[serde(with = "b64")]
    pub root: Hash,
}

/// Opens a checkpoint note signed by `vkey` (a signed-note verifier key);
/// returns the head it vouches for.
pub fn open_checkpoint(note: &str, vkey: &str) -> Result<Head, EvidenceError> {
    let verifier = StandardVerifier::new(vkey).map_err(|e| EvidenceError::BadKey(e.to_string()))?;
    let name = signed_note::Verifier::name(&verifier).to_string();
    let note = Note::from_bytes(note.as_bytes()).map_err(|e| EvidenceError::NotANote(e.to_string()))?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)])).map_err(|_| EvidenceError::BadSignature(name.clone()))?;
    let cp = Checkpoint::from_bytes(note.text()).map_err(|e| EvidenceError::BadCheckpoint(e.to_string()))?;
    if cp.origin() != name {
        return Err(EvidenceError::BadCheckpoint(format!("it names the log {}, its key is {name}'s", cp.origin())));
    }
    Ok(Head { origin: cp.origin().to_string(), size: cp.size(), root: *cp.hash() })
}

/// Checks that `new` extends `old` by the consistency `proof`.
pub fn check_extends(old: &Head, new: &Head, proof: &[Hash]) -> Result<(), EvidenceError> {
    if new.size < old.size {
        return Err(EvidenceError::Shrank { old: old.size, new: new.size });
    }
    let fine = if old.size == 0 {
        true
    } else if old.size == new.size {
        old.root == new.root
    } else {
        tlog_tiles::check_tree(&proof.to_vec(), new.size, new.root, old.size, old.root).is_ok()
    };
    if fine {
        Ok(())
    } else {
        Err(EvidenceError::Inconsistent { old: old.size, new: new.size })
    }
}

/// What the log holds for a record: SHA-256 of a random salt and the
/// canonical record, so the leaf reveals nothing about the person.
pub fn commitment(salt: &[u8], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(record);
    h.finalize().into()
}

/// The leaf hash (RFC 6962: SHA-256 of 0x00 and the entry) of a record.
pub fn leaf_hash(salt: &[u8], record: &[u8]) -> Hash {
    tlog_tiles::record_hash(&commitment(salt, record))
}

pub const RECEIPT_FORMAT: &str = "shoumen-evidence-receipt/1";

/// A returnee's receipt: their record, its salt, where it sits in the log,
/// and the proof that a signed checkpoint's tree holds it. Anyone with the
/// log's key checks it offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub format: String,
    /// The short code printed on the receipt page.
    pub code: String,
    /// The canonical record, exactly as hashed.
    pub record: String,
    /// The salt, hex.
    pub salt: String,
    pub index: u64,
    /// The inclusion proof into the checkpoint's tree, oldest level first.
    #[serde(with = "b64_list")]
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// The log's verifier key, so the file checks with nothing else; whose
    /// key it is, the person confirms by its [`fingerprint`] on the poster
    /// at the gate. Empty in receipts made before it was added.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_key: String,
    /// The witnesses (cosignature/v1 vkeys) whose cosignatures the log's
    /// policy asks, and how many; a reader may bring a policy of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub quorum: usize,
    /// The witnesses that must cosign, whatever the others do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A log key's fingerprint as people compare it: the first 80 bits of the
/// SHA-256 of its verifier key text, in five groups of four hex digits
/// (`3fa2 91c0 …`). Printed on the poster, the receipt page and the
/// district's page, so a key that came from the server can be checked
/// against one that did not.
pub fn fingerprint(vkey: &str) -> String {
    let digest = Sha256::digest(vkey.trim().as_bytes());
    let hex = hex::encode(&digest[..10]);
    hex.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

impl Receipt {
    /// Checks the receipt against the log key `vkey`: the checkpoint's
    /// signature, then the record's leaf in its tree. Returns the head.
    pub fn verify(&self, vkey: &str) -> Result<Head, EvidenceError> {
        if self.format != RECEIPT_FORMAT {
            return Err(EvidenceError::BadReceipt(format!("format {:?}, expected {RECEIPT_FORMAT:?}", self.format)));
        }
        let salt = hex::decode(&self.salt).map_err(|_| EvidenceError::BadReceipt("the salt is not hex".into()))?;
        let head = open_checkpoint(&self.checkpoint, vkey)?;
        if self.index >= head.size {
            return Err(EvidenceError::NotIncluded);
        }
        let leaf = leaf_hash(&salt, self.record.as_bytes());
        tlog_tiles::check_record(&self.proof, head.size, head.root, self.index, leaf)
            .map_err(|_| EvidenceError::NotIncluded)?;
        Ok(head)
    }

    pub fn parse(text: &str) -> Result<Receipt, EvidenceError> {
        serde_json::from_str(text).map_err(|e| EvidenceError::BadReceipt(e.to_string()))
    }
}

/// The log head a kiosk holds, reported in its heartbeat; `fault` says why
/// the newest checkpoint it was shown did not extend it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldHead {
    pub size: u64,
    #[serde(with = "b64")]
    pub root: Hash,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

// Hashes compare byte for byte (tlog's `Hash` only derives `PartialEq`).
impl Eq for HeldHead {}

/// The newest checkpoint, sent with the lists: the note, the log's key and
/// the consistency proof from the size the kiosk said it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogAnswer {
    pub checkpoint: String,
    pub key: String,
    #[serde(with = "b64_list")]
    pub proof: Vec<Hash>,
}

/// Hashes travel as standard base64, as in checkpoints.
mod b64 {
    use super::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(h)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        Hash::deserialize(d)
    }
}

mod b64_list {
    use super::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hs: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hs.iter().map(|h| h.to_string()))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<Hash>::deserialize(d)
    }
}

impl Eq for LogAnswer {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `n` records in memory, from tlog's own functions.
    struct Mem(Vec<Hash>);
    impl tlog_tiles::HashReader for Mem {
        fn read_hashes(&self, idx: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            Ok(idx.iter().map(|&i| self.0[i as usize]).collect())
        }
    }
    fn tree(records: &[Vec<u8>]) -> Mem {
        let mut m = Mem(Vec::new());
        for (n, r) in records.iter().enumerate() {
            let hs = tlog_tiles::stored_hashes(n as u64, r, &m).unwrap();
            m.0.extend(hs);
        }
        m
    }
    fn note(origin_key: &(String, String), size: u64, root: Hash) -> String {
        let name = origin_key.1.split('+').next().unwrap();
        let text = Checkpoint::new(name, size, root, "").unwrap().to_bytes();
        let mut n = Note::new(&text, &[]).unwrap();
        n.add_sigs(&[&signed_note::StandardSigner::new(&origin_key.0).unwrap()]).unwrap();
        String::from_utf8(n.to_bytes()).unwrap()
    }

    #[test]
    fn a_fingerprint_is_five_groups_of_the_keys_hash() {
        let f = fingerprint("shoumen.test/evidence+0f5c4b1a+AQ==");
        assert_eq!(f.len(), 24);
        assert_eq!(f.split(' ').count(), 5);
        assert_eq!(f, fingerprint("shoumen.test/evidence+0f5c4b1a+AQ==\n"), "a copied key's newline does not count");
        assert_ne!(f, fingerprint("shoumen.test/evidence+0f5c4b1b+AQ=="));
        assert_eq!(&f[..4], &hex::encode(Sha256::digest(b"shoumen.test/evidence+0f5c4b1a+AQ=="))[..4]);
    }

    #[test]
    fn a_receipt_verifies_and_any_changed_character_fails_with_its_reason() {
        let keys = signed_note::generate_key(&mut rand::rngs::OsRng, "shoumen.test/evidence");
        let salt = [7u8; 32];
        let record = r#"{"name":"王芳","unit":"3-502"}"#;
        let records: Vec<Vec<u8>> =
            (0..5).map(|i| if i == 3 { commitment(&salt, record.as_bytes()).to_vec() } else { vec![i] }).collect();
        let m = tree(&records);
        let root = tlog_tiles::tree_hash(5, &m).unwrap();
        let receipt = Receipt {
            format: RECEIPT_FORMAT.into(),
            code: "K7M2QX".into(),
            record: record.into(),
            salt: hex::encode(salt),
            index: 3,
            proof: tlog_tiles::prove_record(5, 3, &m).unwrap(),
            checkpoint: note(&keys, 5, root),
            log_key: keys.1.clone(),
            witnesses: vec![],
            quorum: 0,
            required: vec![],
        };
        assert_eq!(receipt.verify(&keys.1).unwrap().size, 5);
        let with = |f: &dyn Fn(&mut Receipt)| {
            let mut r = receipt.clone();
            f(&mut r);
            r.verify(&keys.1).unwrap_err()
        };
        assert_eq!(with(&|r| r.record = r.record.replace("502", "503")), EvidenceError::NotIncluded);
        assert_eq!(with(&|r| r.salt = r.salt.replacen('7', "8", 1)), EvidenceError::NotIncluded);
        assert_eq!(with(&|r| r.index = 2), EvidenceError::NotIncluded);
        assert_eq!(with(&|r| r.proof[0].0[0] ^= 1), EvidenceError::NotIncluded);
        assert!(matches!(
            with(&|r| r.checkpoint = r.checkpoint.replacen("\n5\n", "\n6\n", 1)),
            EvidenceError::BadSignature(_)
        ));
        let other = signed_note::generate_key(&mut rand::rngs::OsRng, "shoumen.test/evidence");
        assert!(matches!(receipt.verify(&other.1), Err(EvidenceError::BadSignature(_))));
    }

    #[test]
    fn a_head_extends_its_past_and_a_rewritten_one_does_not() {
        let records: Vec<Vec<u8>> = (0..9u8).map(|i| vec![i]).collect();
        let m = tree(&records);
        let head = |n: u64| Head { origin: "o".into(), size: n, root: tlog_tiles::tree_hash(n, &m).unwrap() };
        for old in 1..=9 {
            for new in old..=9 {
                let proof = if old == new { vec![] } else { tlog_tiles::prove_tree(new, old, &m).unwrap() };
                check_extends(&head(old), &head(new), &proof).unwrap();
            }
        }
        // Another history of the same size, or of more records.
        let mut forked = records.clone();
        forked[2] = vec![99];
        let f = tree(&forked);
        let fhead = |n: u64| Head { origin: "o".into(), size: n, root: tlog_tiles::tree_hash(n, &f).unwrap() };
        assert_eq!(check_extends(&head(5), &fhead(5), &[]), Err(EvidenceError::Inconsistent { old: 5, new: 5 }));
        let proof = tlog_tiles::prove_tree(8, 5, &f).unwrap();
        assert_eq!(check_extends(&head(5), &fhead(8), &proof), Err(EvidenceError::Inconsistent { old: 5, new: 8 }));
        assert_eq!(check_extends(&head(5), &head(4), &[]), Err(EvidenceError::Shrank { old: 5, new: 4 }));
    }
}
