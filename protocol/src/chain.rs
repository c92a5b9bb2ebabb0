//! The one walk along a kiosk's hash chain, shared by the kiosk's store
//! (`shoumen log verify`), the server's ingest of pushed pages and the
//! server's re-check of what it holds.
//!
//! `h_n = SHA-256(h_{n-1} ‖ digest_n)`, `h_0` = [`GENESIS`], seqs from 1
//! without gaps or repeats. The checker is pure: callers read rows and feed
//! them in order; the first problem is returned as a [`ChainBreak`].

use thiserror::Error;

use crate::entry::{chain_hash, Entry, Hash, GENESIS};

/// Where and how a chain fails.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ChainBreak {
    /// A seq is missing, repeated or out of order.
    #[error("entry {expected} is missing (next entry is {found}): deleted or reordered")]
    Missing { expected: u64, found: u64 },
    /// The content no longer hashes to its stored digest.
    #[error("entry {seq}'s content does not match its digest (altered)")]
    Altered { seq: u64 },
    /// The content is an entry of another kiosk or another seq.
    #[error("entry {seq} holds the content of {device} seq {claimed} (moved)")]
    Moved { seq: u64, device: String, claimed: u64 },
    /// The content is not an entry at all.
    #[error("entry {seq}'s content is not an entry: {reason}")]
    Unreadable { seq: u64, reason: String },
    /// The claimed chain hash does not follow from the previous one.
    #[error("entry {seq} does not continue the chain (altered, or a different history)")]
    Diverges { seq: u64 },
    /// Rows at the end are gone but the recorded head still names them.
    #[error("the log ends at seq {last} but its recorded head is seq {recorded} (entries deleted at the end)")]
    Truncated { last: u64, recorded: u64 },
}

impl ChainBreak {
    /// The first seq that is not as it should be.
    pub fn seq(&self) -> u64 {
        match self {
            ChainBreak::Missing { expected, .. } => *expected,
            ChainBreak::Altered { seq }
            | ChainBreak::Moved { seq, .. }
            | ChainBreak::Unreadable { seq, .. }
            | ChainBreak::Diverges { seq } => *seq,
            ChainBreak::Truncated { last, recorded } => (*last + 1).min(*recorded),
        }
    }
}

/// Walks a chain forward, one entry at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCheck {
    last_seq: u64,
    head: Hash,
}

impl Default for ChainCheck {
    fn default() -> Self {
        ChainCheck::new()
    }
}

impl ChainCheck {
    /// A walk from the start of a chain.
    pub fn new() -> ChainCheck {
        ChainCheck { last_seq: 0, head: GENESIS }
    }

    /// A walk that continues after `last_seq`, whose chain hash is `head`.
    pub fn resume(last_seq: u64, head: Hash) -> ChainCheck {
        ChainCheck { last_seq, head }
    }

    /// The last seq accepted and its chain hash.
    pub fn head(&self) -> (u64, Hash) {
        (self.last_seq, self.head)
    }

    /// Accepts entry `seq` with content digest `digest`; `claimed` is the
    /// chain hash stored or sent with it, if there is one. Returns the chain
    /// hash after it.
    pub fn push(&mut self, seq: u64, digest: &Hash, claimed: Option<&Hash>) -> Result<Hash, ChainBreak> {
        let expected = self.last_seq + 1;
        if seq != expected {
            return Err(ChainBreak::Missing { expected, found: seq });
        }
        let hash = chain_hash(&self.head, digest);
        if claimed.is_some_and(|c| *c != hash) {
            return Err(ChainBreak::Diverges { seq });
        }
        self.last_seq = seq;
        self.head = hash;
        Ok(hash)
    }

    /// Accepts a whole entry of `device`, checking that its content names
    /// the seq it stands at.
    pub fn push_entry(
        &mut self,
        device: &str,
        seq: u64,
        entry: &Entry,
        claimed: Option<&Hash>,
    ) -> Result<Hash, ChainBreak> {
        if entry.device != device || entry.seq != seq {
            return Err(ChainBreak::Moved { seq, device: entry.device.clone(), claimed: entry.seq });
        }
        self.push(seq, &entry.digest(), claimed)
    }

    /// Checks that the walk ended where the recorded head says, so rows
    /// deleted at the end are found too.
    pub fn finish(&self, recorded_seq: u64, recorded_head: &Hash) -> Result<(), ChainBreak> {
        if recorded_seq != self.last_seq || *recorded_head != self.head {
            return Err(ChainBreak::Truncated { last: self.last_seq, recorded: recorded_seq });
        }
        Ok(())
    }
}

/// Parses stored entry content and checks it against its stored digest.
pub fn read_entry(seq: u64, body: &str, digest: &Hash) -> Result<Entry, ChainBreak> {
    use sha2::{Digest, Sha256};
    if <Hash>::from(Sha256::digest(body.as_bytes())) != *digest {
        return Err(ChainBreak::Altered { seq });
    }
    serde_json::from_str(body).map_err(|e| ChainBreak::Unreadable { seq, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Hash {
        [n; 32]
    }

    #[test]
    fn a_chain_walks_from_genesis_and_names_every_break() {
        let mut c = ChainCheck::new();
        let h1 = c.push(1, &digest(1), None).unwrap();
        assert_eq!(h1, chain_hash(&GENESIS, &digest(1)));
        let h2 = chain_hash(&h1, &digest(2));
        assert_eq!(c.push(2, &digest(2), Some(&h2)), Ok(h2));
        assert_eq!(c.clone().push(4, &digest(4), None), Err(ChainBreak::Missing { expected: 3, found: 4 }));
        assert_eq!(c.clone().push(2, &digest(2), None), Err(ChainBreak::Missing { expected: 3, found: 2 }));
        assert_eq!(c.clone().push(3, &digest(3), Some(&h2)), Err(ChainBreak::Diverges { seq: 3 }));
        assert_eq!(c.finish(2, &h2), Ok(()));
        assert_eq!(c.finish(3, &h2), Err(ChainBreak::Truncated { last: 2, recorded: 3 }));
        assert_eq!(ChainBreak::Truncated { last: 2, recorded: 3 }.seq(), 3);
    }

    #[test]
    fn a_resumed_walk_continues_from_the_stored_head() {
        let mut full = ChainCheck::new();
        for n in 1..=3 {
            full.push(n, &digest(n as u8), None).unwrap();
        }
        let (seq, head) = full.head();
        let mut resumed = ChainCheck::resume(seq, head);
        assert_eq!(resumed.push(4, &digest(4), None), full.push(4, &digest(4), None));
    }
}
