//! The server process is SIGKILLed and restarted again and again while two
//! kiosks append and push: afterwards every entry is on the server exactly
//! once and both chains verify.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::release_kiosk::spawn_server;
use common::*;
use shoumen_client::sync;

#[test]
fn fifty_server_kills_while_two_kiosks_push_lose_and_duplicate_nothing() {
    let kills: u32 = std::env::var("SHOUMEN_SERVER_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let db = init_db(dir.path());
    let db_path = target(dir.path());
    let mut server = spawn_server(&db_path, None);
    let addr = server.addr;
    let proxy = Proxy::start(addr);
    let tokens: Vec<String> = ["North", "South"]
        .iter()
        .map(|g| {
            db.call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, COMMUNITY, g, 3_600_000))
                .unwrap()
        })
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let mut kiosks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let (dir, url, stop) = (dir.path().to_path_buf(), proxy.url(), stop.clone());
        kiosks.push(std::thread::spawn(move || {
            let mut k = Kiosk::new(&dir, &format!("kiosk{i}"));
            k.enroll(&url, &token);
            let client = k.client();
            let (mut ok, mut failed) = (0u32, 0u32);
            while !stop.load(Ordering::Relaxed) {
                k.add(3 + i as u64);
                match sync::sync_once(&mut k.store, &client, &k.clock, &[], &mut |_, _| {}) {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        assert!(!e.is_permanent(), "a restart must not look like tampering or revocation: {e}");
                        failed += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            (k, ok, failed)
        }));
    }

    let started = Instant::now();
    let mut rng: u64 = 42;
    for _ in 0..kills {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(60 + (rng >> 33) % 240));
        server.kill();
        server = spawn_server(&db_path, None);
        *proxy.upstream.lock().unwrap() = server.addr;
    }
    stop.store(true, Ordering::Relaxed);
    let mut results: Vec<_> = kiosks.into_iter().map(|t| t.join().unwrap()).collect();
    eprintln!("{kills} kills in {:.1} s", started.elapsed().as_secs_f64());

    for (k, ok, failed) in results.iter_mut() {
        // One last round with the server up.
        let client = k.client();
        let report = sync::sync_once(&mut k.store, &client, &k.clock, &[], &mut |_, _| {}).unwrap();
        let head = k.store.head_seq().unwrap();
        assert_eq!((report.acked, report.queue), (head, 0));
        let device = k.store.device_id().to_string();
        let d = device.clone();
        let stored = db
            .call_blocking(move |c| {
                c.scalar("SELECT COUNT(*) FROM entries WHERE device = ?1", shoumen_server::vals![d])
            })
            .unwrap();
        assert_eq!(stored as u64, head, "{device}: every entry exactly once");
        let d = device.clone();
        assert_eq!(
            db.call_blocking(move |c| Ok(shoumen_server::records::ingest::verify_chain(c, &d))).unwrap(),
            Ok(head)
        );
        assert!(k.store.verify_chain().unwrap().is_ok());
        eprintln!("{device}: {head} entries, {ok} good rounds, {failed} failed");
        assert!(*ok > 0 && *failed > 0, "the kiosk both synced and met a dead server");
    }
    let alerts = db.call_blocking(|c| c.scalar("SELECT COUNT(*) FROM alerts WHERE kind = 'tamper'", &[])).unwrap();
    assert_eq!(alerts, 0);
    if !on_postgres() {
        let integrity: String = db.call_blocking(|c| c.query_row("PRAGMA integrity_check", &[], |r| r.get(0))).unwrap();
        assert_eq!(integrity, "ok");
    }
    drop(server);
}
