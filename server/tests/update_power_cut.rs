//! An update taken **through the server**, with the power cut at every
//! phase (issue 31): the district adds signed releases and starts a
//! rollout; a kiosk process (this test binary again, running the kiosk's
//! own sync thread: heartbeat report, the offer, the download in parts,
//! the quiet-hours request, the self-test) fetches it; the updater
//! (`shoumen-update --root`) installs it with real dpkg into a Debian root
//! made with debootstrap, which stands for the kiosk's card.
//!
//! This test plays systemd: it starts the updater when the kiosk asks
//! (shoumen-update.path), restarts the kiosk when the updater would, and
//! boots the card after a cut: `shoumen-update recover`, the kiosk, then
//! `shoumen-update run`. A cut is SIGKILL to every process of the card
//! (the kiosk's and the updater's process groups, dpkg and maintainer
//! scripts among them). After each cut the card must run a fully
//! installed version, and the server must hear the outcome the cut
//! allows: the good release installed, the bad one rolled back by its
//! failing self-test and its rollout halted.
//!
//! Needs root, dpkg and a Debian root (made by debootstrap, shared with
//! the updater's power-cut test in target/update-root, or
//! SHOUMEN_TEST_DEB_ROOT) and the `shoumen-update` binary; skipped with the
//! reason otherwise.

mod common;

#[path = "../../crates/update/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use shoumen_client::sync::{self, LoopConfig, SyncLink};
use shoumen_client::update::{QuietHours, Updates};
use shoumen_protocol::release::{self, files, Outcome, Release, PART_BYTES};
use shoumen_protocol::sync::HealthItem;
use shoumen_server::records::updates;
use shoumen_update::state::{Phase, State};
use support::{cut, outcome_words, sh, Cut};

/// Where the kiosk process finds its card.
const KIOSK_ENV: &str = "SHOUMEN_TEST_UPDATE_CARD";

/// The kiosk: the sync thread as the kiosk runs it, with this card's
/// installed version, its devices' health as its package says, quiet hours
/// around now and nobody at the gate. Runs until it is killed.
#[test]
#[ignore = "the kiosk process of the power-cut test below, which starts it"]
fn kiosk_process() {
    let Ok(card) = std::env::var(KIOSK_ENV) else { return };
    let card = PathBuf::from(card);
    let root = card.join("root");
    let installed = support::working(&root).expect("the kiosk starts only on a working version");
    let verdict = std::fs::read_to_string(root.join("usr/share/shoumen/self-test")).unwrap();
    let camera_ok = verdict.trim() == "ok";
    let health = ["camera", "thermometer", "gpio", "store"]
        .iter()
        .map(|d| {
            let ok = *d != "camera" || camera_ok;
            HealthItem { device: (*d).into(), ok, state: if ok { "ok".into() } else { verdict.trim().into() } }
        })
        .collect();
    let link = SyncLink::default();
    *link.health.lock().unwrap() = health;
    let now_min = (shoumen_server::db::now_ms() / 60_000).rem_euclid(1440) as u32;
    let quiet = QuietHours { from_min: (now_min + 1439) % 1440, to_min: (now_min + 120) % 1440, utc_offset_min: 0 };
    let config = LoopConfig {
        interval: Duration::from_millis(150),
        client: fast_client(),
        updates: Some(Updates {
            dir: card.join("data/update"),
            keys: vec![std::fs::read_to_string(card.join("release.pub")).unwrap()],
            installed,
            quiet,
            idle: Duration::ZERO,
            startup_checks: Vec::new(),
        }),
        self_test_after: Duration::from_millis(500),
        ..Default::default()
    };
    let clock = shoumen_client::clock::SystemClock::new();
    let (events, _core) = std::sync::mpsc::channel();
    let (_wake, wake) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = sync::spawn(card.join("kiosk.db"), clock, events, link, wake, config, stop).unwrap();
    thread.join().unwrap();
}

struct Releases {
    first: PathBuf,
    skey: String,
    vkey: String,
    /// (version, package, signed note)
    stored: Vec<(&'static str, PathBuf, String)>,
}

/// One kiosk's card and the processes on it.
struct Card {
    dir: PathBuf,
    root: PathBuf,
    own: PathBuf,
    update: PathBuf,
    config: PathBuf,
    kiosk: Option<Child>,
    updater: Option<Child>,
    /// The `since` of the last test the kiosk was restarted for.
    restarted_for: Option<i64>,
    boots: usize,
}

impl Card {
    /// A copy of the Debian root (once: copying it is most of a run's
    /// time), then [`Card::reset`] before each run.
    fn new(base: &Path, dir: &Path) -> Card {
        let root = dir.join("root");
        sh(Command::new("cp").arg("-a").arg(base).arg(&root));
        Card {
            dir: dir.to_path_buf(),
            own: dir.join("own"),
            update: dir.join("data/update"),
            config: dir.join("kiosk.toml"),
            root,
            kiosk: None,
            updater: None,
            restarted_for: None,
            boots: 0,
        }
    }

    /// A kiosk that runs 1.0-1 (installed again if a run left another),
    /// with it kept, no update history and a store not yet enrolled.
    fn reset(&mut self, rel: &Releases) {
        self.power_cut();
        (self.restarted_for, self.boots) = (None, 0);
        for db in ["kiosk.db", "kiosk.db-wal", "kiosk.db-shm"] {
            let _ = std::fs::remove_file(self.dir.join(db));
        }
        std::fs::write(self.dir.join("release.pub"), &rel.vkey).unwrap();
        support::reset_card(&self.dir, &self.root, &rel.first, &rel.vkey);
    }

    fn updater(&self, command: &str) -> Command {
        let bin = Path::new(env!("CARGO_BIN_EXE_shoumen-server")).with_file_name("shoumen-update");
        let mut c = Command::new(bin);
        c.arg("--config").arg(&self.config).arg("--root").arg(&self.root).arg("--own").arg(&self.own).arg(command);
        c.env("RUST_LOG", "warn");
        c
    }

    fn start_kiosk(&mut self) {
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args(["kiosk_process", "--exact", "--ignored", "--nocapture"]).env(KIOSK_ENV, &self.dir);
        c.env("RUST_LOG", "warn");
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("kiosk.log")).unwrap();
        c.stdout(Stdio::null()).stderr(log);
        self.kiosk = Some(c.spawn().unwrap());
    }

    fn stop_kiosk(&mut self) {
        if let Some(mut k) = self.kiosk.take() {
            cut(&mut k);
        }
    }

    /// The power goes: every process on the card dies at once.
    fn power_cut(&mut self) {
        self.stop_kiosk();
        if let Some(mut u) = self.updater.take() {
            cut(&mut u);
        }
    }

    /// The boot: the recovery unit, the kiosk, then the updater's run.
    fn boot(&mut self) {
        self.boots += 1;
        let out = self.updater("recover").output().unwrap();
        assert!(out.status.success(), "recover: {}", String::from_utf8_lossy(&out.stderr));
        self.start_kiosk();
        self.updater = Some(support::spawn(self.updater("run")));
    }

    fn state(&self) -> State {
        std::fs::read(self.own.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// systemd's part: the updater when the kiosk asks, the kiosk
    /// restarted when the updater restarts it (a new version to test, the
    /// old one back).
    fn systemd(&mut self) {
        if let Some(u) = &mut self.updater {
            if u.try_wait().unwrap().is_some() {
                let u = self.updater.take().unwrap();
                let out = u.wait_with_output().unwrap();
                assert!(out.status.success(), "the updater failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        if self.updater.is_none() && self.update.join(files::INSTALL_NOW).exists() {
            self.updater = Some(support::spawn(self.updater("run")));
        }
        let state = self.state();
        let restart = match (&state.phase, &state.last) {
            (Phase::Testing { since_ms, .. }, _) => Some(*since_ms),
            (Phase::Idle, Some(Outcome::RolledBack { at_ms, .. })) => Some(-at_ms),
            _ => None,
        };
        if restart.is_some() && restart != self.restarted_for {
            self.restarted_for = restart;
            self.stop_kiosk();
            self.start_kiosk();
        }
    }

    fn part_bytes(&self) -> u64 {
        std::fs::metadata(self.update.join("pending.deb.part")).map_or(0, |m| m.len())
    }
}

struct Run {
    cut: Cut,
    release: &'static str,
    /// What the server heard: the gate's installed version and outcome.
    heard: String,
    version: String,
    boots: usize,
    halted: Option<String>,
}

/// One kiosk on 1.0-1, a server with the releases, a rollout of `version`
/// started, the power cut at `cut_at`; until the server hears the outcome.
fn update(card: &mut Card, rel: &Releases, version: &'static str, cut_at: Cut) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.silent_check_every = Duration::from_millis(100);
        c.rollout_hold = Duration::ZERO;
    });
    for (_, deb, note) in &rel.stored {
        let (n, d, k) = (note.clone(), std::fs::read(deb).unwrap(), vec![rel.vkey.clone()]);
        server.db.call_blocking(move |c| Ok(updates::add_release(c, &n, &d, &k, 0))).unwrap().unwrap();
    }
    card.reset(rel);
    let mut kiosk = Kiosk::new(&card.dir, "kiosk");
    kiosk.enroll(&server.url(), &server.token("East gate"));
    drop(kiosk);
    card.start_kiosk();
    card.updater = Some(support::spawn(card.updater("run")));
    let gate = || server.db.call_blocking(|c| updates::gates(c, None)).unwrap().remove(0);
    let deadline = Instant::now() + Duration::from_secs(90);
    while gate().installed.as_deref() != Some("1.0-1") {
        assert!(Instant::now() < deadline, "the kiosk never reported 1.0-1: see {}/kiosk.log", card.dir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    server
        .db
        .call_blocking(move |c| Ok(updates::start(c, version, 50, "test", shoumen_server::db::now_ms())))
        .unwrap()
        .unwrap();

    let at_cut = |card: &Card| -> bool {
        let state = card.state();
        match cut_at.reached(&card.root, &state, version) {
            Some(reached) => reached,
            None => match cut_at {
                Cut::Download => card.part_bytes() >= PART_BYTES,
                Cut::SelfTest => {
                    matches!(state.phase, Phase::Testing { .. })
                        && std::fs::read(card.update.join(files::SELF_TEST))
                            .ok()
                            .and_then(|b| serde_json::from_slice::<release::SelfTest>(&b).ok())
                            .is_some_and(|t| t.version == version)
                }
                _ => false,
            },
        }
    };
    let want = if version == "2.0-1" { "2.0-1" } else { "1.0-1" };
    let mut was_cut = false;
    let heard = loop {
        if !was_cut && at_cut(card) {
            card.power_cut();
            was_cut = true;
            card.boot();
        }
        card.systemd();
        let g = gate();
        let settled = card.updater.is_none() && matches!(card.state().phase, Phase::Idle);
        if settled && g.installed.as_deref() == Some(want) && g.last.is_some() {
            break g;
        }
        assert!(
            Instant::now() < deadline,
            "{cut_at:?} {version}: the server did not hear the outcome (it has {g:?}); see {}/kiosk.log",
            card.dir.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(was_cut || cut_at == Cut::None, "{cut_at:?} {version}: the cut's moment never came");
    card.power_cut();
    let version_now = support::working(&card.root).unwrap_or_else(|e| panic!("after a cut at {cut_at:?}: {e}"));
    let halted = server.db.call_blocking(updates::latest).unwrap().and_then(|(r, _)| r.halted);
    let heard = outcome_words(heard.last.as_ref());
    Run { cut: cut_at, release: version, heard, version: version_now, boots: card.boots, halted }
}

#[test]
fn an_update_through_the_server_survives_a_power_cut_at_every_phase_and_a_failing_one_rolls_back_and_halts() {
    let base = match support::base_root(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/update-root"))) {
        Ok(root) => root,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let updater = Path::new(env!("CARGO_BIN_EXE_shoumen-server")).with_file_name("shoumen-update");
    if !updater.exists() {
        eprintln!("skipped: {} is not built (cargo test --workspace builds it)", updater.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let arch = release::debian_arch();
    let (skey, vkey) = release::generate_key(&mut rand::rngs::OsRng, "shoumen-release.test");
    // Three and a half parts: the kiosk fetches two a round.
    let size = PART_BYTES as usize * 7 / 2;
    let mut rel =
        Releases { first: support::package(dir.path(), "1.0-1", arch, "ok", size), skey, vkey, stored: Vec::new() };
    for (version, verdict) in [("2.0-1", "ok"), ("3.0-1", "fail: no camera frames")] {
        let deb = support::package(dir.path(), version, arch, verdict, size);
        let note = Release::of_file("shoumen", version, arch, &std::fs::read(&deb).unwrap()).sign(&rel.skey).unwrap();
        rel.stored.push((version, deb, note));
    }
    use Cut::*;
    let card_dir = dir.path().join("card");
    std::fs::create_dir_all(&card_dir).unwrap();
    let mut card = Card::new(&base, &card_dir);
    let mut runs = Vec::new();
    for cut_at in [None, Download, Unpack, Unpacked, Configure, Restart, SelfTest].into_iter().filter(Cut::chosen) {
        runs.push(update(&mut card, &rel, "2.0-1", cut_at));
    }
    for cut_at in [None, Download, Unpack, Configure, Restart, SelfTest, Rollback].into_iter().filter(Cut::chosen) {
        runs.push(update(&mut card, &rel, "3.0-1", cut_at));
    }
    println!("{:<9} {:<8} {:<6} {:<72} version after", "cut", "release", "boots", "the server heard");
    for r in &runs {
        println!("{:<9} {:<8} {:<6} {:<72} {}", format!("{:?}", r.cut), r.release, r.boots, r.heard, r.version);
    }
    for r in &runs {
        let (heard, version) = match r.release {
            "2.0-1" => ("installed 2.0-1", "2.0-1"),
            _ => ("3.0-1 rolled back to 1.0-1 (the self-test failed: camera", "1.0-1"),
        };
        assert!(r.heard.starts_with(heard), "{:?} {}: the server heard {}", r.cut, r.release, r.heard);
        assert_eq!(r.version, version, "{:?} {}", r.cut, r.release);
        match r.release {
            "2.0-1" => assert_eq!(r.halted, Option::None, "{:?}: a good release is not halted", r.cut),
            _ => assert!(
                r.halted.as_deref().is_some_and(|h| h.contains("camera")),
                "{:?}: the bad release's rollout is halted with the reason: {:?}",
                r.cut,
                r.halted
            ),
        }
    }
    let cuts = runs.iter().filter(|r| r.cut != None).count();
    println!("{} updates through the server, {cuts} power cuts: every one ends on a working version", runs.len());
}
