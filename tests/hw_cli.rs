//! `shoumen hw …` on this machine (not a Pi) and on the simulated twins.

use std::process::Command;

fn shoumen(args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "[kiosk]\ndata_dir = \".\"\ndemo = true\n").unwrap();
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = Command::new(env!("CARGO_BIN_EXE_shoumen")).args(&all).env("RUST_LOG", "warn").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn on_a_pi() -> bool {
    std::fs::read_to_string("/proc/device-tree/model").is_ok_and(|m| m.contains("Raspberry Pi"))
}

#[test]
fn probe_off_a_pi_says_what_is_missing_and_how_to_simulate() {
    if on_a_pi() {
        return;
    }
    let (ok, out, err) = shoumen(&["hw", "probe"]);
    assert!(!ok, "probe must fail without hardware");
    assert!(out.contains("not a Raspberry Pi") && out.contains("--sim"), "{out}");
    assert!(out.contains("/dev/i2c-1") && out.contains("dtparam=i2c_arm=on"), "{out}");
    assert!(out.contains("GPIO"), "{out}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn relay_off_a_pi_refuses_without_recording() {
    if on_a_pi() {
        return;
    }
    let (ok, _, err) = shoumen(&["hw", "relay", "--pulse", "100"]);
    assert!(!ok);
    assert!(err.contains("not a Raspberry Pi") && err.contains("--sim"), "{err}");
}

#[test]
fn simulated_thermometer_measures_and_calibrates() {
    let (ok, out, err) = shoumen(&["--sim", "hw", "thermometer", "--count", "2", "--calibrate", "36.9"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().filter(|l| l.contains("body")).count(), 2, "{out}");
    assert!(out.contains("calibrated: reference 36.90"), "{out}");
    // A setting changed at the kiosk is an entry of its log, as on the console.
    assert!(out.contains("recorded as entry #1"), "{out}");
}

#[test]
fn simulated_relay_pulses_and_records_a_manual_open() {
    let (ok, out, err) = shoumen(&["--sim", "hw", "relay", "--pulse", "200"]);
    assert!(ok, "{err}");
    assert!(out.contains("unlocked once for 200 ms") && out.contains("entry #1"), "{out}");
}
