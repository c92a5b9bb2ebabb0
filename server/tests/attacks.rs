//! The findings of the security review, one regression test each: slow and
//! stalled clients, bodies before authentication, unbounded text from a
//! kiosk, a date the page could not show, cookies behind a TLS proxy, rate
//! limits behind a proxy and per account, heartbeat arithmetic, re-enrolling
//! a revoked kiosk, private files, direction overrides and security headers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use shoumen_protocol::sync::{HealthItem, PushRequest, API};
use shoumen_server::db::now_ms;
use shoumen_server::net::Limits;

fn quick_limits(c: &mut shoumen_server::Config) {
    c.limits = Limits {
        max_connections: 32,
        handshake: Duration::from_secs(2),
        first_headers: Duration::from_secs(2),
        headers: Duration::from_secs(2),
        request: Duration::from_secs(4),
        per_client_connections: 4096,
        per_client_requests: 4096,
    };
}

/// Runs the `shoumen-server` binary on `db` with `args`, its file
/// descriptors capped at `max_fds` if given; returns it and its address.
fn spawn_server(db: &str, args: &[&str], max_fds: Option<u64>) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoumen-server"));
    cmd.args(["--db", db, "--listen", "127.0.0.1:0"]).args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    if let Some(n) = max_fds {
        // SAFETY: setrlimit is async-signal-safe; it only changes this child's limit.
        #[allow(unsafe_code, reason = "pre_exec with setrlimit(2)")]
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                let lim = libc::rlimit { rlim_cur: n, rlim_max: n };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let base = line.trim().trim_start_matches("listening on ").to_string();
    (child, base)
}

/// Sends `request` (headers and maybe part of a body) and returns the
/// status line the server answers with, without sending the rest.
fn status_without_the_body(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_string()
}

/// Sends a header one byte at a time until the server closes the
/// connection; returns how many bytes it took (bounded).
fn trickle(mut w: impl Write, gap: Duration) -> usize {
    let header = b"GET /login HTTP/1.1\r\nHost: gate\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (i, b) in header.iter().enumerate() {
        if w.write_all(&[*b]).and_then(|()| w.flush()).is_err() {
            return i;
        }
        std::thread::sleep(gap);
    }
    header.len()
}

#[test]
fn a_header_sent_a_byte_at_a_time_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), quick_limits);
    let s = TcpStream::connect(server.bg.addr).unwrap();
    // 2 s allowed for the headers; a byte every 250 ms would need 25 s.
    let sent = trickle(&s, Duration::from_millis(250));
    assert!(sent < 40, "the server still listened after {sent} bytes");
}

#[test]
fn over_tls_too_a_slow_header_is_cut_off_and_a_silent_handshake_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    init_db(dir.path());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = shoumen_server::Config { public_url: format!("https://{addr}"), ..Default::default() };
    quick_limits(&mut config);
    let state = shoumen_server::AppState::new(shoumen_server::Db::open(&target(dir.path())).unwrap(), config).unwrap();
    let tls = shoumen_server::Tls { cert: dir.path().join("cert.pem"), key: dir.path().join("key.pem") };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move { shoumen_server::serve(listener, state, Some(tls)).await })
    });
    // A connection that never starts its handshake is closed.
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 16];
    assert!(matches!(silent.read(&mut buf), Ok(0) | Err(_)), "the silent connection was kept");
    // A real TLS client that trickles its header is cut off too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(client), "localhost".try_into().unwrap()).unwrap();
    let tls = rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap());
    let sent = trickle(tls, Duration::from_millis(250));
    assert!(sent < 40, "the server still listened after {sent} bytes");
}

#[test]
fn half_sent_requests_cannot_take_every_file_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    init_db(dir.path());
    let db = target(dir.path());
    // The server process gets 128 descriptors, as a small systemd limit would.
    let (mut child, base) = spawn_server(
        &db,
        &["--max-connections", "64", "--header-timeout-s", "2", "--max-connections-per-client", "1000"],
        Some(128),
    );
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    // 300 clients start a request and never finish it.
    let hogs: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
            s.write_all(b"GET /login HTTP/1.1\r\nHost: gate\r\n").ok()?;
            Some(s)
        })
        .collect();
    assert!(hogs.len() > 128, "the test did not get its hogs connected");
    // A real visitor is still answered.
    let answered =
        Browser::builder().timeout(Duration::from_secs(30)).build().unwrap().get(format!("{base}/login")).send();
    let _ = child.kill();
    let _ = child.wait();
    let answer = answered.expect("nobody was answered while half-sent requests held the server");
    assert_eq!(answer.status().as_u16(), 200);
}

#[test]
fn bodies_are_not_read_before_the_sender_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), quick_limits);
    let addr = server.bg.addr;
    let stranger = format!(
        "POST {API}/entries HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer nobody:secret\r\nContent-Type: application/json\r\nContent-Length: 900000\r\n\r\n{{\"entries\":["
    );
    assert!(status_without_the_body(addr, stranger.as_bytes()).contains(" 401 "), "a stranger's upload was waited for");
    let anonymous = format!("POST {API}/entries HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\nContent-Length: 900000\r\n\r\n{{");
    assert!(status_without_the_body(addr, anonymous.as_bytes()).contains(" 401 "));
    let huge = format!("POST {API}/entries HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n{{");
    assert!(
        status_without_the_body(addr, huge.as_bytes()).contains(" 413 "),
        "4 MB announced: refused before anything else"
    );
    let login = "POST /login HTTP/1.1\r\nHost: gate\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\nuser=";
    assert!(status_without_the_body(addr, login.as_bytes()).contains(" 413 "), "a huge login form was read");
    // A kiosk that is known may send a page, but not more than a page.
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    let creds = k.store.sync_credentials().unwrap().unwrap();
    let big = format!(
        "POST {API}/entries HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer {}:{}\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n{{",
        creds.device, creds.secret
    );
    assert!(status_without_the_body(addr, big.as_bytes()).contains(" 413 "));
    // A known kiosk that stalls its upload is cut off by the request timeout.
    let stalled = format!(
        "POST {API}/entries HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer {}:{}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{",
        creds.device, creds.secret
    );
    assert!(status_without_the_body(addr, stalled.as_bytes()).contains(" 408 "));
}

fn post_json(server: &TestServer, k: &Kiosk, path: &str, body: &impl serde::Serialize) -> u16 {
    let creds = k.store.sync_credentials().unwrap().unwrap();
    Browser::new()
        .post(format!("{}{API}{path}", server.url()))
        .header("Authorization", format!("Bearer {}:{}", creds.device, creds.secret))
        .json(body)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_kiosk_cannot_make_the_server_store_or_show_unbounded_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    k.add(3);
    // A checkpoint naming a device of 100,000 characters: a tamper alert,
    // with its detail cut to size.
    let mut p: PushRequest = page(&mut k, 1, 3);
    p.checkpoint.device = "x".repeat(100_000);
    assert_eq!(post_json(&server, &k, "/entries", &p), 422);
    let longest = server.count("SELECT MAX(LENGTH(detail)) FROM alerts");
    assert!(longest <= shoumen_server::records::alerts::MAX_DETAIL as i64, "alert detail of {longest} characters");
    // An entry with a 5,000-character note is refused, not stored.
    let mut p = page(&mut k, 1, 3);
    p.entries[0].entry.note = Some("n".repeat(5_000));
    resign(&mut k, &mut p);
    assert_eq!(post_json(&server, &k, "/entries", &p), 400);
    assert_eq!(server.count("SELECT COUNT(*) FROM entries"), 0);
    // A heartbeat with two hundred health items is refused; one of 300 KB
    // does not even get read.
    let mut hb = k.heartbeat();
    hb.health = (0..200).map(|i| HealthItem { device: format!("d{i}"), ok: false, state: "x".repeat(20) }).collect();
    assert_eq!(post_json(&server, &k, "/heartbeat", &hb), 400);
    hb.health = (0..1000).map(|i| HealthItem { device: format!("d{i}"), ok: false, state: "x".repeat(300) }).collect();
    assert_eq!(post_json(&server, &k, "/heartbeat", &hb), 413);
    // Heartbeats from a hundred boots keep only the latest few.
    for i in 0..100 {
        let mut hb = k.heartbeat();
        hb.clock.boot_id = format!("boot-{i}");
        assert_eq!(post_json(&server, &k, "/heartbeat", &hb), 200);
    }
    assert!(server.count("SELECT COUNT(*) FROM boots") <= 16);
}

#[test]
fn absurd_heartbeat_numbers_are_stored_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    let mut hb = k.heartbeat();
    hb.queue = u64::MAX;
    hb.clock.wall_ms = i64::MIN;
    hb.clock.mono_ms = u64::MAX;
    assert_eq!(post_json(&server, &k, "/heartbeat", &hb), 200);
    assert_eq!(server.count("SELECT queue FROM devices"), i64::MAX, "not wrapped to -1");
    let skew = server.count("SELECT skew_ms FROM devices");
    assert!(skew > 0 && skew <= 100 * 365 * 86_400_000, "skew {skew}");
    let (b, _) = login(&server);
    let (status, page) = get(&b, &format!("{}/gates", server.url()));
    assert_eq!(status, 200);
    // The kiosk's random id may itself hold "-9"; look at the numbers only.
    let id: String = server.db.call_blocking(|c| c.query_row("SELECT id FROM devices", &[], |r| r.get(0))).unwrap();
    let page = page.replace(&id, "");
    assert!(!page.contains("e15") && !page.contains("-9"), "{page}");
}

#[test]
fn a_date_no_page_could_show_is_refused_and_the_page_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf_token) = login(&server);
    let url = format!("{}/quarantine", server.url());
    let (status, _, _) =
        post(&b, &url, &[("unit", "3-502"), ("from", "-262143-01-01"), ("until", "2026-12-01"), ("csrf", &csrf_token)]);
    assert_eq!(status, 400);
    // Even a row that got in some other way cannot break the page.
    server.exec(
        "INSERT INTO quarantine (unit, from_s, until_s, created_ms, community) VALUES ('3-502', -8000000000000, 99999999999, 0, ?1)",
        shoumen_server::vals![COMMUNITY],
    );
    let (status, page) = get(&b, &url);
    assert_eq!(status, 200);
    assert!(page.contains("/remove"), "the Remove button is there");
}

#[test]
fn cookies_stay_secure_behind_a_tls_proxy() {
    let dir = tempfile::tempdir().unwrap();
    init_db(dir.path());
    let db = target(dir.path());
    let (mut child, base) = spawn_server(&db, &["--insecure-http", "--public-url", "https://gate.example.org"], None);
    let resp = Browser::new().get(format!("{base}/login")).send().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(resp.headers().contains_key("strict-transport-security"));
}

#[test]
fn rate_limits_count_the_client_behind_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.rate_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    });
    let try_login = |client: &str| {
        let b = browser();
        b.post(format!("{}/login", server.url()))
            .header("X-Forwarded-For", client)
            .form(&[("user", "nobody"), ("password", "x"), ("csrf", "x")])
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    for _ in 0..3 {
        assert_ne!(try_login("198.51.100.7"), 429);
    }
    assert_eq!(try_login("198.51.100.7"), 429, "the noisy client is limited");
    assert_ne!(try_login("203.0.113.9"), 429, "another client behind the same proxy is not");
}

/// One login attempt from `client` (through the trusted proxy) by `b`;
/// the status and the page.
fn login_from(base: &str, b: &Browser, client: &str, user: &str, password: &str, code: &str) -> (u16, String) {
    let (_, page) = get(b, &format!("{base}/login"));
    let r = b
        .post(format!("{base}/login"))
        .header("X-Forwarded-For", client)
        .form(&[("user", user), ("password", password), ("code", code), ("csrf", &csrf(&page))])
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn wrong_passwords_lock_out_their_sender_not_the_committee_and_the_account_only_for_strangers() {
    let dir = tempfile::tempdir().unwrap();
    let proxied = |c: &mut shoumen_server::Config| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = TestServer::start_with(dir.path(), proxied);
    let base = server.url();
    // The admin's own browser logged in before, from the committee's office.
    let office = browser();
    assert_eq!(login_from(&base, &office, "203.0.113.1", ADMIN, PASSWORD, "").0, 303);
    // A stranger's five guesses lock the stranger's address out...
    for _ in 0..5 {
        assert_eq!(login_from(&base, &browser(), "198.51.100.7", ADMIN, "guess", "").0, 401);
    }
    let (status, body) = login_from(&base, &browser(), "198.51.100.7", ADMIN, PASSWORD, "");
    assert_eq!(status, 429, "the guessing address is locked out even with the right password");
    assert!(body.contains("锁定") || body.contains("locked"), "{body}");
    // ...not the committee, from another address.
    assert_eq!(login_from(&base, &browser(), "203.0.113.2", ADMIN, PASSWORD, "").0, 303, "the admin still logs in");
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'account_lockout' AND detail LIKE '%198.51.100.7%'"),
        1,
        "the admins are told"
    );
    // Guesses from many addresses lock the account itself, and that is stored.
    for i in 0..20 {
        login_from(&base, &browser(), &format!("192.0.2.{i}"), ADMIN, "guess", "");
    }
    assert_eq!(
        login_from(&base, &browser(), "203.0.113.3", ADMIN, PASSWORD, "").0,
        429,
        "a stranger's browser is locked out"
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'account_lockout' AND detail LIKE '@lockout_account|%'"),
        1
    );
    drop(server);
    let server = TestServer::start_with(dir.path(), proxied);
    let base = server.url();
    assert_eq!(
        login_from(&base, &browser(), "203.0.113.3", ADMIN, PASSWORD, "").0,
        429,
        "still locked after a restart"
    );
    // The browser that logged in before gets in, wherever it is now.
    assert_eq!(
        login_from(&base, &office, "203.0.113.4", ADMIN, PASSWORD, "").0,
        303,
        "a known browser is past the lock"
    );
    // Fifteen minutes later the right password opens it for anyone, and the
    // count of wrong ones starts again.
    server.exec("UPDATE users SET locked_until_ms = 1 WHERE name = ?1", &[ADMIN.into()]);
    assert_eq!(login_from(&base, &browser(), "203.0.113.5", ADMIN, "guess", "").0, 401);
    assert_eq!(server.count("SELECT failed_logins FROM users WHERE name = 'admin'"), 1);
    assert_eq!(login_from(&base, &browser(), "203.0.113.5", ADMIN, PASSWORD, "").0, 303);
    assert_eq!(server.count("SELECT failed_logins FROM users WHERE name = 'admin'"), 0);
}

#[test]
fn a_locked_account_opens_to_its_password_with_a_fresh_code_and_each_code_works_once() {
    use totp_rs::{Algorithm, Secret, TOTP};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]);
    let base = server.url();
    let (admin, _) = login(&server);
    let (_, page) = get(&admin, &format!("{base}/totp"));
    let secret = totp_secret_of(&page);
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, Secret::Encoded(secret.clone()).to_bytes().unwrap()).unwrap();
    let step = |k: u64| totp.generate((shoumen_server::db::now_ms() as u64 / 1000 / 30 + k) * 30);
    assert_eq!(
        post(&admin, &format!("{base}/totp"), &[("secret", &secret), ("code", &step(0)), ("csrf", &csrf(&page))]).0,
        303
    );
    // A session alone cannot swap the authenticator for another.
    let other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let other_code = TOTP::new(Algorithm::SHA1, 6, 1, 30, Secret::Encoded(other.into()).to_bytes().unwrap())
        .unwrap()
        .generate_current()
        .unwrap();
    let (status, _, _) =
        post(&admin, &format!("{base}/totp"), &[("secret", other), ("code", &other_code), ("csrf", &csrf(&page))]);
    assert_eq!(status, 409, "replacing a secret in use needs it turned off first");
    assert_eq!(server.count(&format!("SELECT COUNT(*) FROM users WHERE totp_secret = '{secret}'")), 1);
    // The code that turned it on does not log in again: a code is good once.
    assert_eq!(login_from(&base, &browser(), "203.0.113.1", ADMIN, PASSWORD, &step(0)).0, 401, "a used code");
    // Locked by strangers, the account opens to its password and a fresh code.
    for i in 0..20 {
        login_from(&base, &browser(), &format!("192.0.2.{i}"), ADMIN, "guess", "");
    }
    assert_eq!(login_from(&base, &browser(), "203.0.113.2", ADMIN, PASSWORD, "").0, 429);
    let fresh = step(1);
    assert_eq!(
        login_from(&base, &browser(), "203.0.113.2", ADMIN, "guess", &fresh).0,
        429,
        "a wrong password with a code stays out"
    );
    assert_eq!(
        login_from(&base, &browser(), "203.0.113.2", ADMIN, PASSWORD, &fresh).0,
        303,
        "password and a fresh code get in"
    );
    assert_eq!(
        login_from(&base, &browser(), "203.0.113.3", ADMIN, PASSWORD, &fresh).0,
        429,
        "the same code again does not"
    );
}

#[test]
fn a_revoked_kiosk_can_enroll_again_and_its_log_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    k.add(5);
    k.sync().unwrap();
    // Revoked on the Gates page: refused from its next request on, although
    // the server remembers kiosks it authenticated a moment ago.
    let id: String = server.db.call_blocking(|c| c.query_row("SELECT id FROM devices", &[], |r| r.get(0))).unwrap();
    let (b, token) = login(&server);
    let (status, _, _) = post(&b, &format!("{}/gates/{id}/revoke", server.url()), &[("csrf", &token)]);
    assert_eq!(status, 303);
    assert!(k.sync().is_err());
    k.enroll(&server.url(), &server.token("north again"));
    k.add(3);
    k.sync().unwrap();
    assert_eq!(server.count("SELECT COUNT(*) FROM entries"), 8);
    assert_eq!(server.count("SELECT revoked FROM devices"), 0);
}

#[test]
fn a_kiosk_revoked_while_remembered_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    k.add(5);
    k.sync().unwrap();
    // Revoked behind the server's back (another tool, a restored backup):
    // its remembered authentication does not let a push through.
    server.exec("UPDATE devices SET revoked = 1", &[]);
    k.add(2);
    assert!(k.sync().is_err());
    assert_eq!(server.count("SELECT COUNT(*) FROM entries"), 5);
}

#[test]
fn database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    k.add(2);
    k.sync().unwrap();
    // The server's files, when it keeps them (PostgreSQL keeps its own).
    let names: &[&str] = if on_postgres() {
        &["north.db", "north.db-wal"]
    } else {
        &["server.db", "server.db-wal", "north.db", "north.db-wal"]
    };
    for name in names {
        let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

#[test]
fn unit_labels_may_not_reverse_the_text_around_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let bad = server
        .db
        .call_blocking(|c| {
            Ok(shoumen_server::records::community::add_resident(c, COMMUNITY, "Li", "3-5\u{202E}02", "", now_ms()))
        })
        .unwrap();
    assert!(bad.is_err());
    // Nor may a resident's name, by the form or the import.
    let bad = server
        .db
        .call_blocking(|c| {
            Ok(shoumen_server::records::community::add_resident(c, COMMUNITY, "Li \u{202E}gnaW", "3-502", "", now_ms()))
        })
        .unwrap();
    assert!(bad.is_err());
    assert!(shoumen_server::records::residents::check("Li \u{202E}gnaW", "3-502", "").is_err());
}

#[test]
fn every_page_carries_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, _) = login(&server);
    for path in ["/login", "/", "/alerts", "/gates", "/passes", "/v/none", "/api/v1/lists"] {
        let resp = b.get(format!("{}{path}", server.url())).send().unwrap();
        let h = resp.headers();
        assert!(
            h.get("content-security-policy").is_some_and(|v| v.to_str().unwrap().contains("frame-ancestors 'none'")),
            "{path}"
        );
        assert_eq!(h.get("x-frame-options").map(|v| v.to_str().unwrap()), Some("DENY"), "{path}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{path}");
    }
}

#[test]
fn an_export_in_progress_does_not_hold_up_the_kiosks() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    k.add(2);
    k.sync().unwrap();
    // 200,000 entries of another gate, straight into the database.
    let now = now_ms();
    server
        .db
        .call_blocking(move |c| {
            c.transaction(true, |tx| {
                tx.execute(
                    "INSERT INTO devices (id, gate_name, key_hex, secret_sha256, enrolled_ms, head_hash, community)
                     VALUES ('old', 'old', '', '', 0, '', ?1)",
                    shoumen_server::vals![COMMUNITY],
                )?;
                tx.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
                     INSERT INTO entries (device, seq, body, hash, wall_ms, clock_synced, boot_id, mono_ms, received_ms, kind, direction, decision, reason, community)
                     SELECT 'old', i, '{}', '', CAST(?1 AS BIGINT) - i, 1, 'b', i, CAST(?1 AS BIGINT), 'scan', 'in', 'allow', 'ok', ?2 FROM n",
                    shoumen_server::vals![now, COMMUNITY],
                )
            })
        })
        .unwrap();
    let (b, _) = login(&server);
    // Tomorrow in UTC is today or later in the server's zone (UTC+8).
    let day = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let mut export = b.get(format!("{}/export.csv?from=2020-01-01&to={day}", server.url())).send().unwrap();
    let mut first = [0u8; 4096];
    export.read_exact(&mut first).unwrap();
    // The export is open and unread; the kiosk pushes and pulls all the same.
    k.add(3);
    let report = k.sync().expect("a push while an export streams");
    assert_eq!(report.pushed, 3);
    let mut rest = String::new();
    export.read_to_string(&mut rest).unwrap();
    let lines = String::from_utf8_lossy(&first).lines().count() + rest.lines().count() - 1;
    assert!(lines >= 200_000, "the export holds its snapshot: {lines} lines");
}

/// A connection from `source` (another loopback address: another client).
fn connect_from(source: &str, to: std::net::SocketAddr) -> Option<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    socket.bind(&format!("{source}:0").parse::<std::net::SocketAddr>().ok()?.into()).ok()?;
    socket.connect_timeout(&to.into(), Duration::from_millis(300)).ok()?;
    Some(socket.into())
}

/// Timeouts long enough that only the per-client caps can help.
fn patient_limits(c: &mut shoumen_server::Config) {
    c.limits = Limits {
        max_connections: 64,
        handshake: Duration::from_secs(60),
        first_headers: Duration::from_secs(60),
        headers: Duration::from_secs(60),
        request: Duration::from_secs(60),
        per_client_connections: 16,
        per_client_requests: 8,
    };
}

#[test]
fn one_address_cannot_hold_every_connection_slot() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), patient_limits);
    // 200 slow-header sockets from one client, each a request begun and never finished.
    let hogs: Vec<TcpStream> = (0..200)
        .filter_map(|_| {
            let mut s = connect_from("127.0.0.2", server.bg.addr)?;
            s.write_all(b"GET /login HTTP/1.1\r\nHost: gate\r\n").ok()?;
            Some(s)
        })
        .collect();
    assert!(hogs.len() > 64, "the test did not get its hogs connected");
    std::thread::sleep(Duration::from_millis(300));
    // Another client is answered while they hang on.
    let probe = Browser::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{}/login", server.url()))
        .send();
    let status = probe.expect("another client was kept waiting behind one address's sockets").status().as_u16();
    assert_eq!(status, 200);
    drop(hogs);
}

#[test]
fn one_client_behind_the_proxy_cannot_hold_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        patient_limits(c);
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    });
    // 100 uploads to /verify from one client behind the proxy, each trickled and never finished.
    let hogs: Vec<TcpStream> = (0..100)
        .filter_map(|_| {
            let mut s = TcpStream::connect_timeout(&server.bg.addr, Duration::from_millis(300)).ok()?;
            let head = "POST /verify HTTP/1.1\r\nHost: gate\r\nX-Forwarded-For: 198.51.100.66\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000\r\n\r\nreceipt=";
            s.write_all(head.as_bytes()).ok()?;
            Some(s)
        })
        .collect();
    assert!(hogs.len() > 64, "the test did not get its uploads started");
    std::thread::sleep(Duration::from_millis(500));
    let probe = Browser::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{}/login", server.url()))
        .header("X-Forwarded-For", "203.0.113.5")
        .send();
    let status = probe.expect("another client behind the proxy was kept waiting").status().as_u16();
    assert_eq!(status, 200);
    // The trickler itself is told to slow down rather than queued.
    let r = Browser::new()
        .get(format!("{}/login", server.url()))
        .header("X-Forwarded-For", "198.51.100.66")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    drop(hogs);
}

#[test]
fn a_new_connection_that_says_nothing_is_closed_sooner_than_a_kept_alive_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        patient_limits(c);
        c.limits.first_headers = Duration::from_secs(1);
        c.limits.per_client_connections = 4096;
    });
    let s = TcpStream::connect(server.bg.addr).unwrap();
    // A byte every 250 ms: 1 s allowed for the first request's headers,
    // where the 60 s for later ones would take the whole header.
    let sent = trickle(&s, Duration::from_millis(250));
    assert!(sent < 40, "the server still listened after {sent} bytes");
}
