//! Witnesses of the evidence log (issue 29): a checkpoint is published
//! only once the community's policy of witnesses cosigned it, by the C2SP
//! tlog-witness protocol, with a witness written from the spec in Python
//! (`.ci/test_witness.py`) and the district's `shoumen-server witness`;
//! a log rewritten with the database's own key gets past neither.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use shoumen_protocol::evidence::Receipt;
use shoumen_protocol::witness::Policy;
use shoumen_server::records::{evidence, witnesses};

/// A child process killed when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the child's stdout lines until one starts with `prefix`.
fn line_starting(child: &mut Child, prefix: &str) -> String {
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with(prefix) {
            // Keep draining so the child never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return line;
        }
        seen.push(line);
    }
    panic!("no line starting {prefix:?}; saw {seen:?}");
}

/// The Python witness, trusting `log_key`: (process, its vkey, its URL).
fn python_witness(log_key: &str) -> Option<(Running, String, String)> {
    let has = Command::new("python3").args(["-c", "import cryptography"]).status();
    if !has.is_ok_and(|s| s.success()) {
        eprintln!("skipped: needs python3 with cryptography (apt-get install python3-cryptography)");
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/test_witness.py");
    let mut child =
        Command::new("python3").arg(script).args(["--log-key", log_key]).stdout(Stdio::piped()).spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let vkey = lines.next().unwrap().unwrap().strip_prefix("vkey ").unwrap().to_string();
    let port = lines.next().unwrap().unwrap().strip_prefix("listening ").unwrap().to_string();
    Some((Running(child), vkey, format!("http://127.0.0.1:{port}")))
}

fn server_cmd(db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoumen-server"));
    cmd.arg("--db").arg(db);
    cmd
}

/// The district's witness on a SQLite file of its own: (process, vkey, URL).
fn district_witness(dir: &Path, log_key: &str) -> (Running, String, String) {
    let db = dir.join("witness.db").display().to_string();
    let key = dir.join("witness.key");
    let out = server_cmd(&db)
        .args(["witness", "key", "--name", "witness.district.test/w1", "--key-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = server_cmd(&db).args(["witness", "trust", log_key]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut child = server_cmd(&db)
        .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key-file"])
        .arg(&key)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = line_starting(&mut child, "witness ");
    let url = line.rsplit(' ').next().unwrap().to_string();
    (Running(child), vkey, url)
}

/// Witnesses asked, and a new checkpoint chosen, every 100 ms.
fn fast_witnessing(c: &mut shoumen_server::Config) {
    c.cosign_every = Duration::from_millis(100);
    c.checkpoint_every = Duration::from_millis(100);
}

fn published(server: &TestServer) -> Option<(u64, String)> {
    server.db.call_blocking(|c| witnesses::newest_published(c, COMMUNITY)).unwrap()
}

/// Waits until the newest published checkpoint has `size` records.
fn wait_published(server: &TestServer, size: u64) -> String {
    let start = Instant::now();
    loop {
        if let Some((n, note)) = published(server) {
            if n >= size {
                return note;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no checkpoint of {size} records published in 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn verify(server: &TestServer, receipt: &str) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/verify", server.url()))
        .header("accept-language", "en")
        .form(&[("receipt", receipt)])
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// `.ci/check_evidence.py` on a receipt: (it checked out, what it said).
fn python_reader(dir: &Path, receipt: &str) -> (bool, String) {
    let file = dir.join("receipt.json");
    std::fs::write(&file, receipt).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/check_evidence.py");
    let out = Command::new("python3").arg(script).arg(&file).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `shoumen-server evidence verify` on a receipt, with no database.
fn cli_verify(dir: &Path, receipt: &str) -> (bool, String) {
    let file = dir.join("receipt-cli.json");
    std::fs::write(&file, receipt).unwrap();
    let out = server_cmd("/nonexistent/no.db").args(["evidence", "verify"]).arg(&file).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn verify_code(server: &TestServer, code: &str) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/verify", server.url()))
        .header("accept-language", "en")
        .form(&[("receipt", ""), ("code", code)])
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn get(url: &str) -> (u16, String) {
    let r = reqwest::blocking::get(url).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn checkpoints_are_published_once_witnesses_cosign_and_a_rewritten_log_gets_past_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), fast_witnessing);
    returnee_scene(&server.db);
    let log_key = server.db.call_blocking(|c| evidence::verifier_key(c, COMMUNITY)).unwrap();
    let Some((_python, python_vkey, python_url)) = python_witness(&log_key) else { return };
    let wdir = tempfile::tempdir().unwrap();
    let (_district, district_vkey, district_url) = district_witness(wdir.path(), &log_key);
    let checkpoint_url = format!("{}/log/{COMMUNITY}/checkpoint", server.url());
    // No policy: the log's own checkpoint, as before witnesses.
    assert_eq!(get(&checkpoint_url).0, 200);

    // "The district and one other", the district not reachable yet:
    // nothing is published, and a receipt says it is not cosigned.
    server
        .db
        .call_blocking(|c| {
            witnesses::add(c, COMMUNITY, &python_vkey, &python_url, false).unwrap();
            witnesses::add(c, COMMUNITY, &district_vkey, "http://127.0.0.1:9", true).unwrap();
            witnesses::set_quorum(c, COMMUNITY, 1).unwrap();
            Ok(())
        })
        .unwrap();
    let (first_at, _) = register_returnee_at(&server.url(), "13900000001").unwrap();
    for n in 2..4 {
        register_returnee(&server.url(), &format!("1390000000{n}")).unwrap();
    }
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(published(&server), None);
    let (status, body) = get(&checkpoint_url);
    assert_eq!(status, 404, "{body}");
    let page = get(&format!("{}{first_at}", server.url())).1;
    assert!(page.contains("id=\"cosign-pending\"") && !page.contains("id=\"cosigned\""), "{page}");
    let pending = get(&format!("{}{first_at}/json", server.url())).1;
    let (status, page) = verify(&server, &pending);
    assert_eq!(status, 422);
    assert!(page.contains("not cosigned by enough independent witnesses"), "{page}");
    let listed = server.db.call_blocking(|c| witnesses::list(c, COMMUNITY)).unwrap();
    assert!(listed.iter().any(|w| w.last_error.as_deref().is_some_and(|e| e.contains("cannot reach"))), "{listed:?}");

    // The district's witness at its address: published, both cosignatures
    // on it, and each checks against its witness's key.
    server
        .db
        .call_blocking(|c| Ok(witnesses::add(c, COMMUNITY, &district_vkey, &district_url, true)))
        .unwrap()
        .unwrap();
    let note = wait_published(&server, 3);
    assert_eq!(get(&checkpoint_url).1, note);
    let policy = Policy {
        witnesses: vec![python_vkey.clone(), district_vkey.clone()],
        quorum: 1,
        required: vec![district_vkey.clone()],
    };
    let cosigners = policy.check(&note).unwrap();
    assert_eq!(cosigners.len(), 2, "{note}");
    shoumen_protocol::evidence::open_checkpoint(&note, &log_key).unwrap();
    // The receipt, fetched again, carries the cosigned checkpoint and the
    // policy, and checks offline and on /verify.
    let page = get(&format!("{}{first_at}", server.url())).1;
    assert!(page.contains("id=\"cosigned\""), "{page}");
    let receipt_text = get(&format!("{}{first_at}/json", server.url())).1;
    let receipt = Receipt::parse(&receipt_text).unwrap();
    assert_eq!((receipt.quorum, receipt.required.clone()), (1, vec![district_vkey.clone()]));
    let own =
        Policy { witnesses: receipt.witnesses.clone(), quorum: receipt.quorum, required: receipt.required.clone() };
    shoumen_protocol::witness::verify_receipt(&receipt, &log_key, &own).unwrap();
    let (status, page) = verify(&server, &receipt_text);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("independent witnesses checked and cosigned") && page.contains("witness.district.test/w1"),
        "{page}"
    );
    // By its 8-character code alone, as typed: the same answer, and
    // nothing of the person.
    let typed = format!("{} {}", receipt.code[..4].to_lowercase(), &receipt.code[4..]);
    let (status, page) = verify_code(&server, &typed);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("witness.district.test/w1") && !page.contains("3-502"), "{page}");
    let (status, page) = verify_code(&server, "2222 2222");
    assert_eq!(status, 422);
    assert!(page.contains("no registration with that code"), "{page}");
    assert!(verify_code(&server, "K7M2").1.contains("A receipt code has 8 letters and digits"));
    // And by the independent reader, written from the specs.
    let (ok, out) = python_reader(dir.path(), &receipt_text);
    assert!(ok, "{out}");
    assert!(
        out.contains("cosigned by witness.district.test/w1") && out.contains("cosigned by witness.test/python"),
        "{out}"
    );
    let (ok, out) = cli_verify(dir.path(), &receipt_text);
    assert!(ok && out.contains("cosigned by witness.district.test/w1"), "{out}");

    // The log forgets what its witnesses hold (a restored row): each
    // answers 409 with its size, and the next checkpoint is still cosigned.
    server.exec("UPDATE log_witnesses SET known_size = 0", &[]);
    register_returnee(&server.url(), "13900000004").unwrap();
    wait_published(&server, 4);

    // The history rewritten with the database's own key: record 1 changed,
    // every stored hash recomputed, a new registration on top.
    rewrite(&server, 4);
    let (forged_at, _) = register_returnee_at(&server.url(), "13900000005").unwrap();
    // Both witnesses refuse it (422), each refusal an alert; nothing new
    // is published, and the district's witness keeps both notes.
    let start = Instant::now();
    while server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view'") < 2 {
        assert!(start.elapsed() < Duration::from_secs(20), "the witnesses' refusals raised no alerts");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(published(&server).unwrap().0, 4);
    let wdb = shoumen_server::Db::open(&wdir.path().join("witness.db").display().to_string()).unwrap();
    let origin = server.db.call_blocking(|c| evidence::origin(c, COMMUNITY)).unwrap();
    assert_eq!(
        origin,
        format!("{}/log/{COMMUNITY}", server.url().trim_start_matches("http://")),
        "named after its address"
    );
    let refusals = wdb.call_blocking(|c| witnesses::refusals(c, &origin)).unwrap();
    let (_, held, offered, why) = &refusals[0];
    assert!(held.as_deref().is_some_and(|h| h.contains("\n4\n")), "{held:?}");
    assert!(offered.contains("\n5\n") && why.contains("does not extend"), "{offered} {why}");
    // The forged receipt is refused: its checkpoint has no cosignatures.
    let forged = get(&format!("{}{forged_at}/json", server.url())).1;
    let (status, page) = verify(&server, &forged);
    assert_eq!(status, 422);
    assert!(page.contains("not cosigned by enough independent witnesses"), "{page}");
    let (ok, out) = python_reader(dir.path(), &forged);
    assert!(!ok && out.contains("not cosigned by witness.district.test/w1"), "{out}");
    let (ok, out) = cli_verify(dir.path(), &forged);
    assert!(!ok && out.contains("not cosigned by the witness witness.district.test/w1"), "{out}");
    // The genuine one still proves itself offline (its tree is cosigned),
    // and /verify says the log no longer matches it: the stored hashes
    // cannot prove its tree into the newest cosigned one.
    shoumen_protocol::witness::verify_receipt(&receipt, &log_key, &own).unwrap();
    let (status, page) = verify(&server, &receipt_text);
    assert_eq!(status, 422);
    assert!(page.contains("does not match the evidence log as it is now"), "{page}");
}

/// The log's history rewritten with the database's own key: every stored
/// hash recomputed over `n` other leaves.
fn rewrite(server: &TestServer, n: u8) {
    server.exec("DELETE FROM tlog_leaves", &[]);
    server.exec("DELETE FROM tlog_hashes", &[]);
    server
        .db
        .call_blocking(move |c| {
            for i in 0..n {
                evidence::append(c, COMMUNITY, &[i; 32], 0)
                    .map_err(|e| shoumen_server::DbError::Engine(e.to_string()))?;
            }
            Ok(())
        })
        .unwrap();
}

/// Waits until the collector has chosen a checkpoint of `size` records
/// for the witnesses.
fn wait_candidate(server: &TestServer, size: i64) {
    let start = Instant::now();
    while server.count("SELECT COALESCE(MAX(log_candidate), 0) FROM communities") < size {
        assert!(start.elapsed() < Duration::from_secs(20), "no checkpoint of {size} records chosen in 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A gate is a witness of its community's log: it cosigns a checkpoint
/// that extends the one it holds (over its own sync), with a key of its
/// own pinned at first sight, and a checkpoint of a rewritten log gets no
/// cosignature from it, so a policy that needs it publishes nothing new.
#[test]
fn a_gate_cosigns_what_extends_its_head_and_not_a_rewritten_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), fast_witnessing);
    returnee_scene(&server.db);
    let log_key = server.db.call_blocking(|c| evidence::verifier_key(c, COMMUNITY)).unwrap();
    let mut gate = Kiosk::new(dir.path(), "gate");
    gate.enroll(&server.url(), &server.token("north"));
    for n in 1..3 {
        register_returnee(&server.url(), &format!("1390000000{n}")).unwrap();
    }
    // First sight: the gate takes the log's key and head, and cosigns it;
    // the server pins its witness key.
    gate.sync().unwrap();
    let listed = server.db.call_blocking(|c| witnesses::list(c, COMMUNITY)).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].url.starts_with("kiosk:") && listed[0].known_size == 2, "{listed:?}");
    let gate_vkey = listed[0].vkey.clone();
    // The committee asks for the gate's cosignature: the next checkpoint
    // is published once the gate has synced.
    server.db.call_blocking(|c| Ok(witnesses::set_quorum(c, COMMUNITY, 1))).unwrap().unwrap();
    register_returnee(&server.url(), "13900000003").unwrap();
    wait_candidate(&server, 3);
    // (The tree of 2 the gate cosigned at first sight may be published.)
    assert!(published(&server).map_or(0, |(n, _)| n) < 3, "published before the gate cosigned");
    gate.sync().unwrap();
    let note = wait_published(&server, 3);
    let policy = Policy { witnesses: vec![gate_vkey.clone()], quorum: 1, required: vec![] };
    assert_eq!(policy.check(&note).unwrap().len(), 1, "{note}");
    shoumen_protocol::evidence::open_checkpoint(&note, &log_key).unwrap();

    // A cosignature the gate did not make is refused.
    let mut forged = gate.store.witness_key().unwrap().cosign(&note, 1).unwrap();
    forged.replace_range(forged.len() - 6..forged.len() - 2, "AAAA");
    let c = shoumen_protocol::sync::KioskCosignature { witness_key: gate_vkey.clone(), size: 3, line: forged };
    assert!(gate.client().cosign(&c).is_err());

    // Rewritten: the gate refuses it and says so; nothing new is published.
    rewrite(&server, 3);
    register_returnee(&server.url(), "13900000004").unwrap();
    wait_candidate(&server, 4);
    gate.sync().unwrap();
    gate.sync().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(published(&server).unwrap().0, 3);
    let held = gate.store.evidence_view().unwrap().unwrap().head;
    assert_eq!(held.size, 3);
    assert!(held.fault.as_deref().is_some_and(|f| f.contains("does not extend")), "{held:?}");
    assert!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view'") >= 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM log_cosignatures WHERE size = 4"), 0);
}

/// Registration throughput with witnessing on, and the time from a
/// record's signing to a checkpoint holding it cosigned by the policy
/// (the district's witness required, the Python one as the other), on
/// the engine the tests run on. `SHOUMEN_WITNESS_BENCH=1` (or a record
/// count); a new checkpoint every `SHOUMEN_WITNESS_BENCH_EVERY_MS` (1,000).
#[test]
fn bench_appends_and_time_to_a_cosigned_checkpoint() {
    let Ok(n) = std::env::var("SHOUMEN_WITNESS_BENCH") else {
        eprintln!("skipped: set SHOUMEN_WITNESS_BENCH=1 (or a record count) to measure witnessing");
        return;
    };
    let n: u64 = n.parse().ok().filter(|&n| n > 1000).unwrap_or(100_000);
    let every: u64 = std::env::var("SHOUMEN_WITNESS_BENCH_EVERY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.cosign_every = Duration::from_millis(100);
        c.checkpoint_every = Duration::from_millis(every);
    });
    let engine = if on_postgres() { "PostgreSQL" } else { "SQLite" };
    let log_key = server.db.call_blocking(|c| evidence::verifier_key(c, COMMUNITY)).unwrap();
    let Some((_python, python_vkey, python_url)) = python_witness(&log_key) else { return };
    let wdir = tempfile::tempdir().unwrap();
    let (_district, district_vkey, district_url) = district_witness(wdir.path(), &log_key);
    server
        .db
        .call_blocking(|c| {
            witnesses::add(c, COMMUNITY, &python_vkey, &python_url, false).unwrap();
            witnesses::add(c, COMMUNITY, &district_vkey, &district_url, true).unwrap();
            witnesses::set_quorum(c, COMMUNITY, 1).unwrap();
            Ok(())
        })
        .unwrap();
    // 64 writers through the sequencer, as the server's handlers submit
    // registrations; each record's index and the time it was committed.
    let sequencer = std::sync::Arc::new(shoumen_server::records::sequencer::Sequencer::start(server.db.clone()));
    let writers = 64u64;
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let mut signed: Vec<(u64, i64)> = runtime.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let sequencer = sequencer.clone();
                tokio::spawn(async move {
                    let mut done = Vec::new();
                    for i in (w..n).step_by(writers as usize) {
                        let record = i.to_be_bytes().repeat(4);
                        let job = sequencer.submit(move |tx, log| log.append(tx, COMMUNITY, &record, 0));
                        let index = shoumen_server::records::sequencer::wait(job).await.expect("appended");
                        done.push((index, shoumen_server::db::now_ms()));
                    }
                    done
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    // Then registrations as a busy day brings them, one every 50 ms for
    // 15 s: each waits for the next checkpoint and its cosignatures.
    let paced = runtime.block_on(async {
        let mut done = Vec::new();
        for i in 0..300u64 {
            let record = (n + i).to_be_bytes().repeat(4);
            let job = sequencer.submit(move |tx, log| log.append(tx, COMMUNITY, &record, 0));
            let index = shoumen_server::records::sequencer::wait(job).await.expect("appended");
            done.push((index, shoumen_server::db::now_ms()));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        done
    });
    signed.extend(paced);
    let n_all = n + 300;
    wait_published(&server, n_all);
    let published: Vec<(i64, i64)> = server
        .db
        .call_blocking(|c| {
            c.query_map("SELECT size, published_ms FROM log_cosigned ORDER BY size", &[], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .unwrap();
    signed.sort();
    // The paced ones: the burst's all wait for the same few checkpoints.
    let mut latencies: Vec<i64> = signed[n as usize..]
        .iter()
        .map(|&(index, at)| {
            let (_, when) = published.iter().find(|(size, _)| *size as u64 > index).expect("published");
            (when - at).max(0)
        })
        .collect();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!(
        "witness bench ({engine}): {n} appends in {elapsed:.1} s = {:.0} records/s with witnessing on; \
         then 300 registrations 50 ms apart: {} checkpoints cosigned in all (the district's witness and the Python one), \
         one chosen every {every} ms; signing to a cosigned checkpoint holding the record: p50 {} ms, p99 {} ms, max {} ms",
        n as f64 / elapsed,
        published.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

/// The signing keys moved out of the database (issue 29): the log's and
/// the passes'. The database keeps only their public forms; the server
/// signs checkpoints and the commands sign passes from the keys' files;
/// one started without them, or with another key there, refuses to start
/// and says what to give it; a rotation's next key is made in a file too,
/// and the retired one's file is deleted.
#[test]
fn signing_keys_moved_out_of_the_database_sign_only_from_their_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = init_db(dir.path());
    let target = target(dir.path());
    let vkey = db.call_blocking(|c| evidence::verifier_key(c, COMMUNITY)).unwrap();
    let pass_key = db.call_blocking(|c| shoumen_server::db::community(c, COMMUNITY)).unwrap().key.verifying_key();
    let keys = dir.path().join("keys");
    let out = server_cmd(&target).args(["move-keys", "--to"]).arg(&keys).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let private_in_db = |db: &shoumen_server::db::Db| {
        db.call_blocking(|c| {
            c.scalar(
                "SELECT COUNT(*) FROM communities WHERE log_skey IS NOT NULL OR signing_key NOT LIKE 'file:%' OR next_key NOT LIKE 'file:%' OR old_key NOT LIKE 'file:%'",
                &[],
            )
        })
        .unwrap()
    };
    assert_eq!(private_in_db(&db), 0, "the database still holds a signing key");
    let file = evidence::key_file(&keys, COMMUNITY);
    let pass_file = keys.join(format!("{COMMUNITY}.pass-{}.key", &hex::encode(pass_key.as_bytes())[..16]));
    for f in [&file, &pass_file] {
        assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
    }
    // Without the keys: the server and a command that signs say how to start.
    for args in [&["--listen", "127.0.0.1:0"][..], &["pass", "issue", "--unit", "3-101"][..]] {
        let out = server_cmd(&target).args(args).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && said.contains("--keys DIR"), "{args:?}: {said}");
    }
    // With them: a pass signed by the same key as before, and checkpoints.
    let out = server_cmd(&target).arg("--keys").arg(&keys).args(["pass", "issue", "--unit", "3-101"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pass = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let trust = shoumen_protocol::TrustList::new(vec![shoumen_protocol::TrustedKey {
        issuer: COMMUNITY.into(),
        key: pass_key,
    }]);
    shoumen_protocol::pass::verify_signature(&pass, &trust).expect("signed by the key that moved");
    let mut serving = server_cmd(&target)
        .args(["--listen", "127.0.0.1:0", "--log-keys"])
        .arg(&keys)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = line_starting(&mut serving, "listening on ");
    let base = line.trim_start_matches("listening on ").to_string();
    let (status, note) = get(&format!("{base}/log/{COMMUNITY}/checkpoint"));
    assert_eq!(status, 200, "{note}");
    shoumen_protocol::evidence::open_checkpoint(&note, &vkey).unwrap();
    // A rotation on the Keys page keeps its keys in files: the next key is
    // made there, and the retired one's file goes with it.
    let (b, csrf) = login_at(&base, ADMIN);
    for step in ["next", "activate", "resign", "retire"] {
        let (status, page, _) = post(&b, &format!("{base}/keys/{step}"), &[("csrf", &csrf)]);
        assert_eq!(status, 303, "{step}: {page}");
        assert_eq!(private_in_db(&db), 0, "{step}: a key in the database");
    }
    let c = db.call_blocking(|c| c.query_row("SELECT signing_key FROM communities", &[], |r| r.get::<String>(0)));
    let public = c.unwrap().trim_start_matches("file:").to_string();
    assert_ne!(public, hex::encode(pass_key.as_bytes()), "the key did not change");
    assert!(keys.join(format!("{COMMUNITY}.pass-{}.key", &public[..16])).exists());
    assert!(!pass_file.exists(), "the retired key's file is still there");
    let _ = serving.kill();
    let _ = serving.wait();
    // Another key in the log key's place is refused, not used.
    let other = signed_note::generate_key(&mut rand::rngs::OsRng, vkey.split('+').next().unwrap()).0;
    std::fs::write(&file, other).unwrap();
    let out = server_cmd(&target).args(["--listen", "127.0.0.1:0", "--keys"]).arg(&keys).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds another key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The public checkpoint moves on a schedule (issue 29's privacy): a
/// poller of `/log/…/checkpoint` learns the log's size once a period, not
/// at each registration; each receipt meanwhile carries the log's signed
/// checkpoint of its own tree, which holds its record.
#[test]
fn the_public_checkpoint_moves_on_a_schedule_and_receipts_hold_their_record_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.checkpoint_every = Duration::from_secs(3600));
    returnee_scene(&server.db);
    let checkpoint_url = format!("{}/log/{COMMUNITY}/checkpoint", server.url());
    register_returnee(&server.url(), "13900000001").unwrap();
    let size = |note: &str| note.lines().nth(1).unwrap().parse::<u64>().unwrap();
    assert_eq!(size(&get(&checkpoint_url).1), 1);
    register_returnee(&server.url(), "13900000002").unwrap();
    let third = register_returnee(&server.url(), "13900000003").unwrap();
    assert_eq!(size(&get(&checkpoint_url).1), 1, "the public checkpoint moved before its period ended");
    let receipt = Receipt::parse(&third).unwrap();
    assert_eq!((receipt.index, size(&receipt.checkpoint)), (2, 3));
    let (status, page) = verify(&server, &third);
    assert_eq!(status, 200, "{page}");
}
