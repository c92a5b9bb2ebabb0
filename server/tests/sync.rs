//! The kiosk's sync client against a real server on 127.0.0.1:0: pages,
//! resends, gaps, tampering, authorisation, lists and clock correction.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use shoumen_client::sync::{self, SyncError};
use shoumen_protocol::sync::{Checkpoint, ListBundle, PushRequest, PushedEntry, SignedBundle};
use shoumen_protocol::{chain_hash, Decision, Entry, Hash, Reason};

fn stored(s: &TestServer) -> i64 {
    s.count("SELECT COUNT(*) FROM entries")
}

fn alerts(s: &TestServer, kind: &str) -> i64 {
    s.count(&format!("SELECT COUNT(*) FROM alerts WHERE kind = '{kind}'"))
}

#[test]
fn backlog_syncs_in_pages_and_a_resend_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("North gate"));
    k.add(1234);
    let mut pages = Vec::new();
    let client = k.client();
    let report =
        sync::sync_once(&mut k.store, &client, &k.clock, &[], &mut |acked, head| pages.push((acked, head))).unwrap();
    assert_eq!((report.pushed, report.acked, report.queue), (1234, 1234, 0));
    assert_eq!(pages, vec![(500, 1234), (1000, 1234), (1234, 1234)]);
    assert_eq!(stored(&server), 1234);
    // Every 10th entry is a fever refusal: the committee sees an alert for each.
    assert_eq!(alerts(&server, "fever"), 123);

    // The same page again (a lost acknowledgement): a no-op with the same watermark.
    let again = client.push(&page(&mut k, 1, 500)).unwrap().unwrap();
    assert_eq!((again.watermark, again.stored), (1234, 0));
    assert_eq!(stored(&server), 1234);
    assert_eq!(alerts(&server, "fever"), 123);
    assert_eq!(alerts(&server, "tamper"), 0);

    // More entries later: only the new ones travel.
    k.add(7);
    let report = k.sync().unwrap();
    assert_eq!((report.pushed, report.acked), (7, 1241));
    assert_eq!(stored(&server), 1241);
    let device = k.store.device_id().to_string();
    assert_eq!(
        server.db.call_blocking(|c| Ok(shoumen_server::records::ingest::verify_chain(c, &device))).unwrap(),
        Ok(1241)
    );
}

#[test]
fn pages_out_of_order_and_gaps_leave_the_right_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "east");
    k.enroll(&server.url(), &server.token("East gate"));
    k.add(30);
    let client = k.client();
    // Second page first: the server holds nothing, so it names where to start.
    assert_eq!(client.push(&page(&mut k, 11, 10)).unwrap(), Err(0));
    assert_eq!(stored(&server), 0);
    let r = client.push(&page(&mut k, 1, 10)).unwrap().unwrap();
    assert_eq!((r.watermark, r.stored), (10, 10));
    // A gap (21.. before 11..) is refused; nothing stored.
    assert_eq!(client.push(&page(&mut k, 21, 10)).unwrap(), Err(10));
    assert_eq!(stored(&server), 10);
    // Overlapping page 6..15: 6..10 already there, 11..15 new.
    let r = client.push(&page(&mut k, 6, 10)).unwrap().unwrap();
    assert_eq!((r.watermark, r.stored), (15, 5));
    // The client resumes from the watermark by itself.
    let report = k.sync().unwrap();
    assert_eq!((report.pushed, report.acked), (15, 30));
    assert_eq!(stored(&server), 30);
    assert_eq!(alerts(&server, "tamper"), 0);
}

#[test]
fn tampered_pages_raise_alerts_and_merge_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "west");
    k.enroll(&server.url(), &server.token("West gate"));
    k.add(20);
    let client = k.client();
    client.push(&page(&mut k, 1, 10)).unwrap().unwrap();
    assert_eq!(stored(&server), 10);

    let refused = |p: &PushRequest| match client.push(p) {
        Err(SyncError::Tamper(msg)) => msg,
        other => panic!("expected a tamper refusal, got {other:?}"),
    };

    // Edited: an entry's content changed after it was chained.
    let mut edited = page(&mut k, 11, 10);
    edited.entries[3].entry.reason = "ok_really".into();
    resign(&mut k, &mut edited);
    assert!(refused(&edited).contains("entry 14"));

    // Deleted: an entry missing from the middle.
    let mut deleted = page(&mut k, 11, 10);
    deleted.entries.remove(4);
    resign(&mut k, &mut deleted);
    assert!(refused(&deleted).contains("deleted or reordered"));

    // Reordered.
    let mut reordered = page(&mut k, 11, 10);
    reordered.entries.swap(2, 3);
    resign(&mut k, &mut reordered);
    assert!(refused(&reordered).contains("deleted or reordered"));

    // Forged checkpoint: signed by a key that is not the kiosk's.
    let mut forged = page(&mut k, 11, 10);
    let last = forged.entries.last().unwrap();
    let head: Hash = hex::decode(&last.hash).unwrap().try_into().unwrap();
    forged.checkpoint = Checkpoint::sign(&SigningKey::from_bytes(&[7; 32]), k.store.device_id(), last.entry.seq, &head);
    assert!(refused(&forged).contains("checkpoint"));

    // Fork: a different entry 5 with a consistent chain of its own, signed
    // by the real device key (a kiosk whose log was rewritten).
    let rows = k.store.entries_with_hash(4, 1).unwrap();
    let h4 = rows[0].1;
    let mut e5: Entry = k.store.entry(5).unwrap().unwrap();
    e5.reason = "manual".into();
    let h5 = chain_hash(&h4, &e5.digest());
    let key = k.store.device_key().unwrap();
    let fork = PushRequest {
        checkpoint: Checkpoint::sign(&key, k.store.device_id(), 5, &h5),
        entries: vec![PushedEntry { entry: e5, hash: hex::encode(h5) }],
    };
    assert!(refused(&fork).contains("fork"));

    assert_eq!(stored(&server), 10, "nothing of a refused page is stored");
    assert_eq!(alerts(&server, "tamper"), 5);
    // The honest page still goes through afterwards.
    assert_eq!(client.push(&page(&mut k, 11, 10)).unwrap().unwrap().watermark, 20);
    let device = k.store.device_id().to_string();
    assert_eq!(
        server.db.call_blocking(|c| Ok(shoumen_server::records::ingest::verify_chain(c, &device))).unwrap(),
        Ok(20)
    );
}

#[test]
fn a_rewritten_kiosk_log_is_caught_by_the_heartbeat_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "south");
    k.enroll(&server.url(), &server.token("South gate"));
    k.add(5);
    k.sync().unwrap();
    // Someone rewrites the kiosk's head hash (a different history at seq 5).
    let conn = rusqlite::Connection::open(&k.path).unwrap();
    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'head_hash'", [hex::encode([0x42u8; 32])]).unwrap();
    drop(conn);
    let k2 = Kiosk {
        store: shoumen_client::store::Store::open(&k.path, k.clock.boot_id()).unwrap(),
        path: k.path.clone(),
        clock: k.clock.clone(),
    };
    let mut k2 = k2;
    assert!(matches!(k2.sync(), Err(SyncError::Tamper(_))));
    assert_eq!(alerts(&server, "tamper"), 1);
}

#[test]
fn strangers_wrong_devices_and_revoked_devices_get_401_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut a = Kiosk::new(dir.path(), "a");
    a.enroll(&server.url(), &server.token("A"));
    let mut b = Kiosk::new(dir.path(), "b");
    b.enroll(&server.url(), &server.token("B"));
    a.add(3);
    b.add(3);
    let http = reqwest::blocking::Client::new();
    let url = format!("{}/api/v1/entries", server.url());
    let body = serde_json::to_string(&page(&mut a, 1, 3)).unwrap();
    for auth in [
        None,
        Some("Bearer nobody:secret".to_string()),
        Some(format!("Bearer {}:wrong", a.store.device_id())),
        Some("Basic xyz".into()),
    ] {
        let mut req = http.post(&url).header("content-type", "application/json").body(body.clone());
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        assert_eq!(req.send().unwrap().status(), 401);
    }
    // B's credentials with A's entries: refused, nothing stored.
    assert!(matches!(b.client().push(&page(&mut a, 1, 3)), Err(SyncError::Tamper(_))));
    assert_eq!(stored(&server), 0);
    // A used token cannot enroll again.
    let token = server.token("C");
    let mut c = Kiosk::new(dir.path(), "c");
    sync::enroll(&mut c.store, &server.url(), &token, "", &fast_client()).unwrap();
    let mut d = Kiosk::new(dir.path(), "d");
    assert!(matches!(
        sync::enroll(&mut d.store, &server.url(), &token, "", &fast_client()),
        Err(SyncError::Unauthorized(_))
    ));
    // Revoked by the committee: 401, permanent for the client.
    let id = a.store.device_id().to_string();
    server.exec("UPDATE devices SET revoked = 1 WHERE id = ?1", shoumen_server::vals![id]);
    let err = a.sync().unwrap_err();
    assert!(matches!(err, SyncError::Unauthorized(_)) && err.is_permanent(), "{err}");
    assert_eq!(stored(&server), 0);
    b.sync().unwrap();
    assert_eq!(stored(&server), 3);
}

#[test]
fn lists_arrive_signed_and_the_kiosk_refuses_rollback_expiry_and_strangers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "gate");
    k.enroll(&server.url(), &server.token("Gate"));
    let community = server.db.call_blocking(|c| shoumen_server::db::community(c, COMMUNITY)).unwrap();
    let issue = |unit: &str| {
        let req = shoumen_server::records::community::PassRequest {
            role: shoumen_protocol::Role::Resident,
            unit: unit.into(),
            resident_id: None,
            valid_from: shoumen_server::db::now_ms() / 1000 - 60,
            valid_s: 86_400 * 30,
            flags: 0,
            visitor_name: None,
            gate: None,
        };
        let community = community.clone();
        server
            .db
            .call_blocking(move |c| Ok(shoumen_server::records::community::issue_pass(c, &community, &req).unwrap()))
            .unwrap()
    };
    let revoked = issue("1-101");
    let quarantined = issue("2-202");
    let fine = issue("3-303");
    let r = k.sync().unwrap();
    assert!(r.lists_updated);
    let v1 = k.store.bundle_version().unwrap();
    // Nothing changed: the server answers 204 and the kiosk keeps its version.
    assert!(!k.sync().unwrap().lists_updated);
    assert_eq!(k.store.bundle_version().unwrap(), v1);

    let now_s = shoumen_server::db::now_ms() / 1000;
    let rid = revoked.pass_id.to_hex();
    server
        .db
        .call_blocking(move |c| Ok(shoumen_server::records::community::revoke_pass(c, COMMUNITY, &rid, now_s * 1000)))
        .unwrap()
        .unwrap();
    server
        .db
        .call_blocking(move |c| {
            Ok(shoumen_server::records::community::add_quarantine(
                c,
                COMMUNITY,
                "2-202",
                now_s - 60,
                now_s + 86_400,
                "",
                0,
            )
            .unwrap())
        })
        .unwrap();
    assert!(k.sync().unwrap().lists_updated);
    assert!(k.store.bundle_version().unwrap() > v1);
    let lists = k.store.lists().unwrap();
    assert!(lists.revocations.as_ref().unwrap().contains_active(&revoked.pass_id, now_s));
    assert!(lists.quarantine.as_ref().unwrap().contains_active(&quarantined.pass_id, now_s));
    assert!(!lists.revocations.as_ref().unwrap().contains_active(&fine.pass_id, now_s));

    // The gate now refuses the revoked pass and lets the other one in.
    let mut state = shoumen_gate::GateState::new(shoumen_gate::Policy::default(), lists, Default::default());
    let results: Vec<_> = [&revoked.text, &fine.text]
        .iter()
        .enumerate()
        .map(|(i, text)| decide(&mut state, k.clock.now(), i as u64, text))
        .collect();
    assert_eq!((results[0].0.as_str(), results[0].1.as_str()), ("deny", "revoked"));
    assert_eq!(results[1].0.as_str(), "allow");

    // An older bundle (rollback), an expired one, and one signed by a stranger.
    let trust = k.store.trust().unwrap();
    let current: ListBundle = serde_json::from_str(
        &server
            .db
            .call_blocking(|c| {
                c.query_row("SELECT bundle FROM bundles ORDER BY version LIMIT 1", &[], |r| r.get::<String>(0))
            })
            .unwrap(),
    )
    .unwrap();
    let now_ms = shoumen_server::db::now_ms();
    assert!(matches!(k.store.put_bundle(&current, now_ms), Err(shoumen_client::store::StoreError::Rollback { .. })));
    let mut expired = current.clone();
    expired.version = 999;
    expired.expires_at = now_s - 1;
    assert!(matches!(k.store.put_bundle(&expired, now_ms), Err(shoumen_client::store::StoreError::ListExpired { .. })));
    let stranger = SignedBundle::sign(&ListBundle { version: 1000, ..current }, &SigningKey::from_bytes(&[9; 32]));
    assert!(stranger.open(&trust).is_err());
}

#[test]
fn heartbeats_record_skew_and_place_entries_made_with_an_unsynchronised_clock() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "clock");
    k.enroll(&server.url(), &server.token("Clock gate"));
    // A Pi without RTC after boot: wall clock in 1970, not synchronised.
    let now = k.clock.now();
    let draft = shoumen_gate::EntryDraft {
        wall_ms: 5_000,
        mono_ms: now.mono_ms - 60_000,
        clock_synced: false,
        kind: shoumen_protocol::EntryKind::Manual,
        direction: shoumen_protocol::Direction::In,
        pass_id: None,
        role: None,
        decision: shoumen_protocol::Decision::Allow,
        reason: Reason::ManualOpen,
        temperature: None,
        note: Some("<b>delivery</b>".into()),
    };
    k.store.append(&draft).unwrap();
    k.sync().unwrap();
    let skew = server.count("SELECT skew_ms FROM devices");
    assert!(skew.abs() < 5_000, "kiosk and server share this machine's clock: skew {skew} ms");
    // Shown one minute before the heartbeat, not in 1970.
    let shown = server.count(&format!(
        "SELECT {} FROM entries e LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id",
        shoumen_server::records::ingest::SHOWN_MS
    ));
    let expected = shoumen_server::db::now_ms() - 60_000;
    assert!((shown - expected).abs() < 10_000, "shown {shown}, expected about {expected}");
    let mut csv = String::new();
    server
        .db
        .call_blocking(|c| {
            let words = |code: &str| format!("words for {code}");
            shoumen_server::reports::export_csv(
                c,
                COMMUNITY,
                expected - 3_600_000..expected + 3_600_000,
                480,
                &words,
                None,
                &mut |chunk| {
                    csv.push_str(&chunk);
                    true
                },
            )
        })
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains(",manual,") && csv.contains("<b>delivery</b>") && csv.ends_with(",false,words for manual_open\n")
    );
}

#[test]
fn a_misbehaving_network_delays_sync_but_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let proxy = Proxy::start(server.bg.addr);
    let mut k = Kiosk::new(dir.path(), "flaky");
    k.enroll(&server.url(), &server.token("Flaky gate"));
    // A seeded mix: 60 % of connections pass, the rest drop, stall past the
    // client's 3 s timeout, cut the answer short or answer junk.
    let mut rng: u64 = 0x5eed;
    proxy.set_plan(move |_| {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        match (rng >> 33) % 20 {
            0..=11 => Fault::Pass,
            12 => Fault::Drop,
            13 | 14 => Fault::CutResponse,
            15 | 16 => Fault::Garbage,
            17 => Fault::Delay(4_000),
            _ => Fault::Delay(300),
        }
    });
    let client = k.client_via(Some(&proxy.url()));
    let mut errors = std::collections::BTreeMap::<String, u32>::new();
    let mut rounds = 0;
    for _ in 0..40 {
        k.add(37);
        rounds += 1;
        if let Err(e) = sync::sync_once(&mut k.store, &client, &k.clock, &[], &mut |_, _| {}) {
            let kind = match e {
                SyncError::Transport(_) => "transport",
                SyncError::Garbage(_) => "garbage",
                SyncError::Server { .. } => "server",
                ref other => panic!("unexpected error through the proxy: {other}"),
            };
            *errors.entry(kind.into()).or_default() += 1;
        }
    }
    eprintln!("errors through the proxy: {errors:?}");
    assert!(errors.get("transport").copied().unwrap_or(0) > 5, "{errors:?}");
    assert!(errors.get("garbage").copied().unwrap_or(0) > 0, "{errors:?}");
    let before_heal = stored(&server);
    assert!(before_heal > 0, "some rounds get through a flaky network");
    // Network heals.
    proxy.set_plan(|_| Fault::Pass);
    let report = sync::sync_once(&mut k.store, &client, &k.clock, &[], &mut |_, _| {}).unwrap();
    assert_eq!(report.queue, 0);
    assert_eq!(stored(&server), 37 * rounds);
    let device = k.store.device_id().to_string();
    assert_eq!(
        server.db.call_blocking(|c| Ok(shoumen_server::records::ingest::verify_chain(c, &device))).unwrap(),
        Ok(37 * rounds as u64)
    );
    assert_eq!(alerts(&server, "tamper"), 0, "a cut connection is not tampering");
}

#[test]
fn the_kiosks_sync_thread_delivers_entries_reports_status_and_backs_off_while_the_server_is_away() {
    use std::sync::atomic::AtomicBool;
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let proxy = Proxy::start(server.bg.addr);
    let mut k = Kiosk::new(dir.path(), "thread");
    // Enrolled through the proxy, so the test can cut the network.
    k.enroll(&proxy.url(), &server.token("Thread gate"));
    k.add(25);
    let (events, event_rx) = mpsc::channel();
    let (wake, wake_rx) = mpsc::channel();
    let link = sync::SyncLink::default();
    let stop = Arc::new(AtomicBool::new(false));
    let config = sync::LoopConfig {
        interval: Duration::from_millis(200),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(400),
        client: fast_client(),
        // Prune everything acknowledged at once, to see that only that goes.
        retention_days: 0,
        ..Default::default()
    };
    let thread =
        sync::spawn(k.path.clone(), k.clock.clone(), events, link.clone(), wake_rx, config, stop.clone()).unwrap();
    let wait_until = |what: &str, f: &dyn Fn() -> bool| {
        let t = Instant::now();
        while !f() {
            assert!(t.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_until("25 entries on the server", &|| stored(&server) == 25);
    wait_until("online status", &|| link.status.lock().unwrap().online);
    // The first round installs the server's lists and tells the core.
    assert!(matches!(event_rx.recv_timeout(Duration::from_secs(5)), Ok(shoumen_gate::Event::ListsUpdated(_))));

    // Network down: entries wait, the status says offline with the error.
    proxy.set_plan(|_| Fault::Drop);
    k.add(5);
    wait_until("offline status", &|| !link.status.lock().unwrap().online);
    let status = link.status.lock().unwrap().clone();
    assert!(status.queue >= 5 && status.last_error.is_some(), "{status:?}");
    assert_eq!(stored(&server), 25);
    // Back up: "Sync now" cuts the backoff short.
    proxy.set_plan(|_| Fault::Pass);
    wake.send(()).unwrap();
    wait_until("30 entries on the server", &|| stored(&server) == 30);
    wait_until("online again", &|| link.status.lock().unwrap().online);

    // Revoked: the thread stops retrying and says so.
    let id = k.store.device_id().to_string();
    server.exec("UPDATE devices SET revoked = 1 WHERE id = ?1", shoumen_server::vals![id]);
    k.add(1);
    wait_until("unauthorised status", &|| link.status.lock().unwrap().unauthorised);
    let before = proxy.connections.load(std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(proxy.connections.load(std::sync::atomic::Ordering::Relaxed), before, "no retries after a 401");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    thread.join().unwrap();
    // Retention dropped the content of the first (acknowledged) entries only;
    // the chain still verifies and the unacknowledged entry 31 is whole.
    assert_eq!(k.store.entry(1).unwrap(), None);
    assert!(k.store.entry(31).unwrap().is_some());
    let report = k.store.verify_chain().unwrap().unwrap();
    assert!(report.pruned >= 25, "{report:?}");
}

/// The gate's decision on `text` for the `n`th person: (decision, reason)
/// of the entry it records, after a normal temperature if it asks for one.
fn decide(state: &mut shoumen_gate::GateState, mut now: shoumen_gate::Now, n: u64, text: &str) -> (Decision, Reason) {
    use shoumen_gate::{step, Effect, Event, TempReading};
    // Each person after the previous one's result screen has gone.
    now.mono_ms += (n + 1) * (state.policy.result_screen_ms + 1000);
    step(state, Event::Tick, now);
    let mut effects = step(state, Event::PassRead { text: text.to_string(), direction: None }, now);
    if state.is_measuring() {
        now.mono_ms += 500;
        effects.extend(step(state, Event::Temperature(TempReading::Body(3650)), now));
    }
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Record(d) => Some((d.decision, d.reason)),
            _ => None,
        })
        .expect("the gate records its decision")
}
