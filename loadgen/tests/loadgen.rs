//! The load generator on a small load against SQLite: every push and the
//! export succeed and the backlog is stored whole. (CI runs a larger one
//! on both engines, `.ci/loadgen-smoke.sh`, with the binary this test's
//! build leaves in target/.)

use std::process::Command;

#[test]
fn a_small_load_on_sqlite_stores_every_entry_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoumen-loadgen"))
        .arg("--db")
        .arg(dir.path().join("load.db"))
        .args(["--communities", "2", "--live", "1", "--backlog-kiosks", "2", "--backlog", "400"])
        .args(["--export-rows", "500", "--warmup-s", "1", "--export-after-s", "0", "--heartbeat-s", "1"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    let line = |name: &str| said.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or("").to_string();
    assert_eq!(line("errors").split_whitespace().nth(1), Some("0"), "{said}");
    assert!(line("backlog").contains(" 800 entries"), "both backlogs stored whole: {said}");
    let rows: u64 = line("export").split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(rows >= 500, "the export has the committee's rows: {said}");
}
