//! Backups that are restored (issue 30): `shoumen-server backup` taken
//! while a kiosk pushes, more pushes and evidence records after it, then
//! `restore-drill`: it checks the backup and names exactly the tail the
//! live database holds and the backup lacks. The database is then replaced
//! by the backup: the kiosk pushes its tail again, every chain verifies,
//! and the kiosk that saw the longer evidence log raises the rollback.
//! (SQLite here; PostgreSQL's pg_dump path is in `pg_clusters.rs`.)

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use shoumen_server::db::now_ms;
use shoumen_server::records::{evidence, ingest};

fn cli(db: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shoumen-server")).arg("--db").arg(db).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn append(server: &TestServer, n: usize) {
    server
        .db
        .call_blocking(move |c| {
            for i in 0..n {
                evidence::append(c, COMMUNITY, format!("record {i} {}", now_ms()).as_bytes(), now_ms()).unwrap();
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_backup_under_load_is_restored_the_drill_names_the_missing_tail_and_the_kiosk_fills_it() {
    if on_postgres() {
        eprintln!("skipped here on PostgreSQL: its backup is pg_dump's, tried in pg_clusters.rs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db_path = target(dir.path());
    let server = TestServer::start(dir.path());
    append(&server, 3);
    let mut kiosk = Kiosk::new(dir.path(), "north");
    kiosk.enroll(&server.url(), &server.token("North gate"));
    kiosk.add(100);
    kiosk.sync().unwrap();

    // The backup is taken while the kiosk pushes.
    let backup = dir.path().join("backup.db");
    let stop = Arc::new(AtomicBool::new(false));
    let pushing = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                kiosk.add(5);
                kiosk.sync().unwrap();
            }
            kiosk
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (ok, out) = cli(&db_path, &["backup", backup.to_str().unwrap()]);
    assert!(ok, "{out}");
    stop.store(true, Ordering::Relaxed);
    let mut kiosk = pushing.join().unwrap();
    let (ok, out) = cli(&db_path, &["backup", backup.to_str().unwrap()]);
    assert!(!ok && out.contains("exists; give a new file"), "a backup never overwrites one: {out}");

    // After the backup: more entries, two more evidence records, seen by the kiosk.
    kiosk.add(50);
    kiosk.sync().unwrap();
    append(&server, 2);
    kiosk.sync().unwrap();
    let head = kiosk.store.head_seq().unwrap();
    let device = kiosk.store.device_id().to_string();
    let in_backup = {
        let copy = rusqlite::Connection::open(&backup).unwrap();
        copy.query_row("SELECT watermark FROM devices WHERE id = ?1", [&device], |r| r.get::<_, i64>(0)).unwrap() as u64
    };
    assert!(in_backup > 100 && in_backup < head, "the backup was taken during the pushes: {in_backup} of {head}");

    let (ok, out) = cli(&db_path, &["restore-drill", backup.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("ok       kiosk {device}: chain of {in_backup} entries intact")), "{out}");
    assert!(out.contains(&format!("ok       {COMMUNITY}: evidence log of 3 records, every hash follows")), "{out}");
    let tail = format!("missing  kiosk {device}: entries {}..{head} ({} entries)", in_backup + 1, head - in_backup);
    assert!(out.contains(&tail), "exactly the missing tail: {tail}\n{out}");
    assert!(out.contains(&format!("missing  {COMMUNITY}: evidence records 3..4 (2) signed after the backup")), "{out}");
    let last_good = server.count("SELECT COUNT(*) FROM meta WHERE key = 'restore_drill_ok_ms'");
    assert_eq!(last_good, 1, "the drill that passed is noted for /metrics");

    // The database is lost; the backup is put in its place.
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db_path}{suffix}"));
    }
    std::fs::copy(&backup, &db_path).unwrap();
    let server = TestServer::start(dir.path());
    // The same server again (here on another port).
    let client = kiosk.client_via(Some(&server.url()));
    // The gate goes on: its next push finds the server holding less, and
    // resends from the server's watermark.
    kiosk.add(1);
    let head = head + 1;
    let report = shoumen_client::sync::sync_once(&mut kiosk.store, &client, &kiosk.clock, &[], &mut |_, _| {}).unwrap();
    assert_eq!((report.acked, report.queue), (head, 0), "the kiosk pushed its tail again");
    let d = device.clone();
    assert_eq!(server.db.call_blocking(move |c| Ok(ingest::verify_chain(c, &d))).unwrap(), Ok(head));
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view' AND detail LIKE '%split_longer%'"),
        1,
        "the kiosk holds a longer evidence log than the restored one: the rollback is raised"
    );
    let (ok, out) = cli(&db_path, &["verify"]);
    assert!(ok && out.contains(&format!("ok      {device}: {head} entries")), "{out}");

    // A backup whose evidence hashes were changed does not pass the drill.
    let broken = dir.path().join("broken.db");
    std::fs::copy(&backup, &broken).unwrap();
    rusqlite::Connection::open(&broken)
        .unwrap()
        .execute("UPDATE tlog_hashes SET hash = '00' || substr(hash, 3) WHERE idx = 1", [])
        .unwrap();
    let (ok, out) = cli(&db_path, &["restore-drill", broken.to_str().unwrap()]);
    assert!(
        !ok && out.contains("BROKEN")
            && out.contains("evidence log: The hash at level 0, node 1 does not follow from the records"),
        "{out}"
    );
}
