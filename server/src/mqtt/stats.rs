//! What the client has seen, counted for the Sensors page.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::records::sensors::Outcome;

/// What the client has seen, for the Sensors page.
#[derive(Default)]
pub struct Stats {
    pub connected: AtomicBool,
    /// Another server process on the database listens; this one waits
    /// for its turn.
    pub waiting: AtomicBool,
    pub received: AtomicU64,
    pub stored: AtomicU64,
    pub alerts: AtomicU64,
    pub not_json: AtomicU64,
    pub too_big: AtomicU64,
    pub unknown: AtomicU64,
    pub flood: AtomicU64,
    /// Oversized packets that broke the connection, and the session
    /// resets that dropped them.
    pub oversized: AtomicU64,
    pub resets: AtomicU64,
    /// The last few unknown sensors (community, name), to pair them.
    pub unknown_names: Mutex<VecDeque<(String, String)>>,
    pub last_error: Mutex<String>,
}

impl Stats {
    pub(super) fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Seen(_) => &self.stored,
            Outcome::Alert(_) => &self.alerts,
            Outcome::NotJson => &self.not_json,
            Outcome::TooBig => &self.too_big,
            Outcome::Unknown => &self.unknown,
            Outcome::Flood => &self.flood,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn saw_unknown(&self, community: &str, name: &str) {
        let mut names = self.unknown_names.lock().unwrap_or_else(|e| e.into_inner());
        if !names.iter().any(|(c, n)| c == community && n == name) {
            names.push_front((community.to_string(), name.to_string()));
            names.truncate(50);
        }
    }

    /// The unknown sensors heard on `community`'s topics, newest first.
    pub fn unknown_in(&self, community: &str) -> Vec<String> {
        let names = self.unknown_names.lock().unwrap_or_else(|e| e.into_inner());
        names.iter().filter(|(c, _)| c == community).map(|(_, n)| n.clone()).take(10).collect()
    }
}
