//! What a kiosk's self-test found, written by the kiosk after it starts on
//! a new version and read by the updater.

use serde::{Deserialize, Serialize};

/// One check: `camera`, `thermometer`, `relay`, `store`, `sync`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// What was seen, or why it failed, for the report.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTest {
    /// The version that ran it (the kiosk's own).
    pub version: String,
    /// When it finished (the kiosk's clock, ms).
    pub at_ms: i64,
    pub checks: Vec<Check>,
}

impl SelfTest {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The failed checks in a line, for the rollback's reason.
    pub fn failures(&self) -> String {
        let failed: Vec<String> =
            self.checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.name, c.detail)).collect();
        if failed.is_empty() {
            "no check ran".into()
        } else {
            failed.join("; ")
        }
    }
}
