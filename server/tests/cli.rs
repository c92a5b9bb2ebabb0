//! `shoumen-server` as a committee volunteer scripts it, and over HTTPS.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn server(args: &[&str], db: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shoumen-server"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("PW", "a long passphrase")
        .output()
        .unwrap()
}

#[test]
fn init_issue_token_and_export_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::target(dir.path());
    let out = server(&["init", "--community", "lotus-gdn", "--password-env", "PW"], &db);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("enroll-token"));
    // The same community twice is refused with a clear message.
    let again = server(&["init", "--community", "lotus-gdn"], &db);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("community \"lotus-gdn\" already exists"));
    let out = server(&["pass", "issue", "--unit", "3-502", "--days", "30"], &db);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("SM1:") && text.trim().len() <= 221, "{text}");
    let out = server(&["enroll-token", "--gate", "North"], &db);
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.trim().len(), 32);
    // Both changes are in the community's audit trail, under the command line.
    let trail = shoumen_server::db::Db::open(&db).unwrap();
    let n = trail.call_blocking(|c| c.scalar("SELECT COUNT(*) FROM audit WHERE actor LIKE 'command line (%' AND action IN ('pass.issue', 'gate.enroll_token')", &[])).unwrap();
    assert_eq!(n, 2);
    drop(trail);
    let out = server(&["export", "--from", "2026-01-01", "--to", "2026-12-31"], &db);
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("time,device,gate,seq,"));
    let bad = server(&["export", "--from", "yesterday", "--to", "today"], &db);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("dates like 2026-11-29"));
    // A second community: commands must now say which one they mean.
    assert!(server(&["init", "--community", "plum-court", "--admin", "plum", "--password-env", "PW"], &db)
        .status
        .success());
    let out = server(&["enroll-token", "--gate", "North"], &db);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("say which with --community"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server(&["--community", "plum-court", "enroll-token", "--gate", "North"], &db);
    assert!(out.status.success());
    let out = server(&["communities"], &db);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "lotus-gdn\nplum-court\n");
    // An admin locked out by strangers' guesses is let back in from the
    // server's own command line, and the trail says who did it.
    let trail = shoumen_server::db::Db::open(&db).unwrap();
    trail
        .call_blocking(|c| {
            c.execute(
                "UPDATE users SET locked_until_ms = ?1, failed_logins = 3 WHERE name = 'admin'",
                &[(i64::MAX / 2).into()],
            )
        })
        .unwrap();
    drop(trail);
    let out = server(&["unlock", "admin"], &db);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unlocked"));
    let out = server(&["unlock", "nobody"], &db);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no account \"nobody\""));
    let trail = shoumen_server::db::Db::open(&db).unwrap();
    assert_eq!(
        trail
            .call_blocking(|c| c.scalar("SELECT locked_until_ms + failed_logins FROM users WHERE name = 'admin'", &[]))
            .unwrap(),
        0
    );
    let n = trail
        .call_blocking(|c| {
            c.scalar("SELECT COUNT(*) FROM audit WHERE actor LIKE 'command line (%' AND action = 'account.unlock'", &[])
        })
        .unwrap();
    assert_eq!(n, 1);
    drop(trail);
    let out = server(&["--community", "nowhere", "pass", "issue", "--unit", "1-1"], &db);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no community \"nowhere\""));
    // A fresh database without init says what to do.
    let empty = tempfile::tempdir().unwrap();
    let out = server(&["enroll-token", "--gate", "x"], &common::target(empty.path()));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("run `shoumen-server --db"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Plain HTTP on a public address is refused.
    let out = server(&["--listen", "0.0.0.0:0"], &db);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cert and --key"));
}

#[test]
fn serves_https_with_a_certificate_and_marks_cookies_secure() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::target(dir.path());
    assert!(server(&["init", "--community", "lotus-gdn", "--password-env", "PW"], &db).status.success());
    let (mut child, url) = common::https_server(dir.path(), &db);
    let cert = std::fs::read(dir.path().join("cert.pem")).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    let r = client.get(format!("{url}/login")).send().unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain HTTP to the TLS port gets nowhere.
    assert!(!reqwest::blocking::get(url.replace("https", "http") + "/login").is_ok_and(|r| r.status().is_success()));
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn enrollment_and_the_visitor_form_are_rate_limited() {
    use shoumen_server::{Background, Config};
    let dir = tempfile::tempdir().unwrap();
    common::init_db(dir.path());
    let bg = Background::start(
        shoumen_server::Db::open(&common::target(dir.path())).unwrap(),
        Config { rate_per_minute: 3, public_url: String::new(), ..Config::default() },
    )
    .unwrap();
    let http = reqwest::blocking::Client::new();
    let body = serde_json::json!({"token": "nope", "device": "kiosk-x", "device_key": "00", "gate_name": ""});
    let statuses: Vec<u16> = (0..5)
        .map(|_| http.post(format!("{}/api/v1/enroll", bg.url())).json(&body).send().unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses, [400, 400, 400, 429, 429]);
}

/// A SQLite file is served by one process (issue 30): a second
/// `shoumen-server` on the same file stops at once and says why, and the
/// lock goes with a process that dies.
#[test]
fn a_second_server_on_the_same_sqlite_file_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::target(dir.path());
    if db.starts_with("postgres") {
        eprintln!("skipped: one process per SQLite file; PostgreSQL takes several");
        return;
    }
    assert!(server(&["init", "--community", "lotus-gdn", "--password-env", "PW"], &db).status.success());
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shoumen-server"))
            .args(["--db", &db, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("listening on "), "{line}");
        child
    };
    let mut first = start();
    let mut second = Command::new(env!("CARGO_BIN_EXE_shoumen-server"))
        .args(["--db", &db, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It must stop by itself; one still running after 20 s serves too.
    let started = std::time::Instant::now();
    while second.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            second.kill().unwrap();
            first.kill().unwrap();
            panic!("a second server is serving the same SQLite file");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let second = second.wait_with_output().unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!("another shoumen-server (pid {}) is already serving", first.id()))
            && said.contains("PostgreSQL"),
        "{said}"
    );
    // Killed, not stopped: the lock is the kernel's, and goes with it.
    first.kill().unwrap();
    let _ = first.wait();
    let mut again = start();
    again.kill().unwrap();
    let _ = again.wait();
}
