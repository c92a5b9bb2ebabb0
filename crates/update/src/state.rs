//! What the updater is doing, on disk before it does it.

use serde::{Deserialize, Serialize};

/// The update under way. Each phase is saved before its work starts, so
/// after a power cut [`crate::apply`] knows what may be half done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Nothing under way.
    Idle,
    /// `dpkg --unpack` of version `to` (replacing `from`).
    Unpacking { to: String, from: String, attempt: u32 },
    /// `dpkg --configure`.
    Configuring { to: String, from: String, attempt: u32 },
    /// `to` is installed and restarted; waiting for its self-test, which
    /// counts from `since_ms` (the restart, or the boot after a cut).
    Testing { to: String, from: String, since_ms: i64 },
    /// Putting `to` (the kept package) back because `failed` did not work.
    RollingBack { failed: String, to: String, why: String },
}

/// How the last update ended: shared with the kiosk and the server.
pub use shoumen_protocol::release::Outcome;

/// The updater's state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub phase: Phase,
    #[serde(default)]
    pub last: Option<Outcome>,
    /// Versions that failed on this kiosk: not installed again.
    #[serde(default)]
    pub failed: Vec<String>,
    /// Power cuts met in the middle of an update, for the report.
    #[serde(default)]
    pub interruptions: u32,
}

impl Default for State {
    fn default() -> State {
        State { phase: Phase::Idle, last: None, failed: Vec::new(), interruptions: 0 }
    }
}

/// Tries of one install that a power cut interrupted before it rolls back.
pub const MOST_ATTEMPTS: u32 = 2;
