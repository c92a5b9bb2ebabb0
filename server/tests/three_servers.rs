//! Three server processes on one PostgreSQL database behind HAProxy
//! (issue 30), one of them SIGKILLed every few seconds and started again:
//! two kiosks push through HAProxy, returnees register through each
//! process in turn, alerts go to a counting webhook receiver, and the look
//! for silent kiosks runs every second, and (with Mosquitto) doors open and
//! close through whichever process holds its turn at the sensors. Afterwards: every kiosk entry is
//! stored once and its chain verifies; every receipt is in the one final
//! evidence tree (checked by `.ci/check_evidence.py`, which shares no code
//! with the server); each robot message arrived once; the look ran once
//! in every second; each door message was stored once.
//!
//! `SHOUMEN_KILL_SECONDS` (default 20) and `SHOUMEN_KILL_EVERY_MS` (default
//! 2000): the run is 300 and 10000. Needs PostgreSQL
//! (`SHOUMEN_TEST_POSTGRES_URL`) and Debian's haproxy; skipped otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use shoumen_client::sync;
use shoumen_server::db::{now_ms, Db};
use shoumen_server::records::sensors;

const HAPROXY: &str = "/usr/sbin/haproxy";

fn available() -> bool {
    if !on_postgres() {
        eprintln!("skipped: several processes share only PostgreSQL; set {PG_VAR}");
        return false;
    }
    if !Path::new(HAPROXY).exists() {
        eprintln!("skipped: needs Debian's haproxy (apt-get install haproxy)");
        return false;
    }
    true
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One `shoumen-server` process on a fixed port, so HAProxy finds it again,
/// and (with a broker) taking its turn at the door sensors.
fn spawn_server(db: &str, port: u16, broker: Option<u16>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shoumen-server"));
    if let Some(broker) = broker {
        command.args(["--mqtt", &format!("mqtt://127.0.0.1:{broker}")]);
    }
    let mut child = command
        .args(["--db", db, "--listen", &format!("127.0.0.1:{port}")])
        // The final checkpoint holds every receipt's record at once.
        .args(["--checkpoint-every-s", "0"])
        .args(["--rate-per-minute", "100000", "--registrations-per-phone", "100"])
        .args(["--registrations-per-address", "100000", "--unit-registrations-alert", "100000"])
        .args(["--silent-check-every-s", "1", "--chores-every-s", &(CHORES_EVERY_MS / 1000).to_string()])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start shoumen-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://"), "unexpected first line {line:?}");
    child
}

/// Debian's Mosquitto on a free port, keeping its sessions in `dir`; `None`
/// (and the doors left out) if it is not installed.
fn spawn_broker(dir: &Path) -> Option<(Child, u16)> {
    if !Path::new(MOSQUITTO).exists() || !Path::new(MOSQUITTO_PUB).exists() {
        eprintln!("the door sensors left out: needs Debian's mosquitto and mosquitto-clients");
        return None;
    }
    let port = free_port();
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "user {}\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n",
            me.trim(),
            dir.display()
        ),
    )
    .unwrap();
    let mut child =
        Command::new(MOSQUITTO).arg("-c").arg(&conf).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("mosquitto did not start");
}

/// The daily chores (summary, retention, the evidence audit) run every
/// 3 s instead of once a day.
const CHORES_EVERY_MS: i64 = 3000;

const MOSQUITTO: &str = "/usr/sbin/mosquitto";
const MOSQUITTO_PUB: &str = "/usr/bin/mosquitto_pub";
/// Doors published to in turn, one message every 100 ms: each door's
/// messages are 3 s apart, each a change of its state, and a door changes
/// at most 100 times in 5 minutes (past 120 changes an hour the server
/// calls it a flood and keeps no more: `sensors::MAX_EVENTS_PER_HOUR`).
const DOORS: usize = 30;

/// Door `n % DOORS` opens or closes, as zigbee2mqtt publishes it (QoS 1).
fn publish_door(port: u16, n: usize) {
    let contact = (n / DOORS) % 2 == 1;
    let status = Command::new(MOSQUITTO_PUB)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1"])
        .args(["-t", &format!("zigbee2mqtt/door-{}", n % DOORS), "-m", &format!("{{\"contact\": {contact}}}")])
        .status()
        .unwrap();
    assert!(status.success(), "mosquitto_pub");
}

/// HAProxy in front of `ports`, checking each with /healthz, retrying a
/// request that met a dead process on another.
fn spawn_haproxy(dir: &Path, front: u16, ports: &[u16]) -> Child {
    let mut cfg = format!(
        "global\n  maxconn 500\n  tune.bufsize 1048576\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n\
         \x20 retries 3\n  option redispatch\n  retry-on conn-failure empty-response response-timeout\n\
         frontend gates\n  bind 127.0.0.1:{front}\n  default_backend servers\n\
         backend servers\n  balance roundrobin\n  option httpchk GET /healthz\n  http-check expect status 200\n"
    );
    for (i, port) in ports.iter().enumerate() {
        cfg += &format!("  server s{i} 127.0.0.1:{port} check inter 500 fall 1 rise 1\n");
    }
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let mut child = Command::new(HAPROXY)
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", front)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("haproxy did not start");
}

#[test]
fn three_processes_behind_haproxy_one_killed_again_and_again_lose_and_double_nothing() {
    if !available() {
        return;
    }
    let seconds: u64 = std::env::var("SHOUMEN_KILL_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let every_ms: u64 = std::env::var("SHOUMEN_KILL_EVERY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let db = init_db(dir.path());
    let url = target(dir.path());
    returnee_scene(&db);
    let receiver = Receiver::start(0);
    let hook = shoumen_server::webhook::Webhook::new(&receiver.url, "json", "").unwrap();
    db.call_blocking(|c| shoumen_server::webhook::set(c, COMMUNITY, Some(&hook))).unwrap();

    let broker = spawn_broker(dir.path());
    let mqtt = broker.as_ref().map(|b| b.1);
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Reaped> = ports.iter().map(|&p| Reaped(spawn_server(&url, p, mqtt))).collect();
    let front = free_port();
    let _haproxy = Reaped(spawn_haproxy(dir.path(), front, &ports));
    let _broker = broker.map(|(child, _)| Reaped(child));
    let lb = format!("http://127.0.0.1:{front}");

    let stop = Arc::new(AtomicBool::new(false));
    let mut kiosks = Vec::new();
    for i in 0..2 {
        let token = db
            .call_blocking(move |c| {
                shoumen_server::records::ingest::create_enroll_token(c, COMMUNITY, &format!("Gate {i}"), 3_600_000)
            })
            .unwrap();
        let (kdir, lb, stop) = (dir.path().to_path_buf(), lb.clone(), stop.clone());
        kiosks.push(std::thread::spawn(move || {
            let mut k = Kiosk::new(&kdir, &format!("kiosk{i}"));
            k.enroll(&lb, &token);
            let client = k.client();
            let (mut ok, mut failed) = (0u32, 0u32);
            while !stop.load(Ordering::Relaxed) {
                k.add(3 + i as u64);
                match sync::sync_once(&mut k.store, &client, &k.clock, &[], &mut |_, _| {}) {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        assert!(!e.is_permanent(), "a killed process must not look like tampering: {e}");
                        failed += 1;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
            (k, ok, failed)
        }));
    }
    // Returnees register at each process in turn.
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let registering = {
        let (ports, stop, receipts) = (ports.clone(), stop.clone(), receipts.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let base = format!("http://127.0.0.1:{}", ports[n as usize % ports.len()]);
                if let Some(receipt) = register_returnee(&base, &format!("139{n:08}")) {
                    receipts.lock().unwrap().push(receipt);
                }
                n += 1;
            }
        })
    };

    let doors = mqtt.map(|port| open_and_close_doors(&db, port, stop.clone()));
    let started = Instant::now();
    let first_second = now_ms() / 1000 + 1;
    let mut kills = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(every_ms));
        let victim = kills % servers.len();
        servers[victim].0.kill().unwrap(); // SIGKILL
        servers[victim].0.wait().unwrap();
        servers[victim] = Reaped(spawn_server(&url, ports[victim], mqtt));
        kills += 1;
    }
    let last_second = now_ms() / 1000 - 1;
    stop.store(true, Ordering::Relaxed);
    registering.join().unwrap();
    if let Some(doors) = doors {
        every_door_message_once(&db, doors.join().unwrap());
    }
    let results: Vec<_> = kiosks.into_iter().map(|t| t.join().unwrap()).collect();
    eprintln!("{kills} kills in {:.1} s", started.elapsed().as_secs_f64());

    // Every kiosk entry once, its chain whole.
    for (mut k, ok, failed) in results {
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
        eprintln!("{device}: {head} entries, {ok} good rounds, {failed} failed");
    }

    // Every receipt, whichever process signed it, in the one final tree.
    let receipts = receipts.lock().unwrap().clone();
    let registered = db.call_blocking(|c| c.scalar("SELECT COUNT(*) FROM registrations", &[])).unwrap() as u64;
    check_tree(dir.path(), &lb, &receipts, registered);
    eprintln!("{} receipts checked of {registered} registrations", receipts.len());

    // Each robot message once.
    std::thread::sleep(Duration::from_secs(2));
    let bodies = receiver.bodies.lock().unwrap().clone();
    let mut seen: Vec<&String> = bodies.iter().collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), bodies.len(), "no robot message twice");
    let delivered = db
        .call_blocking(|c| c.scalar("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_ms IS NOT NULL", &[]))
        .unwrap();
    // A process killed between the receiver's answer and its record leaves
    // a message whose outcome is unknown: given up, never sent twice.
    let unknown = db
        .call_blocking(|c| {
            c.scalar("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_ms IS NULL AND claim IS NOT NULL", &[])
        })
        .unwrap();
    let received = bodies.len() as i64;
    assert!(
        (delivered..=delivered + unknown).contains(&received),
        "each delivered message arrived once: {received} received, {delivered} recorded, {unknown} unknown"
    );

    // The look for silent kiosks: one process's, in every second.
    let looks = db
        .call_blocking(move |c| {
            c.query_map("SELECT period FROM chore_runs WHERE chore = 'silent_check'", &[], |r| r.get::<String>(0))
        })
        .unwrap();
    let looks: std::collections::BTreeSet<i64> = looks.iter().map(|p| p.parse().unwrap()).collect();
    let missed: Vec<i64> = (first_second..=last_second).filter(|s| !looks.contains(s)).collect();
    assert!(missed.is_empty(), "seconds without a look: {missed:?}");
    eprintln!(
        "{} robot messages ({unknown} whose sender was killed mid-send), {} looks for silent kiosks",
        bodies.len(),
        looks.len()
    );
    every_chore_done_each_period(&db, first_second * 1000, last_second * 1000);
}

/// Each short "day" between `from_ms` and `to_ms` got its summary claimed
/// and its retention and evidence audit done (a chore whose process was
/// killed halfway taken over by another), each by one process.
fn every_chore_done_each_period(db: &Db, from_ms: i64, to_ms: i64) {
    let periods: Vec<String> =
        (from_ms / CHORES_EVERY_MS + 1..to_ms / CHORES_EVERY_MS).map(|n| format!("t{n}")).collect();
    for chore in ["daily_summary", "retention", "evidence_fsck"] {
        let done = db
            .call_blocking(move |c| {
                c.query_map(
                    "SELECT period FROM chore_runs WHERE chore = ?1 AND (finished_ms IS NOT NULL OR ?1 = 'daily_summary')",
                    shoumen_server::vals![chore],
                    |r| r.get::<String>(0),
                )
            })
            .unwrap();
        let missed: Vec<&String> = periods.iter().filter(|p| !done.contains(p)).collect();
        assert!(missed.is_empty(), "{chore}: periods not done: {missed:?}");
    }
    eprintln!("{} periods, each with its summary, retention and evidence audit once", periods.len());
}

/// A child process killed however the test ends, a failed assertion
/// included: no server, HAProxy or broker outlives the test.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pairs the doors, waits until a process listens, then opens or closes a
/// door every 100 ms until `stop`; returns how many messages went out.
fn open_and_close_doors(db: &Db, port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    db.call_blocking(|c| {
        for d in 0..DOORS {
            let unit = format!("9-{}", 101 + d);
            shoumen_server::records::community::add_resident(c, COMMUNITY, "住户", &unit, "13800000000", now_ms())
                .unwrap();
            sensors::pair(c, COMMUNITY, &format!("door-{d}"), &unit, now_ms()).unwrap();
        }
        Ok(())
    })
    .unwrap();
    let db = db.clone();
    std::thread::spawn(move || {
        let heard = || db.call_blocking(|c| c.scalar("SELECT COUNT(last_seen_ms) FROM sensors", &[])).unwrap() > 0;
        while !heard() {
            let status = Command::new(MOSQUITTO_PUB)
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", "zigbee2mqtt/door-0"])
                .args(["-m", "{\"battery\": 90}"])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            publish_door(port, n);
            n += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        n
    })
}

/// Each door message changed its door's state once: as many events as
/// messages (one lost is one fewer; one handled twice out of turn, one more).
fn every_door_message_once(db: &Db, published: usize) {
    let events = || db.call_blocking(|c| c.scalar("SELECT COUNT(*) FROM sensor_events", &[])).unwrap() as usize;
    let started = Instant::now();
    while events() < published && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(events(), published, "every door message stored once");
    eprintln!("{published} door messages, each stored once");
}

/// Each receipt proved against the final checkpoint by the independent
/// reader, with the inclusion proof the server gives for the final size.
fn check_tree(dir: &Path, base: &str, receipts: &[String], registered: u64) {
    let b = reqwest::blocking::Client::new();
    let checkpoint = b.get(format!("{base}/log/{COMMUNITY}/checkpoint")).send().unwrap().text().unwrap();
    let key = b.get(format!("{base}/log/{COMMUNITY}/key")).send().unwrap().text().unwrap();
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(size, registered, "one leaf per registration, whichever process took it");
    let mut indexes = Vec::new();
    let mut lines = String::new();
    for receipt in receipts {
        let mut r: serde_json::Value = serde_json::from_str(receipt).unwrap();
        let index = r["index"].as_u64().unwrap();
        indexes.push(index);
        let proof: serde_json::Value = b
            .get(format!("{base}/log/{COMMUNITY}/inclusion?index={index}&size={size}"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["checkpoint"] = checkpoint.clone().into();
        r["proof"] = proof["proof"].clone();
        lines += &(r.to_string() + "\n");
    }
    // One run of the reader over them all.
    let file: PathBuf = dir.join("receipts.jsonl");
    std::fs::write(&file, lines).unwrap();
    let reader = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci");
    let script = "import json, sys; sys.path.insert(0, sys.argv[1]); import check_evidence as c\n\
                  n = 0\n\
                  for line in open(sys.argv[2]):\n    c.check_receipt(json.loads(line), sys.argv[3]); n += 1\n\
                  print(n, 'receipts check out')";
    let out = Command::new("python3").args(["-c", script, reader]).arg(&file).arg(key.trim()).output().unwrap();
    assert!(out.status.success(), "the independent reader: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{} receipts check out", receipts.len()));
    indexes.sort();
    let n = indexes.len();
    indexes.dedup();
    assert_eq!(indexes.len(), n, "no two receipts with one index");
}
