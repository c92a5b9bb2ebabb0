//! Crash test: a child process appends entries in a loop and is killed with
//! SIGKILL at random moments. After every kill the store must be intact, hold
//! every entry the child reported committed, keep its ack watermark, and its
//! hash chain must verify.
//!
//! `SHOUMEN_CRASH_KILLS` sets the number of kills (default 200).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;
use shoumen::store::Store;

#[test]
fn sigkill_at_random_moments_loses_nothing_committed() {
    let kills: u32 = std::env::var("SHOUMEN_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let db = dir.path().join("kiosk.db");
    let mut rng = rand::thread_rng();
    let (mut committed, mut acked) = (0u64, 0u64);
    let mut killed_mid_run = 0;
    for round in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shoumen"))
            .args(["debug-append", "--db", db.to_str().unwrap(), "--ack-every", "5"])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start shoumen debug-append");
        let stdout = child.stdout.take().unwrap();
        let reader =
            std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>());
        std::thread::sleep(Duration::from_micros(rng.gen_range(2_000..40_000)));
        child.kill().expect("SIGKILL the child");
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_mid_run += 1;
        }
        for line in reader.join().unwrap() {
            let (what, seq) = line.split_once(' ').unwrap();
            let seq: u64 = seq.parse().unwrap();
            match what {
                "committed" => committed = committed.max(seq),
                "acked" => acked = acked.max(seq),
                _ => panic!("unexpected output {line:?}"),
            }
        }

        let store = Store::open(&db, "crash-test").unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok", "round {round}");
        let head = store.head_seq().unwrap();
        assert!(
            head >= committed,
            "round {round}: entry {committed} was reported committed but the log ends at {head}"
        );
        assert!(store.acked_seq().unwrap() >= acked, "round {round}: ack watermark went back");
        let report = store.verify_chain().unwrap().unwrap_or_else(|b| panic!("round {round}: {b}"));
        assert_eq!(report.entries, head);
        committed = head;
    }
    println!("{kills} kills ({killed_mid_run} by signal), {committed} entries survived, chain intact");
    assert!(committed > 0, "the child never committed anything");
    assert!(killed_mid_run > kills / 2, "most kills must land while the child is writing");
}
