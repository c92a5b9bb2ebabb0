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
    /// Home quarantine the gates enforce: the committee set it, or
    /// confirmed a returnee's notice.
    Quarantine,
    /// Notices returnees declared on the public form that nobody confirmed
    /// yet: never enforced, only shown to the guard.
    Unconfirmed,
}

impl ListKind {
    pub const ALL: [ListKind; 3] = [ListKind::Revocations, ListKind::Quarantine, ListKind::Unconfirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Revocations => "revocations",
            ListKind::Quarantine => "quarantine",
            ListKind::Unconfirmed => "unconfirmed",
        }
    }
}

/// Where a home quarantine came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum QuarantineSource {
    /// Set by the committee on its Quarantine page.
    Committee,
    /// A returnee's notice, confirmed by the committee or the household.
    Notice,
    /// A returnee's notice nobody confirmed yet.
    SelfDeclared,
    /// A source this version does not know (from a newer server), kept.
    Other(String),
}

impl QuarantineSource {
    pub fn as_str(&self) -> &str {
        match self {
            QuarantineSource::Committee => "committee",
            QuarantineSource::Notice => "notice",
            QuarantineSource::SelfDeclared => "self_declared",
            QuarantineSource::Other(s) => s,
        }
    }

    /// The server's stored `quarantine.source` (`committee`, `returnee`).
    pub fn from_stored(source: &str) -> QuarantineSource {
        match source {
            "returnee" => QuarantineSource::Notice,
            other => QuarantineSource::from(other.to_string()),
        }
    }
}

impl From<String> for QuarantineSource {
    fn from(s: String) -> Self {
        match s.as_str() {
            "committee" => QuarantineSource::Committee,
            "notice" => QuarantineSource::Notice,
            "self_declared" => QuarantineSource::SelfDeclared,
            _ => QuarantineSource::Other(s),
        }
    }
}

impl From<QuarantineSource> for String {
    fn from(s: QuarantineSource) -> String {
        s.as_str().to_string()
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
    /// Who set it (quarantine lists only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<QuarantineSource>,
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
