//! End-to-end tests of the `shoumen` command on a demo community.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn shoumen(args: &[&str]) -> Output {
    let out =
        Command::new(env!("CARGO_BIN_EXE_shoumen")).args(args).env("RUST_LOG", "warn").output().expect("run shoumen");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        let out = shoumen(&["demo", "init", root.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Demo { _dir: dir, root }
    }

    fn config(&self) -> String {
        self.root.join("kiosk.toml").display().to_string()
    }

    fn pass(&self, name: &str, ext: &str) -> String {
        self.root.join("passes").join(format!("{name}.{ext}")).display().to_string()
    }

    fn db(&self) -> PathBuf {
        self.root.join("kiosk.db")
    }

    /// `shoumen check --json` with extra args; one JSON value per input.
    fn check(&self, args: &[&str]) -> Vec<Value> {
        let config = self.config();
        let mut all = vec!["check", "--json", "--config", &config];
        all.extend_from_slice(args);
        let out = shoumen(&all);
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

fn decision(v: &Value) -> (&str, &str) {
    (v["decision"].as_str().unwrap(), v["reason"].as_str().unwrap())
}

#[test]
fn every_demo_pass_gets_its_expected_decision_from_its_png() {
    let demo = Demo::new();
    let passes: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(demo.root.join("passes.json")).unwrap()).unwrap();
    assert!(passes.len() >= 6);
    for p in &passes {
        let name = p["name"].as_str().unwrap();
        let got = demo.check(&[&demo.pass(name, "png")]);
        let want = (p["expect_in"][0].as_str().unwrap(), p["expect_in"][1].as_str().unwrap());
        assert_eq!(decision(&got[0]), want, "{name}");
    }
}

#[test]
fn resident_welcome_carries_unit_and_temperature() {
    let demo = Demo::new();
    let got = demo.check(&["--temp", "36.4", &demo.pass("resident", "txt")]);
    assert_eq!(decision(&got[0]), ("allow", "ok"));
    assert_eq!(got[0]["unit"], "3-502");
    assert_eq!(got[0]["temperature_c"], 36.4);
    assert_eq!(got[0]["role"], "resident");
}

#[test]
fn fever_calls_the_guard_and_a_normal_remeasure_lets_through() {
    let demo = Demo::new();
    let got = demo.check(&["--temp", "38.1", &demo.pass("resident", "png")]);
    assert_eq!(decision(&got[0]), ("guard", "fever"));
    let got = demo.check(&["--temp", "37.6", "--temp", "36.8", &demo.pass("resident", "png")]);
    assert_eq!(decision(&got[0]), ("allow", "ok"));
}

#[test]
fn quarantined_resident_may_not_go_out() {
    let demo = Demo::new();
    let got = demo.check(&["--direction", "out", &demo.pass("quarantined", "png")]);
    assert_eq!(decision(&got[0]), ("deny", "quarantine_no_exit"));
}

#[test]
fn a_tampered_pass_is_refused() {
    let demo = Demo::new();
    let text = std::fs::read_to_string(demo.pass("resident", "txt")).unwrap().trim_end().to_string();
    // Lower one character in the signature: the text stays valid base45.
    let pos = (0..text.len() - 4).rev().find(|&i| text.as_bytes()[i] != b'0').unwrap();
    let mut tampered = text.clone();
    tampered.replace_range(pos..pos + 1, "0");
    let got = demo.check(&[&tampered]);
    assert_eq!(decision(&got[0]), ("deny", "bad_signature"));
}

#[test]
fn the_same_pass_twice_is_refused_by_anti_passback() {
    let demo = Demo::new();
    let png = demo.pass("resident", "png");
    let got = demo.check(&[&png, &png]);
    assert_eq!(decision(&got[0]), ("allow", "ok"));
    assert_eq!(decision(&got[1]), ("deny", "passback"));
}

#[test]
fn recorded_checks_persist_anti_passback_and_the_chain() {
    let demo = Demo::new();
    let png = demo.pass("resident", "png");
    let first = demo.check(&["--record", &png]);
    assert_eq!(decision(&first[0]), ("allow", "ok"));
    assert_eq!(first[0]["seq"], 1);
    let second = demo.check(&["--record", &png, &demo.pass("revoked", "png")]);
    assert_eq!(decision(&second[0]), ("deny", "passback"));
    assert_eq!((second[0]["seq"].as_u64(), second[1]["seq"].as_u64()), (Some(2), Some(3)));
    // Without --record nothing is written.
    demo.check(&[&demo.pass("visitor", "png")]);
    let out = shoumen(&["log", "verify", "--db", demo.db().to_str().unwrap()]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("ok: 3 entries"), "{}", stdout(&out));
}

#[test]
fn unreadable_inputs_are_reported_and_others_still_checked() {
    let demo = Demo::new();
    let blank = demo.root.join("blank.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([255])).save(&blank).unwrap();
    let config = demo.config();
    let out = shoumen(&["check", "--json", "--config", &config, blank.to_str().unwrap(), &demo.pass("staff", "png")]);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(decision(&lines[0]), ("deny", "unreadable"));
    assert!(lines[0]["error"].as_str().unwrap().contains("no QR code"));
    assert_eq!(decision(&lines[1]), ("allow", "ok"));
}

fn recorded_demo(n: usize) -> Demo {
    let demo = Demo::new();
    let passes = ["resident", "visitor", "staff", "delivery", "revoked", "expired"];
    let inputs: Vec<String> = passes.iter().take(n).map(|p| demo.pass(p, "txt")).collect();
    let mut args = vec!["--record"];
    args.extend(inputs.iter().map(String::as_str));
    assert_eq!(demo.check(&args).len(), n);
    demo
}

fn verify(db: &Path) -> (bool, String) {
    let out = shoumen(&["log", "verify", "--db", db.to_str().unwrap()]);
    (out.status.success(), stdout(&out))
}

#[test]
fn log_verify_names_the_first_altered_row() {
    let demo = recorded_demo(6);
    let conn = rusqlite::Connection::open(demo.db()).unwrap();
    conn.execute("UPDATE entries SET body = replace(body, '\"deny\"', '\"allow\"') WHERE seq = 5", []).unwrap();
    let (ok, text) = verify(&demo.db());
    assert!(!ok);
    assert!(text.contains("seq 5"), "{text}");
}

#[test]
fn log_verify_names_a_deleted_row() {
    let demo = recorded_demo(6);
    let conn = rusqlite::Connection::open(demo.db()).unwrap();
    conn.execute("DELETE FROM entries WHERE seq = 3", []).unwrap();
    let (ok, text) = verify(&demo.db());
    assert!(!ok);
    assert!(text.contains("seq 3"), "{text}");
}

#[test]
fn log_verify_names_reordered_rows() {
    let demo = recorded_demo(6);
    let conn = rusqlite::Connection::open(demo.db()).unwrap();
    conn.execute_batch(
        "UPDATE entries SET seq = 100 WHERE seq = 4;
         UPDATE entries SET seq = 4 WHERE seq = 5;
         UPDATE entries SET seq = 5 WHERE seq = 100;",
    )
    .unwrap();
    let (ok, text) = verify(&demo.db());
    assert!(!ok);
    assert!(text.contains("seq 4"), "{text}");
}

#[test]
fn an_intact_log_verifies() {
    let demo = recorded_demo(6);
    let (ok, text) = verify(&demo.db());
    assert!(ok, "{text}");
    assert!(text.contains("6 entries"));
}

#[test]
fn a_bad_config_names_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    std::fs::write(&path, "[kiosk]\ndata_dir = \".\"\n[policy]\nrelay_pulse = 3000\n").unwrap();
    let out = shoumen(&["check", "--config", path.to_str().unwrap(), "SM1:"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("relay_pulse") && err.contains("line 4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn demo_init_refuses_to_overwrite() {
    let demo = Demo::new();
    let out = shoumen(&["demo", "init", demo.root.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds"));
}

#[test]
fn headless_kiosk_on_simulated_hardware_decides_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "[kiosk]\ndata_dir = \".\"\nsimulated = true\ndemo = true\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoumen"))
        .args(["--config", config.to_str().unwrap(), "run", "--headless", "--exit-after", "9"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // The demo script shows the resident pass first, then a visitor.
    assert!(log.contains("reason=\"ok\" unit=\"3-502\""), "{log}");
    assert!(log.contains("gate locked"), "{log}");
    let db = dir.path().join("kiosk.db");
    let (ok, text) = verify(&db);
    assert!(ok, "{text}");
    let store = shoumen::store::Store::open(&db, "test").unwrap();
    let first = store.entry(1).unwrap().expect("the kiosk recorded the resident");
    assert_eq!((first.decision.as_str(), first.reason.as_str()), ("allow", "ok"));
    // The demo resident measures 36.5 °C; the simulated sensor adds noise.
    let Some(shoumen_protocol::TempRecord::Centi(c)) = first.temperature else { panic!("{first:?}") };
    assert!((3630..=3670).contains(&c), "{c}");
}

#[test]
fn under_systemd_the_kiosk_reports_ready_keeps_the_watchdog_fed_and_says_when_it_stops() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "[kiosk]\ndata_dir = \".\"\nsimulated = true\ndemo = true\n").unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    // systemd sets WATCHDOG_PID to the service's pid: `exec` keeps the shell's.
    let mut child = Command::new("sh")
        .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_shoumen")])
        .args(["--config", config.to_str().unwrap(), "run", "--headless", "--exit-after", "4"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut messages = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = socket.recv(&mut buf) {
        let m = String::from_utf8_lossy(&buf[..n]).to_string();
        let done = m.contains("STOPPING=1");
        messages.push(m);
        if done {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    assert!(messages[0].contains("READY=1"), "{messages:?}");
    // Every 0.5 s for ~4 s of running.
    let kicks = messages.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    assert!((4..=10).contains(&kicks), "{kicks} keep-alives: {messages:?}");
    assert!(messages.last().unwrap().contains("STOPPING=1"));
}

#[test]
fn a_duty_pass_signs_in_then_out_across_runs_and_opens_the_gate_from_the_command_line_in_its_holders_name() {
    let demo = Demo::new();
    let duty = demo.pass("duty", "png");
    // Two reads in two runs, as across a restart of the kiosk: in, then out.
    // (Before who is on duty was read back from the log, the second read
    // signed the volunteer in a second time.)
    assert_eq!(decision(&demo.check(&["--record", &duty])[0]), ("allow", "duty_start"));
    assert_eq!(decision(&demo.check(&["--record", &duty])[0]), ("allow", "duty_end"));

    // The gate opened without the touchscreen, by the volunteer's duty pass.
    let config = demo.config();
    let relay = |by: &str| {
        shoumen(&["--config", &config, "--sim", "hw", "relay", "--pulse", "200", "--reason", "送药上门", "--by", by])
    };
    let out = relay(&duty);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("console opened by duty pass"), "{}", stdout(&out));
    // A resident's pass opens no console: nothing pulsed, nothing recorded.
    let out = relay(&demo.pass("resident", "png"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only for a volunteer's duty pass"));

    let passes: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(demo.root.join("passes.json")).unwrap()).unwrap();
    let id = passes.iter().find(|p| p["name"] == "duty").unwrap()["claims"]["pass_id"].as_str().unwrap().to_string();
    let store = shoumen::store::Store::open(&demo.db(), "test").unwrap();
    let mut log = store.recent(10).unwrap();
    log.reverse();
    let seen: Vec<(&str, Option<String>, Option<&str>)> =
        log.iter().map(|e| (e.reason.as_str(), e.pass_id.map(|p| p.to_hex()), e.note.as_deref())).collect();
    let by = Some(id);
    assert_eq!(
        seen,
        vec![
            ("duty_start", by.clone(), None),
            ("duty_end", by.clone(), None),
            // Signed out, so signed in again to open the console.
            ("duty_start", by.clone(), None),
            ("console_opened", by.clone(), None),
            ("manual_open", by, Some("送药上门")),
        ]
    );
    assert!(verify(&demo.db()).0);
}
