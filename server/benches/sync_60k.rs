//! 60,000 queued entries (30 days offline at a busy gate) synced over
//! loopback to a fresh server. Reports the time and the ingest rate.
//!
//! `cargo bench -p shoumen-server --bench sync_60k` (SHOUMEN_BENCH_ENTRIES to change the count).

use std::time::Instant;

use shoumen_client::clock::SystemClock;
use shoumen_client::store::Store;
use shoumen_client::sync::{self, ClientConfig};
use shoumen_gate::EntryDraft;
use shoumen_protocol::{Decision, Direction, EntryKind, PassId, Role, TempRecord};
use shoumen_server::db::{self, now_ms, Db};
use shoumen_server::{Background, Config};

fn main() {
    let n: u64 = std::env::var("SHOUMEN_BENCH_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(60_000);
    let dir = tempfile::tempdir().unwrap();
    let server_db = dir.path().join("server.db");
    let target = server_db.to_string_lossy().into_owned();
    let db = Db::open(&target).unwrap();
    let hash = shoumen_server::web::argon2_hash("bench").unwrap();
    db.call_blocking(|c| db::init(c, "bench", "admin", &hash, now_ms())).unwrap();
    let token = db
        .call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, "bench", "Bench gate", 3_600_000))
        .unwrap();
    let server =
        Background::start(Db::open(&target).unwrap(), Config { public_url: String::new(), ..Config::default() })
            .unwrap();

    let clock = SystemClock::new();
    let mut store = Store::open(&dir.path().join("kiosk.db"), clock.boot_id()).unwrap();
    sync::enroll(&mut store, &server.url(), &token, "", &ClientConfig::default()).unwrap();
    let t = Instant::now();
    let start = clock.now();
    for i in 0..n {
        // Thirty days, evenly spread.
        let offset = (i as i64) * 30 * 86_400_000 / n as i64;
        let fever = i % 97 == 0;
        store
            .append(&EntryDraft {
                wall_ms: start.wall_ms - 30 * 86_400_000 + offset,
                mono_ms: start.mono_ms,
                clock_synced: true,
                kind: EntryKind::Scan,
                direction: if i % 2 == 0 { Direction::In } else { Direction::Out },
                pass_id: Some(PassId((i % 3000).to_be_bytes())),
                role: Some(Role::Resident),
                decision: if fever { Decision::Guard } else { Decision::Allow },
                reason: if fever { shoumen_protocol::Reason::Fever } else { shoumen_protocol::Reason::Ok },
                temperature: Some(TempRecord::Centi(if fever { 3810 } else { 3640 })),
                note: None,
            })
            .unwrap();
    }
    println!("queued {n} entries in {:.1} s (kiosk commits, synchronous=FULL)", t.elapsed().as_secs_f64());

    let client = sync::Client::new(store.sync_credentials().unwrap().unwrap(), &ClientConfig::default()).unwrap();
    let t = Instant::now();
    let report = sync::sync_once(&mut store, &client, &clock, &[], &mut |_, _| {}).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!((report.pushed, report.queue), (n, 0));
    let stored = db.call_blocking(|c| c.scalar("SELECT COUNT(*) FROM entries", &[])).unwrap();
    assert_eq!(stored as u64, n);
    println!(
        "synced {n} entries over loopback in {secs:.2} s: {:.0} entries/s end to end ({} pages of ≤ {})",
        n as f64 / secs,
        n.div_ceil(shoumen_protocol::sync::MAX_PAGE as u64),
        shoumen_protocol::sync::MAX_PAGE
    );
    let t = Instant::now();
    let device = store.device_id().to_string();
    let verified =
        db.call_blocking(move |c| Ok(shoumen_server::records::ingest::verify_chain(c, &device))).unwrap().unwrap();
    println!("server chain check of {verified} entries: {:.2} s", t.elapsed().as_secs_f64());
    let size = std::fs::metadata(&server_db).map(|m| m.len()).unwrap_or(0);
    println!("server database: {:.1} MB", size as f64 / 1e6);
}
