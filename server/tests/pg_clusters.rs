//! PostgreSQL clusters of the test's own (issue 30): failover between a
//! primary and its standby, and TLS.
//!
//! Failover under a pushing kiosk: a primary and a
//! streaming standby (`pg_basebackup -R`), both on this machine; the server
//! is given both hosts in one URL. The primary is killed (`pg_ctl stop -m
//! immediate`, as a crash) and the standby promoted; the server carries on
//! with the new primary without a restart, its `/healthz` says 503 while
//! no host takes writes, and the kiosk re-pushes whatever the new primary
//! lacks. The old primary is rebuilt as the new standby, and it goes again.
//!
//! `SHOUMEN_FAILOVERS=N` (default 1) failovers with asynchronous
//! replication, then N with synchronous; the figures (the time the kiosk
//! could not push, the entries it re-pushed) are printed.
//!
//! TLS: a cluster that takes only TLS connections on 127.0.0.1, with a
//! certificate for `localhost`; the server connects with `sslmode=verify-full`
//! and the certificate's CA, and is refused with a wrong CA or no TLS.
//!
//! Needs root and PostgreSQL 15's binaries (Debian's postgresql-15);
//! skipped otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use shoumen_server::db::Db;
use shoumen_server::{Background, Config};

const BIN: &str = "/usr/lib/postgresql/15/bin";

fn available() -> bool {
    if on_postgres() {
        eprintln!("skipped on the PostgreSQL pass: these clusters are the test's own, tried on the SQLite pass");
        return false;
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if !root || !Path::new(BIN).join("initdb").exists() || !Path::new("/usr/sbin/runuser").exists() {
        eprintln!("skipped: needs root and PostgreSQL 15's binaries (apt-get install postgresql-15)");
        return false;
    }
    true
}

/// Runs one of PostgreSQL's programs as the postgres user.
fn pg(program: &str, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(Path::new(BIN).join(program))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One PostgreSQL instance: its data directory and port; its socket is in
/// the shared directory.
struct Node {
    data: PathBuf,
    port: u16,
}

struct Pair {
    /// Sockets, data and logs; the postgres user's.
    dir: PathBuf,
    nodes: [Node; 2],
    primary: usize,
    synchronous: bool,
}

impl Pair {
    fn new(dir: &Path, synchronous: bool) -> Pair {
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let nodes = [Node { data: dir.join("a"), port: free() }, Node { data: dir.join("b"), port: free() }];
        let mut pair = Pair { dir: dir.to_path_buf(), nodes, primary: 0, synchronous };
        pg("initdb", &["-D", pair.data(0), "-U", "root", "-A", "trust", "--no-sync"]);
        pair.start(0);
        pair.sql(0, "CREATE DATABASE shoumen");
        pair.follow(1);
        pair
    }

    fn sql(&self, i: usize, sql: &str) {
        let port = self.nodes[i].port.to_string();
        pg("psql", &["-h", self.socket(), "-p", &port, "-U", "root", "-d", "postgres", "-qc", sql]);
    }

    /// Synchronous replication on the primary, or off: as a failover
    /// manager does (Patroni's synchronous mode), on while a standby
    /// follows, off while the new primary has none, or it could not commit.
    fn set_synchronous(&self, on: bool) {
        let value = if on { "'*'" } else { "''" };
        self.sql(self.primary, &format!("ALTER SYSTEM SET synchronous_standby_names = {value}"));
        self.sql(self.primary, "SELECT pg_reload_conf()");
    }

    fn data(&self, i: usize) -> &str {
        self.nodes[i].data.to_str().unwrap()
    }

    fn socket(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn start(&self, i: usize) {
        let options = format!("-p {} -k {} -c listen_addresses=''", self.nodes[i].port, self.socket());
        let log = self.dir.join(format!("{i}.log"));
        pg("pg_ctl", &["-D", self.data(i), "-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    /// Makes node `i` a streaming standby of the primary, from a fresh copy.
    fn follow(&mut self, i: usize) {
        let _ = std::fs::remove_dir_all(&self.nodes[i].data);
        let port = self.nodes[self.primary].port.to_string();
        pg(
            "pg_basebackup",
            &["-h", self.socket(), "-p", &port, "-U", "root", "-D", self.data(i), "-R", "-X", "stream", "-c", "fast"],
        );
        self.start(i);
        if self.synchronous {
            self.set_synchronous(true);
        }
    }

    /// Both hosts in one URL, as a district would give them.
    fn url(&self) -> String {
        let socket = self.socket().replace('/', "%2F");
        format!("postgresql://root@{socket}:{},{socket}:{}/shoumen", self.nodes[0].port, self.nodes[1].port)
    }

    /// One host's URL, to read what it holds.
    fn url_of(&self, i: usize) -> String {
        format!("postgresql://root@{}:{}/shoumen", self.socket().replace('/', "%2F"), self.nodes[i].port)
    }

    /// The primary crashes.
    fn crash(&self) {
        pg("pg_ctl", &["-D", self.data(self.primary), "-m", "immediate", "stop"]);
    }

    /// The standby is promoted (as a failover manager would); returns it.
    fn promote(&mut self) -> usize {
        let new = 1 - self.primary;
        pg("pg_ctl", &["-D", self.data(new), "-w", "promote"]);
        self.primary = new;
        if self.synchronous {
            self.set_synchronous(false);
        }
        new
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for i in 0..2 {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl"), "-D", self.data(i), "-m", "immediate", "stop"])
                .output();
        }
    }
}

/// A test directory the postgres user may write.
fn shared_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(Command::new("chown").arg("postgres").arg(dir.path()).status().unwrap().success());
    dir
}

#[test]
fn a_promoted_standby_takes_over_without_a_restart_and_the_kiosk_fills_in_what_it_lacks() {
    if !available() {
        return;
    }
    let rounds: usize = std::env::var("SHOUMEN_FAILOVERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    for synchronous in [false, true] {
        let figures = failovers(rounds, synchronous);
        let mode = if synchronous { "synchronous" } else { "asynchronous" };
        let ms = |f: fn(&Figure) -> Duration| {
            let mut v: Vec<u128> = figures.iter().map(|x| f(x).as_millis()).collect();
            v.sort();
            format!("p50 {} ms, max {} ms", v[v.len() / 2], v[v.len() - 1])
        };
        let lost: Vec<u64> = figures.iter().map(|f| f.lost).collect();
        eprintln!(
            "{mode}: {rounds} failovers; no push after the promotion for {}; from the crash (a health check's \
             wait and the promotion included) {}; acknowledged entries the new primary lacked, re-pushed: {lost:?}",
            ms(|f| f.after_promotion),
            ms(|f| f.from_crash),
        );
        if synchronous {
            assert!(lost.iter().all(|&n| n == 0), "with synchronous replication no acknowledged entry is lost");
        }
    }
}

/// One failover, as the kiosk saw it.
struct Figure {
    /// From the promotion to the kiosk's next good push.
    after_promotion: Duration,
    /// From the crash to it.
    from_crash: Duration,
    /// Entries the old primary acknowledged that the new one lacked.
    lost: u64,
}

/// `rounds` failovers, each as the kiosk saw it.
fn failovers(rounds: usize, synchronous: bool) -> Vec<Figure> {
    let dir = shared_dir();
    let mut pair = Pair::new(dir.path(), synchronous);
    let url = pair.url();
    let db = Db::open(&url).unwrap();
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    db.call_blocking(|c| shoumen_server::db::init(c, COMMUNITY, ADMIN, &hash, shoumen_server::db::now_ms())).unwrap();
    let server =
        Background::start(Db::open(&url).unwrap(), Config { rate_per_minute: 1000, ..Config::default() }).unwrap();
    let base = format!("http://{}", server.addr);
    let token = db
        .call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, COMMUNITY, "North", 3_600_000))
        .unwrap();
    let kdir = tempfile::tempdir().unwrap();
    let mut kiosk = Kiosk::new(kdir.path(), "north");
    kiosk.enroll(&base, &token);
    let health = || reqwest::blocking::get(format!("{base}/healthz")).map(|r| r.status().as_u16()).unwrap_or(0);
    let mut figures = Vec::new();
    for _ in 0..rounds {
        // Pushes of 20 entries back to back; the primary crashes in the
        // middle of one, whichever it is.
        let crashed = std::thread::scope(|s| {
            let crash = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(400));
                pair.crash();
                Instant::now()
            });
            loop {
                kiosk.add(20);
                if kiosk.sync().is_err() {
                    break;
                }
            }
            crash.join().unwrap()
        });
        let acked = kiosk.store.acked_seq().unwrap();
        // No host takes writes: the load balancer is told.
        let told = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            health() == 503
        });
        assert!(told, "/healthz says 503 while no database takes writes");
        assert!(kiosk.sync().is_err(), "nothing takes the push before a promotion");
        let primary = pair.promote();
        let promoted = Instant::now();
        let device = kiosk.store.device_id().to_string();
        let held = Db::open(&pair.url_of(primary))
            .unwrap()
            .call_blocking(move |c| {
                c.scalar("SELECT COUNT(*) FROM entries WHERE device = ?1", shoumen_server::vals![device])
            })
            .unwrap() as u64;
        // The kiosk goes on: entries queue, pushes are tried every 50 ms.
        loop {
            kiosk.add(1);
            if kiosk.sync().is_ok() {
                break;
            }
            assert!(promoted.elapsed() < Duration::from_secs(120), "no push got through after the promotion");
            std::thread::sleep(Duration::from_millis(50));
        }
        figures.push(Figure {
            after_promotion: promoted.elapsed(),
            from_crash: crashed.elapsed(),
            lost: acked - held.min(acked),
        });
        let report = kiosk.sync().unwrap();
        assert_eq!((report.acked, report.queue), (kiosk.store.head_seq().unwrap(), 0));
        // Once the last answer (reused for a second) is stale.
        let ready = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            health() == 200
        });
        assert!(ready, "/healthz says 200 once the new primary takes writes");
        pair.follow(1 - primary);
    }
    // Every entry once, the chain whole, on the last primary.
    let device = kiosk.store.device_id().to_string();
    let last = Db::open(&pair.url_of(pair.primary)).unwrap();
    let d = device.clone();
    let stored = last
        .call_blocking(move |c| c.scalar("SELECT COUNT(*) FROM entries WHERE device = ?1", shoumen_server::vals![d]))
        .unwrap() as u64;
    assert_eq!(stored, kiosk.store.head_seq().unwrap(), "every entry exactly once");
    assert_eq!(
        last.call_blocking(move |c| Ok(shoumen_server::records::ingest::verify_chain(c, &device))).unwrap(),
        Ok(stored)
    );
    drop(server);
    figures
}

#[test]
fn the_server_talks_tls_to_postgresql_and_checks_whom_it_talks_to() {
    if !available() {
        return;
    }
    let dir = shared_dir();
    let cluster = Single::init(dir.path(), "tls");
    let data = cluster.data.clone();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(data.join("server.crt"), cert.cert.pem()).unwrap();
    std::fs::write(data.join("server.key"), cert.key_pair.serialize_pem()).unwrap();
    // Plain connections on the socket (for setting up); TCP only with TLS.
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let wrong = dir.path().join("wrong-ca.pem");
    std::fs::write(&wrong, rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.pem()).unwrap();
    assert!(Command::new("chown").args(["-R", "postgres"]).arg(&data).status().unwrap().success());
    std::fs::set_permissions(data.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    cluster.start("-c listen_addresses=127.0.0.1 -c ssl=on");
    cluster.create("shoumen");
    let port = cluster.port;
    let url = |query: &str| format!("postgresql://root@localhost:{port}/shoumen{query}");
    let ca_query = format!("?sslmode=verify-full&sslrootcert={}", ca.display());
    let db = Db::open(&url(&ca_query)).unwrap_or_else(|e| panic!("verify-full with the right CA: {e}"));
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    db.call_blocking(|c| shoumen_server::db::init(c, COMMUNITY, ADMIN, &hash, shoumen_server::db::now_ms())).unwrap();
    let encrypted = db.call_blocking(|c| {
        c.scalar("SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
    });
    assert_eq!(encrypted.unwrap(), 1, "the connection is encrypted");
    // A kiosk pushes through a server on it.
    let server = Background::start(Db::open(&url(&ca_query)).unwrap(), Config::default()).unwrap();
    let token = db
        .call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, COMMUNITY, "North", 3_600_000))
        .unwrap();
    let kdir = tempfile::tempdir().unwrap();
    let mut kiosk = Kiosk::new(kdir.path(), "north");
    kiosk.enroll(&format!("http://{}", server.addr), &token);
    kiosk.add(10);
    assert_eq!(kiosk.sync().unwrap().acked, 10);
    drop(server);
    // Encrypted without checking whom: libpq's sslmode=require.
    assert!(Db::open(&url("?sslmode=require")).is_ok());

    // Refused, each with a message that says what to check.
    let refused = |query: &str| match Db::open(&url(query)) {
        Ok(_) => panic!("{query}: connected"),
        Err(e) => {
            eprintln!("refused {query:?}: {e}");
            e.to_string()
        }
    };
    let e = refused(&format!("?sslmode=verify-full&sslrootcert={}", wrong.display()));
    assert!(e.contains("certificate"), "a certificate another CA signed: {e}");
    let e = refused("?sslmode=verify-full");
    assert!(e.contains("certificate"), "the public roots do not know a district's own CA: {e}");
    let e = refused("");
    assert!(e.contains("no encryption"), "the database refuses plain connections: {e}");
    let e = refused("?sslmode=verify-ca");
    assert!(e.contains("use sslmode=verify-full"), "{e}");
}

/// One cluster of a test's own: its data in `<dir>/<name>`, its socket in
/// `<dir>`; stopped however the test ends.
struct Single {
    data: PathBuf,
    port: u16,
    socket: String,
}

impl Single {
    fn init(dir: &Path, name: &str) -> Single {
        let data = dir.join(name);
        pg("initdb", &["-D", data.to_str().unwrap(), "-U", "root", "-A", "trust", "--no-sync"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Single { data, port, socket: dir.to_str().unwrap().to_string() }
    }

    /// Starts it on its port and socket, with further `options`.
    fn start(&self, options: &str) {
        let options = format!("-p {} -k {} {options}", self.port, self.socket);
        let log = self.data.with_extension("log");
        pg("pg_ctl", &["-D", self.data.to_str().unwrap(), "-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    fn create(&self, database: &str) {
        let port = self.port.to_string();
        let sql = format!("CREATE DATABASE {database}");
        pg("psql", &["-h", &self.socket, "-p", &port, "-U", "root", "-d", "postgres", "-qc", &sql]);
    }

    /// A database's URL, through the socket.
    fn url(&self, database: &str) -> String {
        format!("postgresql://root@{}:{}/{database}", self.socket.replace('/', "%2F"), self.port)
    }
}

impl Drop for Single {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl"), "-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// `backup` on PostgreSQL is pg_dump's archive; `restore-drill` restores it
/// into an empty scratch database, checks it and names the missing tail,
/// and refuses a scratch database that is not empty.
#[test]
fn a_pg_dump_backup_is_restored_into_a_scratch_database_and_checked() {
    if !available() {
        return;
    }
    let dir = shared_dir();
    let cluster = Single::init(dir.path(), "one");
    cluster.start("-c listen_addresses=''");
    cluster.create("live");
    cluster.create("scratch");
    let url = |name: &str| cluster.url(name);
    let live = Db::open(&url("live")).unwrap();
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    live.call_blocking(|c| shoumen_server::db::init(c, COMMUNITY, ADMIN, &hash, shoumen_server::db::now_ms())).unwrap();
    let server = Background::start(Db::open(&url("live")).unwrap(), Config::default()).unwrap();
    let token = live
        .call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, COMMUNITY, "North", 3_600_000))
        .unwrap();
    let kdir = tempfile::tempdir().unwrap();
    let mut kiosk = Kiosk::new(kdir.path(), "north");
    kiosk.enroll(&format!("http://{}", server.addr), &token);
    kiosk.add(50);
    kiosk.sync().unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_shoumen-server"))
            .arg("--db")
            .arg(url("live"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let backup = dir.path().join("live.dump");
    let (ok, out) = cli(&["backup", backup.to_str().unwrap()]);
    assert!(ok, "{out}");
    kiosk.add(20);
    kiosk.sync().unwrap();

    let device = kiosk.store.device_id().to_string();
    let (ok, out) = cli(&["restore-drill", backup.to_str().unwrap(), "--scratch", &url("scratch")]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("ok       kiosk {device}: chain of 50 entries intact")), "{out}");
    assert!(out.contains(&format!("missing  kiosk {device}: entries 51..70 (20 entries)")), "{out}");
    let (ok, out) = cli(&["restore-drill", backup.to_str().unwrap(), "--scratch", &url("scratch")]);
    assert!(!ok && out.contains("must be an empty database"), "{out}");
    let (ok, out) = cli(&["restore-drill", backup.to_str().unwrap()]);
    assert!(!ok && out.contains("--scratch"), "{out}");
    drop(server);
}

/// A compound's SQLite server moves to PostgreSQL (`migrate`): every row,
/// chain, audit row and evidence record checked on both sides, a second
/// move refused, and the enrolled kiosk keeps pushing to a server on the
/// new database without enrolling again. `SHOUMEN_MIGRATE_ENTRIES` and
/// `SHOUMEN_MIGRATE_REGISTRATIONS` (default 2,000 and 10; the run is
/// 100,000 and 1,000) size it; the time is printed.
#[test]
fn a_compound_moves_from_sqlite_to_postgresql_and_its_kiosk_carries_on() {
    if !available() {
        return;
    }
    let knob = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (entries, registrations) = (knob("SHOUMEN_MIGRATE_ENTRIES", 2_000), knob("SHOUMEN_MIGRATE_REGISTRATIONS", 10));
    let dir = shared_dir();
    // The compound's server, on its SQLite file.
    let file = dir.path().join("compound.db").to_str().unwrap().to_string();
    let db = Db::open(&file).unwrap();
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    db.call_blocking(|c| shoumen_server::db::init(c, COMMUNITY, ADMIN, &hash, shoumen_server::db::now_ms())).unwrap();
    returnee_scene(&db);
    let config = || {
        let mut c = Config { rate_per_minute: 100_000, ..Config::default() };
        // One test address registers them all.
        c.registrations.per_address_day = 1_000_000;
        c.registrations.unit_alert_after = 1_000_000;
        c
    };
    let compound = Background::start(Db::open(&file).unwrap(), config()).unwrap();
    let base = format!("http://{}", compound.addr);
    let token = db
        .call_blocking(|c| shoumen_server::records::ingest::create_enroll_token(c, COMMUNITY, "North", 3_600_000))
        .unwrap();
    let kdir = tempfile::tempdir().unwrap();
    let mut kiosk = Kiosk::new(kdir.path(), "north");
    kiosk.enroll(&base, &token);
    while kiosk.store.head_seq().unwrap() < entries {
        kiosk.add(1_000.min(entries - kiosk.store.head_seq().unwrap()));
        kiosk.sync().unwrap();
    }
    let receipts = (0..registrations).filter_map(|n| register_returnee(&base, &format!("137{n:08}"))).count();
    assert_eq!(receipts as u64, registrations);
    // Its duty roster: a volunteer with a duty pass on a shift.
    db.call_blocking(|c| {
        use shoumen_server::records::roster::{self, Standing};
        let now = shoumen_server::db::now_ms();
        let v = roster::add(c, COMMUNITY, "Wang Fang", "13800000001", "link", Standing::Pending, now).unwrap();
        roster::confirm(c, COMMUNITY, v, "0102030405060708", now)?;
        let s = roster::add_shift(c, COMMUNITY, "North", now + 3_600_000, now + 7_200_000, 1, now).unwrap();
        roster::join(c, COMMUNITY, s, v, now, false).unwrap();
        Ok(())
    })
    .unwrap();
    drop(compound);

    // The district's database, on a cluster of its own.
    let cluster = Single::init(dir.path(), "district");
    cluster.start("-c listen_addresses=''");
    cluster.create("district");
    let url = cluster.url("district");
    let migrate = || {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_shoumen-server"))
            .args(["migrate", "--from", &file, "--to", &url])
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text, started.elapsed())
    };
    let (ok, out, took) = migrate();
    assert!(ok, "{out}");
    eprintln!("migrate: {entries} entries, {registrations} registrations in {took:?}\n{out}");
    let device = kiosk.store.device_id().to_string();
    assert!(
        out.contains(&format!("ok       kiosk {device}: chain of {entries} entries intact: the same in PostgreSQL")),
        "{out}"
    );
    assert!(out.contains(&format!("evidence log of {registrations} records, every hash follows, root")), "{out}");
    let (ok, out, _) = migrate();
    assert!(!ok && out.contains("already holds community"), "a second move is refused: {out}");
    let moved = Db::open(&url).unwrap();
    for table in ["volunteers", "volunteer_passes", "shifts", "shift_people"] {
        let n = moved.call_blocking(move |c| c.scalar(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap();
        assert_eq!(n, 1, "the roster moved with the compound: {table}");
    }

    // The kiosk carries on with the server on PostgreSQL, enrolled as before.
    let district = Background::start(Db::open(&url).unwrap(), config()).unwrap();
    let client = kiosk.client_via(Some(&format!("http://{}", district.addr)));
    kiosk.add(25);
    let report = shoumen_client::sync::sync_once(&mut kiosk.store, &client, &kiosk.clock, &[], &mut |_, _| {}).unwrap();
    assert_eq!((report.acked, report.queue), (entries + 25, 0));
    // New rows get new ids after the copied ones.
    assert!(register_returnee(&format!("http://{}", district.addr), "13600000000").is_some());
    let ids = moved.call_blocking(|c| c.scalar("SELECT COUNT(DISTINCT id) FROM registrations", &[])).unwrap();
    assert_eq!(ids as u64, registrations + 1);
}
