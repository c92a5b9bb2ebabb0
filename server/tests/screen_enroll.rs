//! Enrollment from the kiosk's screen (issue 31): a kiosk asks for a code,
//! an admin claims it on the Gates page after checking the fingerprint,
//! and the kiosk's signed poll enrolls it. What the screen shows (the code,
//! the fingerprint, the claim link) lets nobody else enroll: a poll signed
//! by another key, a copied poll, a code already claimed, or one expired
//! gets nothing. And the same through the release kiosk binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use ed25519_dalek::SigningKey;
use shoumen_client::sync::{self, SyncError};
use shoumen_protocol::enroll::{self, EnrollAsk, EnrollPoll};
use shoumen_server::records::screen_enroll::MOST_PER_ADDRESS;

/// Claims `code` on the Gates page as the admin of the first community;
/// the page that answers.
fn claim(server: &TestServer, b: &Browser, code: &str, fp: &str, gate: &str) -> (u16, String) {
    let base = server.url();
    let (status, page) = get(b, &format!("{base}/gates/enroll?code={code}&fp={fp}"));
    if status != 200 {
        return (status, page);
    }
    let (status, body, _) =
        post(b, &format!("{base}/gates/enroll"), &[("code", code), ("gate", gate), ("csrf", &csrf(&page))]);
    (status, body)
}

/// A kiosk's configuration in `dir`: simulated hardware, no demo, and
/// the server to enroll at from its screen, if any.
fn kiosk_config(dir: &std::path::Path, gate: &str, server_url: &str) -> std::path::PathBuf {
    let config = dir.join("kiosk.toml");
    let data = dir.join("kiosk").display().to_string();
    std::fs::write(
        &config,
        format!(
            "[kiosk]\ngate_name = {gate:?}\ndata_dir = {data:?}\nsimulated = true\ndemo = false\nserver_url = {server_url:?}\n"
        ),
    )
    .unwrap();
    config
}

/// The kiosk binary of the same build, if it is built.
fn kiosk_binary() -> Option<std::path::PathBuf> {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_shoumen-server")).with_file_name("shoumen");
    if !bin.exists() {
        eprintln!("skipped: {} is not built (cargo test --workspace builds it)", bin.display());
        return None;
    }
    Some(bin)
}

fn poll_raw(server: &TestServer, poll: &EnrollPoll) -> (u16, String) {
    let r = browser().post(format!("{}/api/v1/enroll/poll", server.url())).json(poll).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn a_kiosk_enrolls_from_the_code_on_its_screen_and_nothing_on_the_screen_enrolls_anyone_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, _) = login(&server);
    let mut kiosk = Kiosk::new(dir.path(), "north");
    let asked = sync::ask_code(&mut kiosk.store, &base, "North gate", &fast_client()).unwrap();
    assert_eq!(asked.code.len(), enroll::CODE_LEN);
    let key = kiosk.store.device_key().unwrap().verifying_key();
    let fp = enroll::fingerprint(&key).replace(' ', "");
    // Not claimed yet: the kiosk waits.
    assert!(sync::poll_code(&mut kiosk.store, &base, &asked.code, 1, &fast_client()).unwrap().is_none());

    // Someone at the gate reads the screen and polls with a key of their own.
    let device = kiosk.store.device_id().to_string();
    let theirs = SigningKey::from_bytes(&[66; 32]);
    let (status, _) = poll_raw(&server, &EnrollPoll::signed(&asked.code, &device, 2, &theirs));
    assert_eq!(status, 401, "a poll signed by another key");

    // The admin types the code (as shown, with its dash, in lower case):
    // the page shows the fingerprint to compare with the screen.
    let typed = enroll::show_code(&asked.code).to_lowercase();
    let (status, page) = get(&b, &format!("{base}/gates/enroll?code={typed}"));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&enroll::fingerprint(&key)) && page.contains("value=\"North gate\""), "{page}");
    // A QR code whose fingerprint is another kiosk's is refused.
    let (status, page) = get(&b, &format!("{base}/gates/enroll?code={}&fp=0011223344556677", asked.code));
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("belongs to another kiosk"), "{page}");
    let (status, done) = claim(&server, &b, &asked.code, &fp, "North gate");
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("id=\"claimed\""), "{done}");
    // Claimed once: another admin (or the same twice) finds no such code.
    let (other, _) = login_as(&server, ADMIN);
    assert_eq!(claim(&server, &other, &asked.code, &fp, "South gate").0, 400);

    // Still nobody else: a copied poll (its counter not above the last).
    let copied = EnrollPoll::signed(&asked.code, &device, 1, &kiosk.store.device_key().unwrap());
    assert_eq!(poll_raw(&server, &copied).0, 401, "a poll repeated");
    let answer = sync::poll_code(&mut kiosk.store, &base, &asked.code, 5, &fast_client()).unwrap().expect("enrolled");
    assert_eq!((answer.gate.as_str(), answer.community.as_str()), ("North gate", COMMUNITY));
    kiosk.add(3);
    assert_eq!(kiosk.sync().unwrap().acked, 3, "the enrolled kiosk syncs");
    // The code is spent; the kiosk, enrolled, gets no new one.
    assert!(matches!(
        sync::poll_code(&mut kiosk.store, &base, &asked.code, 6, &fast_client()),
        Err(SyncError::Unauthorized(_))
    ));
    let again = sync::ask_code(&mut kiosk.store, &base, "North gate", &fast_client()).unwrap_err();
    assert!(again.to_string().contains("already enrolled"), "{again}");
    let (_, gates) = get(&b, &format!("{base}/gates"));
    assert!(gates.contains("North gate"), "{gates}");
    let (_, audit) = get(&b, &format!("{base}/audit"));
    assert!(audit.contains("Kiosk enrolled by the code on its screen"), "{audit}");

    // An expired code is no code.
    let mut south = Kiosk::new(dir.path(), "south");
    let late = sync::ask_code(&mut south.store, &base, "", &fast_client()).unwrap();
    server.exec("UPDATE enroll_asks SET expires_ms = 0 WHERE code = ?1", &[late.code.as_str().into()]);
    let (status, page) = get(&b, &format!("{base}/gates/enroll?code={}", late.code));
    assert!(status == 400 && page.contains("has expired"), "{page}");
    assert!(matches!(
        sync::poll_code(&mut south.store, &base, &late.code, 1, &fast_client()),
        Err(SyncError::Unauthorized(_))
    ));
}

/// The public ask is bounded per address: a compound's gates behind one
/// router, not a script filling the table.
#[test]
fn one_address_holds_a_bounded_number_of_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let ask = |n: u8| {
        let key = SigningKey::from_bytes(&[n; 32]);
        let ask = EnrollAsk {
            device: format!("kiosk-{n}"),
            device_key: hex::encode(key.verifying_key().as_bytes()),
            gate_name: "x".repeat(500),
        };
        browser().post(format!("{}/api/v1/enroll/ask", server.url())).json(&ask).send().unwrap().status().as_u16()
    };
    let answers: Vec<u16> = (1..=MOST_PER_ADDRESS as u8 + 1).map(ask).collect();
    assert!(answers[..MOST_PER_ADDRESS as usize].iter().all(|s| *s == 200), "{answers:?}");
    assert_eq!(answers[MOST_PER_ADDRESS as usize], 409, "{answers:?}");
    let longest = server.count("SELECT MAX(LENGTH(gate_hint)) FROM enroll_asks");
    assert!(longest <= 40, "the gate's name is cut to 40 characters: {longest}");
}

/// `shoumen enroll <url>` without a token, the release kiosk binary: it
/// prints the code and the fingerprint, the admin claims it, it enrolls.
#[test]
fn the_release_kiosk_enrolls_by_the_code_it_prints() {
    let Some(bin) = kiosk_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, _) = login(&server);
    let config = kiosk_config(dir.path(), "East gate", "");
    let mut child = Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .args(["enroll", &server.url(), "--poll-every", "1", "--wait", "2"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut code, mut fp) = (String::new(), String::new());
    let mut printed = String::new();
    while code.is_empty() || fp.is_empty() {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("the kiosk stopped before showing a code: {printed}");
        }
        printed += &line;
        if let Some(c) = line.trim().strip_prefix("code:") {
            code = c.trim().to_string();
        }
        if let Some(f) = line.trim().strip_prefix("fingerprint:") {
            fp = f.trim().split("   ").next().unwrap().to_string();
        }
    }
    let (_, page) = get(&b, &format!("{}/gates/enroll?code={code}", server.url()));
    assert!(page.contains(&fp), "the page's fingerprint is the one the kiosk printed ({fp}): {page}");
    let (status, done) = claim(&server, &b, &code, "", "East gate");
    assert_eq!(status, 200, "{done}");
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(status.success() && rest.contains("enrolled as gate \"East gate\""), "{printed}{rest}");
    println!("{printed}{rest}");
}

/// The running kiosk (release binary, headless, simulated hardware) with
/// the server's address in its configuration, as a district's image has
/// it: not enrolled, it shows a code (here: the code it asked for, read
/// from the server); an admin claims it; the kiosk enrolls itself and its
/// first heartbeat reaches the server.
#[test]
fn a_running_kiosk_with_a_server_address_enrolls_itself_once_its_code_is_claimed() {
    let Some(bin) = kiosk_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, _) = login(&server);
    let config = kiosk_config(dir.path(), "West gate", &server.url());
    let mut kiosk = Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .args(["run", "--headless", "--exit-after", "120"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for = |sql: &str| {
        for _ in 0..300 {
            if server.count(sql) > 0 {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    };
    let asked = wait_for("SELECT COUNT(*) FROM enroll_asks");
    let code: Option<String> =
        server.db.read_blocking(|c| c.query_opt("SELECT code FROM enroll_asks", &[], |r| r.get(0))).unwrap();
    let (Some(code), true) = (code, asked) else {
        let _ = kiosk.kill();
        panic!("the kiosk asked for no code");
    };
    let (status, done) = claim(&server, &b, &code, "", "West gate");
    assert_eq!(status, 200, "{done}");
    let beat = wait_for("SELECT COUNT(*) FROM devices WHERE gate_name = 'West gate' AND last_seen_ms IS NOT NULL");
    let _ = kiosk.kill();
    let _ = kiosk.wait();
    assert!(beat, "enrolled and heard from within 30 s of the claim");
    assert_eq!(server.count("SELECT COUNT(*) FROM enroll_asks"), 0, "the code is spent");
}

/// A kiosk the committee revoked comes back from its console's "Enroll
/// again": it forgets its credentials, its sync thread asks the server it
/// was enrolled with for a code, an admin claims it, and the same kiosk
/// (its id, its log) syncs again.
#[test]
fn a_revoked_kiosk_enrolls_again_from_its_console_and_its_log_carries_on() {
    use std::sync::atomic::AtomicBool;
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf_token) = login(&server);
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&base, &server.token("North gate"));
    k.add(5);
    k.sync().unwrap();
    let device = k.store.device_id().to_string();
    let (status, body, _) = post(&b, &format!("{base}/gates/{device}/revoke"), &[("csrf", &csrf_token)]);
    assert_eq!(status, 303, "{body}");
    k.add(2);
    assert!(matches!(k.sync(), Err(SyncError::Unauthorized(_))), "revoked");

    // The guard's "Enroll again" (the core loop's part), then the sync
    // thread as the kiosk runs it, with no server in its configuration.
    k.store.forget_enrollment().unwrap();
    let (events, _event_rx) = mpsc::channel();
    let (wake, wake_rx) = mpsc::channel::<()>();
    let link = sync::SyncLink::default();
    let stop = Arc::new(AtomicBool::new(false));
    let config = sync::LoopConfig {
        interval: Duration::from_millis(200),
        client: fast_client(),
        enroll_url: None,
        ..Default::default()
    };
    let thread =
        sync::spawn(k.path.clone(), k.clock.clone(), events, link.clone(), wake_rx, config, stop.clone()).unwrap();
    let until = |what: &str, f: &dyn Fn(&sync::SyncStatus) -> bool| {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if f(&link.status.lock().unwrap()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        panic!("{what}: {:?}", link.status.lock().unwrap());
    };
    until("a code on the screen", &|s| s.screen_code.as_ref().is_some_and(|c| !c.code.is_empty()));
    let code = link.status.lock().unwrap().screen_code.clone().unwrap();
    assert_eq!(code.server, base, "the server it was enrolled with");
    let (status, done) = claim(&server, &b, &code.code, "", "North gate");
    assert_eq!(status, 200, "{done}");
    until("enrolled and synced again", &|s| s.enrolled && s.online && s.queue == 0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drop(wake);
    thread.join().unwrap();
    assert_eq!(
        server.count(&format!("SELECT COUNT(*) FROM entries WHERE device = '{device}'")),
        7,
        "the same kiosk's log carries on"
    );
}

/// A district's server whose certificate is from the district's own CA
/// (as the qemu test's is): the release kiosk enrolls over HTTPS when its
/// configuration names the CA (`server_ca`, relative to the file), and
/// refuses the server without it.
#[test]
fn a_kiosk_trusts_a_districts_own_ca_only_when_its_configuration_names_it() {
    let Some(bin) = kiosk_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = init_db(dir.path());
    let (mut server, url) = https_server(dir.path(), &target(dir.path()));
    std::fs::copy(dir.path().join("cert.pem"), dir.path().join("ca.pem")).unwrap();
    let token = || {
        db.call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, COMMUNITY, "East gate", 3_600_000))
            .unwrap()
    };
    let enroll = |config: &std::path::Path| {
        let out = Command::new(&bin).arg("--config").arg(config).args(["enroll", &url, &token()]).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let plain = tempfile::tempdir().unwrap();
    let (ok, said) = enroll(&kiosk_config(plain.path(), "East gate", ""));
    assert!(!ok && said.contains("certificate"), "without server_ca the district's certificate is refused: {said}");
    let config = kiosk_config(dir.path(), "East gate", "");
    let text = std::fs::read_to_string(&config).unwrap().replace("[kiosk]\n", "[kiosk]\nserver_ca = \"ca.pem\"\n");
    std::fs::write(&config, text).unwrap();
    let (ok, said) = enroll(&config);
    let _ = server.kill();
    let _ = server.wait();
    assert!(ok && said.contains("enrolled as"), "{said}");
    // A file that is not a certificate stops the kiosk with the key's name.
    std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
    let (ok, said) = enroll(&config);
    assert!(!ok && said.contains("kiosk.server_ca"), "{said}");
}
