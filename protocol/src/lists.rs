//! Revocation and home-quarantine lists, keyed by pass id.
//!
//! A list carries a version that only goes up and an expiry; a kiosk refuses
//! a list whose version goes backwards (rollback) and treats an expired list
//! as stale (freeze), as TUF does for its metadata.

use serde::{Deserialize, Serialize};

use crate::pass::PassId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Revocations,
    Quarantine,
}

impl ListKind {
    pub const ALL: [ListKind; 2] = [ListKind::Revocations, ListKind::Quarantine];

    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Revocations => "revocations",
            ListKind::Quarantine => "quarantine",
        }
    }
}

/// One pass on a list, optionally only for a time window (quarantine).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItem {
    pub pass_id: PassId,
    /// Unix seconds; `None` = since forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Unix seconds; `None` = until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

impl ListItem {
    pub fn active_at(&self, now: i64) -> bool {
        self.from.is_none_or(|f| now >= f) && self.until.is_none_or(|u| now < u)
    }
}

/// A complete list as the server publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSnapshot {
    pub kind: ListKind,
    /// Strictly increasing per kind.
    pub version: u64,
    /// Unix seconds when the server produced it.
    pub issued_at: i64,
    /// Unix seconds after which the list must not be relied on.
    pub expires_at: i64,
    pub items: Vec<ListItem>,
}

impl ListSnapshot {
    pub fn contains_active(&self, id: &PassId, now: i64) -> bool {
        self.items.iter().any(|i| i.pass_id == *id && i.active_at(now))
    }
}
