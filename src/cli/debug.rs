//! `shoumen debug-append` (hidden): appends entries in a loop for the
//! crash tests, printing each committed and acknowledged seq.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use shoumen::clock::SystemClock;
use shoumen::gate::EntryDraft;
use shoumen::store::Store;
use shoumen_protocol::{Decision, Direction, EntryKind, PassId};

pub fn append(db: &Path, count: u64, ack_every: u64, clock: &SystemClock) -> Result<ExitCode> {
    let mut store = Store::open(db, clock.boot_id())?;
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let now = clock.now();
        let draft = EntryDraft {
            wall_ms: now.wall_ms,
            mono_ms: now.mono_ms,
            clock_synced: now.vouched_for(),
            kind: EntryKind::Scan,
            direction: Direction::In,
            pass_id: Some(PassId(i.to_be_bytes())),
            role: None,
            decision: Decision::Allow,
            reason: shoumen_protocol::Reason::Ok,
            temperature: None,
            note: None,
        };
        let seq = store.append(&draft)?.seq;
        writeln!(out, "committed {seq}")?;
        if seq % ack_every == 0 {
            store.set_acked(seq)?;
            writeln!(out, "acked {seq}")?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
