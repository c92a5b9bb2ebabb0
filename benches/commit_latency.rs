//! Commit latency of one entry: `Store::append` with WAL and
//! synchronous=FULL, on the disk that holds `target/`.
//!
//!     cargo bench --bench commit_latency
//!
//! Prints p50/p90/p99/max over `SHOUMEN_BENCH_ENTRIES` appends (default 2000).

use std::time::Instant;

use shoumen::gate::EntryDraft;
use shoumen::store::Store;
use shoumen_protocol::{Decision, Direction, EntryKind, PassId, TempRecord};

fn main() {
    let n: usize = std::env::var("SHOUMEN_BENCH_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR").to_string() + "/target").unwrap();
    let mut store = Store::open(&dir.path().join("bench.db"), "bench").unwrap();
    let mut micros = Vec::with_capacity(n);
    for i in 0..n {
        let draft = EntryDraft {
            wall_ms: 1_790_000_000_000 + i as i64,
            mono_ms: i as u64,
            clock_synced: true,
            kind: EntryKind::Scan,
            direction: Direction::In,
            pass_id: Some(PassId((i as u64 % 500).to_be_bytes())),
            role: Some(shoumen_protocol::Role::Resident),
            decision: Decision::Allow,
            reason: shoumen_protocol::Reason::Ok,
            temperature: Some(TempRecord::Centi(3650)),
            note: None,
        };
        let t = Instant::now();
        store.append(&draft).unwrap();
        micros.push(t.elapsed().as_micros() as u64);
    }
    micros.sort_unstable();
    let pct = |p: f64| micros[((n as f64 * p) as usize).min(n - 1)] as f64 / 1000.0;
    println!(
        "commit_latency entries={n} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        micros[n - 1] as f64 / 1000.0
    );
}
