//! Shoumen's wire formats: signed passes, the entry log's hash chain and the
//! lists a kiosk checks passes against. Pure data and crypto; no I/O.

pub mod base45;
pub mod chain;
pub mod enroll;
pub mod entry;
pub mod evidence;
pub mod holder;
pub mod lists;
pub mod pass;
mod pass_error;
pub mod release;
pub mod sync;
pub mod testkit;
pub mod time;
pub mod trust;
pub mod vocab;
pub mod witness;

pub use chain::{ChainBreak, ChainCheck};
pub use entry::{chain_hash, Decision, Direction, Entry, EntryKind, Hash, TempRecord, GENESIS};
pub use holder::HolderKey;
pub use lists::{ListItem, ListKind, ListSnapshot, QuarantineSource};
pub use pass::{PassClaims, PassError, PassFlags, PassId, Role};
pub use trust::{KeyId, TrustList, TrustedKey};
pub use vocab::{AlertKind, Reason, DUTY_FORGOTTEN_AFTER_MS};

// Re-exported so that users of the protocol need not pin the same version.
pub use ed25519_dalek;
