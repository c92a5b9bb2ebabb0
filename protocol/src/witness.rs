//! Witnesses of the evidence log, by the C2SP specs: a witness keeps, per
//! log, the size and root it last cosigned, and cosigns a new checkpoint
//! only when a consistency proof shows it extends that
//! (c2sp.org/tlog-witness, `add-checkpoint`); its cosignature is a signed
//! note line (c2sp.org/tlog-cosignature, Ed25519 `cosignature/v1`). A
//! reader then trusts a checkpoint only when enough witnesses it knows
//! have cosigned it (a [`Policy`]), so a log that shows two histories must
//! get one of them past witnesses that saw the other.
//!
//! One truth for every witness here: the district's `shoumen-server
//! witness`, and (later) the kiosks, which cosign over their sync.
//!
//! Ed25519 rather than the spec's newer ML-DSA-44: it is what deployed
//! witnesses and readers (Go's sumdb, Sigstore, the Python reader here)
//! verify today, and the kiosks' hardware keys are Ed25519 already.

use base64::prelude::{Engine, BASE64_STANDARD};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use signed_note::{Note, Signature, VerifierList};
use thiserror::Error;
use tlog_tiles::Hash;

use crate::evidence::{check_extends, EvidenceError, Head};

/// The signature type byte of an Ed25519 cosignature/v1 key.
const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Proof lines a request may carry (the spec's bound).
pub const MAX_PROOF_LINES: usize = 63;
/// The largest add-checkpoint body a witness reads: 63 proof lines and a
/// checkpoint with a few dozen signatures.
pub const MAX_REQUEST_BYTES: usize = 16 << 10;
/// The content type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a witness does not cosign, with the HTTP status the spec gives it.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("the request is not an add-checkpoint body: {0}")]
    Malformed(String),
    #[error("this witness does not witness the log {0:?}")]
    UnknownLog(String),
    #[error("the checkpoint is not signed by the log's key this witness trusts")]
    BadSignature,
    /// The client's old size is not the one the witness last cosigned.
    #[error("this witness last cosigned a tree of {0} records")]
    Conflict(u64),
    #[error("the checkpoint does not extend the tree of {old} records this witness cosigned: {why}")]
    NotConsistent { old: u64, why: String },
}

impl Refusal {
    /// The status c2sp.org/tlog-witness gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::BadSignature => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict(_) => 409,
            Refusal::NotConsistent { .. } => 422,
        }
    }
}

/// An add-checkpoint request: the size the client believes the witness
/// holds, the consistency proof from it, and the signed checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body, as the spec lays it out.
    pub fn body(&self) -> String {
        let mut body = format!("old {}\n", self.old);
        for h in &self.proof {
            body.push_str(&h.to_string());
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }

    pub fn parse(body: &str) -> Result<AddCheckpoint, Refusal> {
        let bad = |why: &str| Refusal::Malformed(why.to_string());
        if body.len() > MAX_REQUEST_BYTES {
            return Err(bad("larger than a witness reads"));
        }
        // Proof lines are never empty, so the first empty line ends them.
        let (head, checkpoint) = body.split_once("\n\n").ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(decimal)
            .ok_or_else(|| bad("the first line is not `old <size>`"))?;
        let proof = lines
            .map(|l| Hash::parse_hash(l).map_err(|_| bad("a proof line is not a base64 hash")))
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        Ok(AddCheckpoint { old, proof, checkpoint: checkpoint.to_string() })
    }
}

/// An ASCII decimal with no leading zeros, as checkpoints and the spec
/// write sizes.
pub fn decimal(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0')))
        .then(|| s.parse().ok())
        .flatten()
}

/// The origin a checkpoint names, before anything is verified: a witness
/// looks up the key it trusts for it.
pub fn origin_of(checkpoint: &str) -> &str {
    checkpoint.split('\n').next().unwrap_or("")
}

/// A witness's decision on `req` for a log whose key is `log_vkey`, given
/// what it last cosigned (`latest`, none if never). On success, the head to
/// cosign and to keep as the new latest; the caller keeps it atomically
/// with the check that its latest is still `latest` (the spec's race).
pub fn check_add(req: &AddCheckpoint, log_vkey: &str, latest: Option<&Head>) -> Result<Head, Refusal> {
    let head = crate::evidence::open_checkpoint(&req.checkpoint, log_vkey).map_err(|e| match e {
        EvidenceError::BadSignature(_) | EvidenceError::BadKey(_) => Refusal::BadSignature,
        other => Refusal::Malformed(other.to_string()),
    })?;
    if req.old > head.size {
        return Err(Refusal::Malformed(format!("old size {} is past the checkpoint's {}", req.old, head.size)));
    }
    let held = latest.map_or(0, |h| h.size);
    if req.old != held {
        return Err(Refusal::Conflict(held));
    }
    let inconsistent = |why: String| Refusal::NotConsistent { old: held, why };
    if head.size == 0 && head.root != tlog_tiles::EMPTY_HASH {
        return Err(inconsistent("a tree of 0 records has the empty tree's hash".into()));
    }
    match latest {
        None | Some(Head { size: 0, .. }) => {
            if !req.proof.is_empty() {
                return Err(inconsistent("a proof from the empty tree must be empty".into()));
            }
        }
        Some(old) => check_extends(old, &head, &req.proof).map_err(|e| inconsistent(e.to_string()))?,
    }
    Ok(head)
}

/// A witness's signing key: an Ed25519 cosignature/v1 key with its name.
pub struct Cosigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl Cosigner {
    /// A new key named `name` (a schema-less URL, such as
    /// `witness.district.example/w1`) from 32 random bytes.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Cosigner, WitnessKeyError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(WitnessKeyError::Name(name.to_string()));
        }
        let key = SigningKey::from_bytes(&seed);
        Ok(Cosigner { id: key_id(name, &key.verifying_key()), name: name.to_string(), key })
    }

    /// Reads a private key written by [`Cosigner::private_key`].
    pub fn parse(skey: &str) -> Result<Cosigner, WitnessKeyError> {
        let bad = || WitnessKeyError::Format;
        let rest = skey.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
        // Names and IDs hold no '+'; base64 may.
        let mut parts = rest.splitn(3, '+');
        let (name, _id, raw) =
            (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let raw = BASE64_STANDARD.decode(raw).map_err(|_| bad())?;
        let (&alg, seed) = raw.split_first().ok_or_else(bad)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(WitnessKeyError::NotCosignature);
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad())?;
        let c = Cosigner::from_seed(name, seed)?;
        if skey.trim() != c.private_key() {
            return Err(bad());
        }
        Ok(c)
    }

    /// The private key as text (`PRIVATE+KEY+<name>+<id>+<base64>`, like a
    /// signed-note signer key), for a file only the witness reads.
    pub fn private_key(&self) -> String {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(&self.key.to_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id, BASE64_STANDARD.encode(raw))
    }

    /// The public key as a vkey (signature type 0x04), for policies.
    pub fn vkey(&self) -> String {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64_STANDARD.encode(raw))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cosignature line (`— name base64(id ‖ time ‖ sig)\n`) over
    /// `checkpoint`'s text at `time_s` (seconds since the epoch).
    pub fn cosign(&self, checkpoint: &str, time_s: u64) -> Result<String, Refusal> {
        let note = Note::from_bytes(checkpoint.as_bytes()).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let mut sig = time_s.to_be_bytes().to_vec();
        sig.extend_from_slice(&self.key.sign(&signed_message(time_s, note.text())).to_bytes());
        let line = Signature::new(self.name.clone(), self.id, sig).map_err(|e| Refusal::Malformed(e.to_string()))?;
        String::from_utf8(line.to_bytes()).map_err(|e| Refusal::Malformed(e.to_string()))
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WitnessKeyError {
    #[error("{0:?} cannot name a witness key: no spaces or '+', and not empty")]
    Name(String),
    #[error("not a witness key (name+id+base64 of type 0x04, or PRIVATE+KEY+… for the private one)")]
    Format,
    #[error("the key is not an Ed25519 cosignature/v1 key (type 0x04)")]
    NotCosignature,
}

/// `SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]`, the spec's key ID.
fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut raw = vec![ALG_COSIGNATURE_V1];
    raw.extend_from_slice(key.as_bytes());
    signed_note::key_id(name, &raw)
}

/// What a cosignature/v1 signs: a header, the time, the checkpoint's text.
fn signed_message(time_s: u64, text: &[u8]) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time_s}\n").into_bytes();
    m.extend_from_slice(text);
    m
}

/// A witness's public key as readers configure it.
#[derive(Clone, Debug)]
pub struct WitnessKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl WitnessKey {
    pub fn parse(vkey: &str) -> Result<WitnessKey, WitnessKeyError> {
        let bad = || WitnessKeyError::Format;
        let mut parts = vkey.trim().splitn(3, '+');
        let (name, id, raw) =
            (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let raw = BASE64_STANDARD.decode(raw).map_err(|_| bad())?;
        let (&alg, key) = raw.split_first().ok_or_else(bad)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(WitnessKeyError::NotCosignature);
        }
        let key = VerifyingKey::try_from(key).map_err(|_| bad())?;
        if id.len() != 8 || u32::from_str_radix(id, 16).ok() != Some(key_id(name, &key)) {
            return Err(bad());
        }
        Ok(WitnessKey { name: name.to_string(), id: key_id(name, &key), key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl signed_note::Verifier for WitnessKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((time, sig)) = sig.split_first_chunk::<8>() else { return false };
        let time = u64::from_be_bytes(*time);
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else { return false };
        time <= i64::MAX as u64 && self.key.verify(&signed_message(time, msg), &sig).is_ok()
    }
}

/// Whose cosignatures a reader needs: every one of `required` (such as
/// the district's witness) and `quorum` of the other `witnesses` (such as
/// 2 of the community's kiosks). An empty policy trusts the log's own
/// signature alone, as before witnesses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Every witness of the policy (vkeys), the required ones too.
    pub witnesses: Vec<String>,
    /// How many of the witnesses that are not required must cosign.
    pub quorum: usize,
    /// Witnesses (vkeys) that must cosign, whatever the others do.
    pub required: Vec<String>,
}

/// A cosignature a reader checked: the witness's name and when it signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub witness: String,
    pub time_s: u64,
}

impl Policy {
    /// The policy's witnesses that validly cosigned `checkpoint` (a note
    /// the caller has checked the log's signature on), or why the note
    /// cannot be read. Signatures of keys not in the policy are ignored.
    pub fn cosigners(&self, checkpoint: &str) -> Result<Vec<Cosigned>, EvidenceError> {
        let keys = self
            .witnesses
            .iter()
            .map(|v| WitnessKey::parse(v).map_err(|e| EvidenceError::BadKey(format!("witness {v}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let note = Note::from_bytes(checkpoint.as_bytes()).map_err(|e| EvidenceError::NotANote(e.to_string()))?;
        let verifiers = keys.iter().cloned().map(|k| Box::new(k) as Box<dyn signed_note::Verifier>).collect();
        let (verified, _) = match note.verify(&VerifierList::new(verifiers)) {
            Ok(v) => v,
            Err(signed_note::NoteError::UnverifiedNote) => return Ok(Vec::new()),
            Err(e) => return Err(EvidenceError::BadSignature(e.to_string())),
        };
        Ok(verified
            .iter()
            .map(|s| Cosigned {
                witness: s.name().to_string(),
                time_s: s.signature().first_chunk::<8>().map_or(0, |t| u64::from_be_bytes(*t)),
            })
            .collect())
    }

    /// A policy of one witness, which must cosign.
    pub fn just(vkey: &str) -> Policy {
        Policy { witnesses: vec![vkey.to_string()], quorum: 0, required: vec![vkey.to_string()] }
    }

    /// No witnesses asked: the log's signature alone.
    pub fn is_empty(&self) -> bool {
        self.quorum == 0 && self.required.is_empty()
    }

    /// Checks that `checkpoint` carries every required cosignature and the
    /// quorum of the others; returns every valid cosignature of the policy.
    pub fn check(&self, checkpoint: &str) -> Result<Vec<Cosigned>, EvidenceError> {
        let got = self.cosigners(checkpoint)?;
        let mut required = Vec::new();
        for vkey in &self.required {
            let name = WitnessKey::parse(vkey).map_err(|e| EvidenceError::BadKey(format!("witness {vkey}: {e}")))?.name;
            if !got.iter().any(|c| c.witness == name) {
                return Err(EvidenceError::MissingWitness(name));
            }
            required.push(name);
        }
        let others = got.iter().filter(|c| !required.contains(&c.witness)).count();
        if others < self.quorum {
            return Err(EvidenceError::NotWitnessed { have: others, need: self.quorum });
        }
        Ok(got)
    }
}

/// Checks a receipt as a reader who trusts no server: the record in the
/// tree of a checkpoint signed by `log_key`, and that checkpoint cosigned
/// by the policy's quorum. Returns the head and who cosigned it.
pub fn verify_receipt(
    receipt: &crate::evidence::Receipt,
    log_key: &str,
    policy: &Policy,
) -> Result<(Head, Vec<Cosigned>), EvidenceError> {
    let head = receipt.verify(log_key)?;
    Ok((head, policy.check(&receipt.checkpoint)?))
}

/// Whether `line` is a valid cosignature of `checkpoint` by the witness
/// whose key is `vkey` (a log checks each witness's answer with this).
pub fn cosigned_by(vkey: &str, checkpoint: &str, line: &str) -> bool {
    let line = if line.ends_with('\n') { line.to_string() } else { format!("{line}\n") };
    Policy::just(vkey).check(&with_cosignatures(checkpoint, &[line])).is_ok()
}

/// Adds cosignature lines to a signed note (a witness's 200 answer is
/// exactly such lines).
pub fn with_cosignatures(checkpoint: &str, lines: &[String]) -> String {
    let mut note = checkpoint.to_string();
    for l in lines {
        note.push_str(l);
        if !l.ends_with('\n') {
            note.push('\n');
        }
    }
    note
}

#[cfg(test)]
mod tests;
