//! The entry log's record format and its hash chain, shared by the kiosk
//! (which writes the chain) and the server (which checks it).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::pass::{PassId, Role};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first entry of every kiosk.
pub const GENESIS: Hash = [0u8; 32];

/// Which way a gate lets people through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl Direction {
    /// The other way.
    pub fn opposite(self) -> Direction {
        match self {
            Direction::In => Direction::Out,
            Direction::Out => Direction::In,
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in" => Ok(Direction::In),
            "out" => Ok(Direction::Out),
            _ => Err(format!("unknown direction {s:?}: expected \"in\" or \"out\"")),
        }
    }
}

/// What the gate decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The gate opened.
    Allow,
    /// Refused; the screen says why.
    Deny,
    /// Refused; a guard must look at it (fever, faults, stale lists).
    Guard,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Guard => "guard",
        }
    }
}

/// How the entry came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A pass was shown to the camera.
    Scan,
    /// A guard opened the gate from the console.
    Manual,
    /// The request-to-exit button inside the gate.
    ExitButton,
    /// Something the committee must act on (door forced or held open,
    /// repeated refusals, a device fault, stale lists); the reason says what.
    /// Alarms are entries so that they are chained and synced like any other.
    Alarm,
    /// A volunteer signed in for duty at this gate, or out (the reason says
    /// which) with their duty pass: chained like any entry, so the hours
    /// it bounds cannot be changed afterwards. Opens nothing.
    Duty,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Scan => "scan",
            EntryKind::Manual => "manual",
            EntryKind::ExitButton => "exit_button",
            EntryKind::Alarm => "alarm",
            EntryKind::Duty => "duty",
        }
    }
}

/// The temperature as recorded; the kiosk's config chooses how much to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TempRecord {
    /// Estimated body temperature in hundredths of a degree Celsius.
    /// Integers keep the canonical encoding free of float formatting.
    Centi(i32),
    /// Only whether it was at or above the fever threshold.
    Fever(bool),
}

/// One entry of a kiosk's log. No names, phone or ID numbers, faces or
/// images: a pseudonymous pass id, the decision and the time data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The kiosk's device id.
    pub device: String,
    /// Per-kiosk sequence number, from 1, never repeated.
    pub seq: u64,
    /// Linux boot id: monotonic times compare only within one boot.
    pub boot_id: String,
    /// Milliseconds since boot (CLOCK_BOOTTIME).
    pub mono_ms: u64,
    /// Wall clock, unix milliseconds; trustworthy only if `clock_synced`.
    pub wall_ms: i64,
    pub clock_synced: bool,
    pub kind: EntryKind,
    pub direction: Direction,
    pub pass_id: Option<PassId>,
    pub role: Option<Role>,
    pub decision: Decision,
    /// A stable snake_case reason code, e.g. `ok`, `expired`, `fever`.
    pub reason: String,
    pub temperature: Option<TempRecord>,
    /// The guard's reason for a manual open.
    pub note: Option<String>,
}

impl Entry {
    /// The bytes that are hashed: JSON of the struct, fields in declared
    /// order, no floats and no maps, so the encoding is deterministic.
    pub fn canonical(&self) -> Vec<u8> {
        // Serialising this plain struct cannot fail.
        serde_json::to_vec(self).expect("entry serialises")
    }

    /// `SHA-256(canonical(entry))`, kept even after retention drops the payload.
    pub fn digest(&self) -> Hash {
        Sha256::digest(self.canonical()).into()
    }
}

/// `h_n = SHA-256(h_{n-1} ‖ digest_n)`.
pub fn chain_hash(prev: &Hash, digest: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(digest);
    h.finalize().into()
}
