//! Shared pieces of the server tests: a real server on 127.0.0.1:0, kiosks
//! with real stores, and a TCP proxy that misbehaves on purpose.
#![allow(dead_code)]

pub mod release_kiosk;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use reqwest::blocking::Client as Browser;
use reqwest::redirect::Policy;
use shoumen_client::clock::SystemClock;
use shoumen_client::store::Store;
use shoumen_client::sync::{self, Client, ClientConfig};
use shoumen_gate::EntryDraft;
use shoumen_protocol::sync::{Checkpoint, ClockReport, Heartbeat, PushRequest, PushedEntry};
use shoumen_protocol::{Decision, Direction, EntryKind, Hash, PassId, Reason, Role, TempRecord};
use shoumen_server::db::{self, now_ms, Db};
use shoumen_server::{Background, Config};

pub const COMMUNITY: &str = "lotus-gdn";
pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery";

/// The variable that switches the server tests to PostgreSQL.
pub const PG_VAR: &str = "SHOUMEN_TEST_POSTGRES_URL";
/// Where the tests make their schemas, if not there (a plain socket when
/// the server's URL asks for TLS).
pub const PG_ADMIN_VAR: &str = "SHOUMEN_TEST_POSTGRES_ADMIN_URL";

/// The database a test's server keeps in `dir`: a SQLite file, or with
/// `SHOUMEN_TEST_POSTGRES_URL` set, a schema of its own in that PostgreSQL
/// database (the same one each time for the same `dir`, so restarts find
/// their data).
pub fn target(dir: &Path) -> String {
    match std::env::var(PG_VAR) {
        Ok(url) if !url.is_empty() => {
            let marker = dir.join("pg-target");
            if let Ok(t) = std::fs::read_to_string(&marker) {
                return t;
            }
            let schema = format!("t_{}", shoumen_server::leaves::secrets::random_token());
            // A URL the test's own plain client can use, if the server's
            // asks for TLS (.ci/pg-tls-suite.sh).
            let admin = std::env::var(PG_ADMIN_VAR).unwrap_or_else(|_| url.clone());
            let mut client =
                postgres::Client::connect(&admin, postgres::NoTls).expect("connect to SHOUMEN_TEST_POSTGRES_URL");
            client.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            let t = format!("{url}{sep}options=-csearch_path%3D{schema}");
            std::fs::write(&marker, &t).unwrap();
            t
        }
        _ => dir.join("server.db").to_string_lossy().into_owned(),
    }
}

/// Whether the tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(PG_VAR).is_ok_and(|u| !u.is_empty())
}

/// Creates a community in the test database of `dir` (fast argon2 is not
/// needed: one hash).
pub fn init_db(dir: &Path) -> Db {
    init_community(dir, COMMUNITY, ADMIN)
}

/// Creates community `id` with admin `admin` (password [`PASSWORD`]).
pub fn init_community(dir: &Path, id: &str, admin: &str) -> Db {
    let db = Db::open(&target(dir)).unwrap();
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    db.call_blocking(|c| db::init(c, id, admin, &hash, now_ms())).unwrap();
    db
}

pub struct TestServer {
    pub bg: Background,
    pub db: Db,
}

impl TestServer {
    pub fn start(dir: &Path) -> TestServer {
        TestServer::start_with(dir, |_| {})
    }

    /// A server whose config `tune` adjusts first.
    pub fn start_with(dir: &Path, tune: impl FnOnce(&mut Config)) -> TestServer {
        let t = target(dir);
        let fresh = Db::open(&t).unwrap().call_blocking(db::communities).unwrap().is_empty();
        let db = if fresh { init_db(dir) } else { Db::open(&t).unwrap() };
        // Checkpoints of the whole log at once: tests of the schedule set theirs.
        let mut config = Config {
            rate_per_minute: 1000,
            public_url: String::new(),
            checkpoint_every: Duration::ZERO,
            ..Config::default()
        };
        // Every test client is 127.0.0.1: tests of the per-client caps set
        // their own.
        config.limits.per_client_connections = 4096;
        config.limits.per_client_requests = 4096;
        tune(&mut config);
        TestServer { bg: Background::start(Db::open(&t).unwrap(), config).unwrap(), db }
    }

    pub fn url(&self) -> String {
        self.bg.url()
    }

    /// An enrollment token of the first community.
    pub fn token(&self, gate: &str) -> String {
        self.token_of(COMMUNITY, gate)
    }

    pub fn token_of(&self, community: &str, gate: &str) -> String {
        self.db
            .call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, community, gate, 3_600_000))
            .unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        let sql = sql.to_string();
        self.db.call_blocking(move |c| c.scalar(&sql, &[])).unwrap()
    }

    /// Runs a statement of the test's own (to set a scene).
    pub fn exec(&self, sql: &str, params: &[db::Val]) {
        let (sql, params) = (sql.to_string(), params.to_vec());
        self.db.call_blocking(move |c| c.execute(&sql, &params)).unwrap();
    }

    pub fn community(&self, id: &str) -> db::Community {
        self.db.call_blocking(|c| db::community(c, id)).unwrap()
    }
}

// ---- pages of entries, as a kiosk pushes them ----

pub fn page(k: &mut Kiosk, from: u64, n: usize) -> PushRequest {
    let rows = k.store.entries_with_hash(from, n).unwrap();
    let key = k.store.device_key().unwrap();
    let (last, hash) = rows.last().map(|(e, h)| (e.seq, *h)).unwrap();
    PushRequest {
        checkpoint: Checkpoint::sign(&key, k.store.device_id(), last, &hash),
        entries: rows.into_iter().map(|(entry, hash)| PushedEntry { entry, hash: hex::encode(hash) }).collect(),
    }
}

/// Re-signs a page's checkpoint after the test edited it.
pub fn resign(k: &mut Kiosk, p: &mut PushRequest) {
    let key = k.store.device_key().unwrap();
    let last = p.entries.last().unwrap();
    let head: Hash = hex::decode(&last.hash).unwrap().try_into().unwrap();
    p.checkpoint = Checkpoint::sign(&key, k.store.device_id(), last.entry.seq, &head);
}

// ---- the committee's pages, as a browser uses them ----

pub fn browser() -> Browser {
    Browser::builder().cookie_store(true).redirect(Policy::none()).build().unwrap()
}

/// The value of the first `name=csrf` hidden field (attributes quoted or
/// not, as the pages write them).
pub fn csrf(html: &str) -> String {
    let (at, mark) = ["name=csrf value=\"", "name=\"csrf\" value=\""]
        .iter()
        .filter_map(|m| html.find(m).map(|at| (at, m.len())))
        .min()
        .expect("a form with a CSRF token");
    let at = at + mark;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// A page as the tests read it: the cell labels a phone shows before each
/// value (`data-label`, added to every table) are left out, so a test
/// reads a table as the page writes it.
pub fn get(b: &Browser, url: &str) -> (u16, String) {
    let r = b.get(url).header("Accept-Language", "en").send().unwrap();
    (r.status().as_u16(), without_cell_labels(&r.text().unwrap()))
}

pub fn without_cell_labels(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(at) = rest.find(" data-label=\"") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " data-label=\"".len()..];
        rest = &after[after.find('"').map_or(after.len(), |e| e + 1)..];
    }
    out.push_str(rest);
    out
}

pub fn post(b: &Browser, url: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let r = b.post(url).form(form).send().unwrap();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), r.text().unwrap(), location)
}

pub fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The two-step secret the /totp page shows.
pub fn totp_secret_of(page: &str) -> String {
    let at = page.find("id=\"secret\">").expect("a secret on the page") + "id=\"secret\">".len();
    page[at..at + page[at..].find('<').unwrap()].to_string()
}

pub fn login(server: &TestServer) -> (Browser, String) {
    login_as(server, ADMIN)
}

pub fn login_as(server: &TestServer, user: &str) -> (Browser, String) {
    login_at(&server.url(), user)
}

/// Logs `user` in at the server at `base` (one started by a test itself).
pub fn login_at(base: &str, user: &str) -> (Browser, String) {
    let b = browser();
    let (_, page) = get(&b, &format!("{base}/login"));
    let (status, _, location) =
        post(&b, &format!("{base}/login"), &[("user", user), ("password", PASSWORD), ("csrf", &csrf(&page))]);
    assert_eq!((status, location.as_deref()), (303, Some("/")));
    // A district account's home is the district's overview.
    let r = b.get(format!("{base}/")).send().unwrap();
    let home = match r.headers().get("location").map(|l| l.to_str().unwrap().to_string()) {
        Some(to) => get(&b, &format!("{base}{to}")),
        None => (r.status().as_u16(), r.text().unwrap()),
    };
    assert_eq!(home.0, 200);
    (b, csrf(&home.1))
}

// ---- a webhook receiver: WeCom, DingTalk or JSON, on 127.0.0.1 ----

/// Answers every POST like a WeCom robot (`{"errcode":0}`) and keeps the
/// bodies; `fail_first` requests get a 500 first, to exercise the retries.
pub struct Receiver {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn start(fail_first: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/cgi-bin/webhook/send?key=test", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            for stream in listener.incoming().flatten() {
                n += 1;
                let fail = n <= fail_first;
                if let Some(body) = read_request(stream, fail) {
                    if !fail {
                        seen.lock().unwrap().push(body);
                    }
                }
            }
        });
        Receiver { url, bodies }
    }

    /// Waits (bounded) until a body contains `needle`.
    pub fn wait_for(&self, needle: &str) -> Option<String> {
        for _ in 0..200 {
            if let Some(b) = self.bodies.lock().unwrap().iter().find(|b| b.contains(needle)) {
                return Some(b.clone());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

fn read_request(mut s: TcpStream, fail: bool) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, len) = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            break (i + 4, len);
        }
    };
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let answer: &[u8] = if fail {
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"errcode\":0,\"errmsg\":\"ok\"}"
    };
    s.write_all(answer).ok()?;
    Some(String::from_utf8_lossy(&buf[head_end..]).into_owned())
}

pub fn fast_client() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(3),
        keep_alive: false,
        ..ClientConfig::default()
    }
}

pub struct Kiosk {
    pub store: Store,
    pub path: PathBuf,
    pub clock: SystemClock,
}

impl Kiosk {
    pub fn new(dir: &Path, name: &str) -> Kiosk {
        let clock = SystemClock::new();
        let path = dir.join(format!("{name}.db"));
        Kiosk { store: Store::open(&path, clock.boot_id()).unwrap(), path, clock }
    }

    pub fn enroll(&mut self, server_url: &str, token: &str) {
        sync::enroll(&mut self.store, server_url, token, "", &fast_client()).unwrap();
    }

    /// Appends `n` entries; every 10th is a fever refusal.
    pub fn add(&mut self, n: u64) {
        for _ in 0..n {
            let seq = self.store.head_seq().unwrap() + 1;
            let now = self.clock.now();
            let fever = seq % 10 == 0;
            let draft = EntryDraft {
                wall_ms: now.wall_ms,
                mono_ms: now.mono_ms,
                clock_synced: true,
                kind: EntryKind::Scan,
                direction: if seq % 2 == 0 { Direction::In } else { Direction::Out },
                pass_id: Some(PassId(seq.to_be_bytes())),
                role: Some(Role::Resident),
                decision: if fever { Decision::Guard } else { Decision::Allow },
                reason: if fever { Reason::Fever } else { Reason::Ok },
                temperature: Some(TempRecord::Centi(if fever { 3790 } else { 3650 })),
                note: None,
            };
            self.store.append(&draft).unwrap();
        }
    }

    /// Appends one scan of `pass` going `direction`, with the gate's
    /// decision and reason.
    pub fn scan(&mut self, pass: PassId, direction: Direction, decision: Decision, reason: &'static str) {
        self.entry(EntryKind::Scan, direction, Some(pass), decision, reason);
    }

    /// Appends one entry of `kind`; a scan carries a temperature (a fever
    /// if the reason says so).
    pub fn entry(
        &mut self,
        kind: EntryKind,
        direction: Direction,
        pass: Option<PassId>,
        decision: Decision,
        reason: &'static str,
    ) {
        let now = self.clock.now();
        let draft = EntryDraft {
            wall_ms: now.wall_ms,
            mono_ms: now.mono_ms,
            clock_synced: true,
            kind,
            direction,
            pass_id: pass,
            role: pass.map(|_| Role::Resident),
            decision,
            reason: Reason::parse(reason).expect("a known reason"),
            temperature: (kind == EntryKind::Scan).then_some(TempRecord::Centi(if reason == "fever" {
                3790
            } else {
                3650
            })),
            note: None,
        };
        self.store.append(&draft).unwrap();
    }

    pub fn client(&self) -> Client {
        self.client_via(None)
    }

    /// A client for this kiosk's credentials, optionally through another URL (a proxy).
    pub fn client_via(&self, url: Option<&str>) -> Client {
        let mut creds = self.store.sync_credentials().unwrap().expect("enrolled");
        if let Some(u) = url {
            creds.url = u.to_string();
        }
        Client::new(creds, &fast_client()).unwrap()
    }

    pub fn sync(&mut self) -> Result<sync::Report, sync::SyncError> {
        let client = self.client();
        sync::sync_once(&mut self.store, &client, &self.clock, &[], &mut |_, _| {})
    }

    /// A heartbeat as a kiosk would send it, its clock right and vouched
    /// for, its checkpoint over the store's head; tests change what they need.
    pub fn heartbeat(&mut self) -> Heartbeat {
        let key = self.store.device_key().unwrap();
        let (seq, head) = self.store.head().unwrap();
        Heartbeat {
            clock: ClockReport {
                boot_id: "boot".into(),
                mono_ms: 1,
                wall_ms: now_ms(),
                synced: true,
                trust: None,
                corrected_at_ms: None,
            },
            queue: 0,
            health: vec![],
            checkpoint: Checkpoint::sign(&key, self.store.device_id(), seq, &head),
            version: "test".into(),
            layout: None,
            log: None,
            time_nonce: None,
            vitals: None,
            update: None,
        }
    }
}

/// What the proxy does to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Close at once, before reading anything.
    Drop,
    /// Wait this long, then pass.
    Delay(u64),
    /// Forward the request, return only the first bytes of the answer.
    CutResponse,
    /// Answer with junk instead of forwarding.
    Garbage,
}

type Plan = Box<dyn FnMut(u64) -> Fault + Send>;

/// A TCP proxy in front of a server whose address may change (restarts).
pub struct Proxy {
    pub addr: SocketAddr,
    pub upstream: Arc<Mutex<SocketAddr>>,
    /// Picks the fault for connection number n.
    pub plan: Arc<Mutex<Plan>>,
    pub connections: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let upstream = Arc::new(Mutex::new(upstream));
        let plan: Arc<Mutex<Plan>> = Arc::new(Mutex::new(Box::new(|_| Fault::Pass)));
        let connections = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (upstream, plan, connections, stop) =
                (upstream.clone(), plan.clone(), connections.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let client = match listener.accept() {
                        Ok((c, _)) => c,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(2));
                            continue;
                        }
                    };
                    let n = connections.fetch_add(1, Ordering::Relaxed);
                    let fault = (plan.lock().unwrap())(n);
                    let target = *upstream.lock().unwrap();
                    std::thread::spawn(move || handle(client, target, fault));
                }
            });
        }
        Proxy { addr, upstream, plan, connections, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_plan(&self, plan: impl FnMut(u64) -> Fault + Send + 'static) {
        *self.plan.lock().unwrap() = Box::new(plan);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(client: TcpStream, target: SocketAddr, fault: Fault) {
    let _ = client.set_nonblocking(false);
    match fault {
        Fault::Drop => return,
        Fault::Garbage => {
            let mut c = client;
            let mut buf = [0u8; 4096];
            let _ = c.set_read_timeout(Some(Duration::from_millis(300)));
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n<html>oops</a>");
            return;
        }
        Fault::Delay(ms) => std::thread::sleep(Duration::from_millis(ms)),
        Fault::Pass | Fault::CutResponse => {}
    }
    let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_millis(500)) else { return };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = s_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    if fault == Fault::CutResponse {
        let mut buf = [0u8; 64];
        if let Ok(n) = s_read.read(&mut buf) {
            let _ = c_write.write_all(&buf[..n.min(40)]);
        }
        let _ = c_write.shutdown(std::net::Shutdown::Both);
        let _ = s_read.shutdown(std::net::Shutdown::Both);
    } else {
        let _ = std::io::copy(&mut s_read, &mut c_write);
        let _ = c_write.shutdown(std::net::Shutdown::Both);
    }
    let _ = up.join();
}

/// The returnee documents and the resident the registrations name.
pub fn returnee_scene(db: &Db) {
    db.call_blocking(|c| {
        let now = now_ms();
        shoumen_server::records::community::add_resident(c, COMMUNITY, "王芳", "3-502", "13800000000", now).unwrap();
        shoumen_server::records::returnees::save_document(
            c,
            COMMUNITY,
            "Pledge",
            shoumen_server::records::returnees::Kind::Pledge,
            7,
            "本人承诺自我健康监测 {days} 天。",
            "I will watch my health for {days} days.",
            "t",
            now,
        )
        .unwrap();
        shoumen_server::records::returnees::add_rule(c, COMMUNITY, "", "Pledge", None, None, now).unwrap();
        Ok(())
    })
    .unwrap();
}

fn hidden_value(page: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let at = page.find(&key)? + key.len();
    Some(page[at..at + page[at..].find('"')?].to_string())
}

/// One returnee registers at `base`; the receipt's JSON, or `None` if the
/// process died on the way (the next one is tried).
pub fn register_returnee(base: &str, phone: &str) -> Option<String> {
    register_returnee_at(base, phone).map(|(_, receipt)| receipt)
}

/// [`register_returnee`], with the receipt page's path as well.
#[allow(dead_code)]
pub fn register_returnee_at(base: &str, phone: &str) -> Option<(String, String)> {
    let b = Browser::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let send = |url: String, form: &[(String, String)]| -> Option<(u16, String, Option<String>)> {
        let r = b.post(url).form(form).send().ok()?;
        let status = r.status().as_u16();
        let location = r.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string);
        Some((status, r.text().ok()?, location))
    };
    let page = b.get(format!("{base}/r/{COMMUNITY}")).send().ok()?.text().ok()?;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut form: Vec<(String, String)> = [
        ("token", hidden_value(&page, "token")?.as_str()),
        ("name", "王芳"),
        ("phone", phone),
        ("unit", "3-502"),
        ("origin", "110101"),
        ("arrival", &today),
        ("travel", "train"),
        ("temperature", "36.5"),
        ("symptoms", "no"),
        ("contact", "no"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (_, page, _) = send(format!("{base}/r/{COMMUNITY}"), &form)?;
    form.push(("document".into(), hidden_value(&page, "document")?));
    form.push(("version".into(), hidden_value(&page, "version")?));
    for (k, v) in [("signature", "M10 20 L30 40"), ("signed_name", "王芳"), ("confirm", "yes")] {
        form.push((k.into(), v.into()));
    }
    let (status, _, location) = send(format!("{base}/r/{COMMUNITY}/sign"), &form)?;
    if status != 303 {
        return None;
    }
    let location = location?;
    let receipt = b.get(format!("{base}{location}/json")).send().ok()?.text().ok()?;
    Some((location, receipt))
}

/// The server binary serving HTTPS on 127.0.0.1 from database `db`, with a
/// self-signed certificate for "localhost" written to `dir/cert.pem` (its
/// own CA); the process and its URL, named localhost as the certificate is.
pub fn https_server(dir: &Path, db: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shoumen-server"))
        .arg("--db")
        .arg(db)
        .args(["--listen", "127.0.0.1:0", "--cert"])
        .arg(dir.join("cert.pem"))
        .arg("--key")
        .arg(dir.join("key.pem"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap().replace("127.0.0.1", "localhost");
    assert!(url.starts_with("https://"), "{line}");
    (child, url)
}
