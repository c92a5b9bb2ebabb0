//! The updater through real dpkg, with the power cut at every phase (issue
//! 31). A Debian 12 root made with debootstrap stands for the kiosk's card;
//! `shoumen-update --root` runs dpkg there (maintainer scripts chrooted into
//! it). The kiosk is played by this test: when the updater's state says a
//! new version is being tested, it writes the self-test that version's
//! package says it would pass or fail. The packages are made here with
//! dpkg-deb: 1.0-1 (installed first), 2.0-1 (good), 3.0-1 (fails its
//! self-test); their maintainer scripts leave marks and pause, so that a
//! cut lands inside dpkg's unpack (preinst) or configure (postinst).
//!
//! A cut is SIGKILL to the updater's whole process group (the updater,
//! dpkg, the maintainer script): nothing runs after it, as after a power
//! cut; a boot is `shoumen-update recover` (as the unit before the kiosk
//! does), the kiosk starting, then `shoumen-update run`. After every cut
//! the card must hold a fully installed, working version, and the outcome
//! must be the one the cut allows.
//!
//! Needs root, dpkg and debootstrap (or SHOUMEN_TEST_DEB_ROOT, a Debian
//! root to copy); skipped with the reason otherwise. The root is made once
//! in target/update-root and copied once per test: one card, reset to
//! 1.0-1 with dpkg before each run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shoumen_protocol::release::Release;
use shoumen_update::self_test::{Check, SelfTest};
use shoumen_update::state::{Phase, State};

mod support;
use support::{cut, outcome_words, sh, spawn, Cut};

const BIN: &str = env!("CARGO_BIN_EXE_shoumen-update");

/// A kiosk package of `version` (architecture "all", 2 MiB).
fn package(dir: &Path, version: &str, self_test: &str) -> PathBuf {
    support::package(dir, version, "all", self_test, 2 << 20)
}

/// One kiosk's card: a copy of the root, made once (copying it was most of
/// a run's time), then [`Card::reset`] before each run.
struct Card {
    dir: PathBuf,
    root: PathBuf,
    own: PathBuf,
    kiosk: PathBuf,
    config: PathBuf,
}

impl Card {
    fn new(base: &Path, dir: &Path) -> Card {
        let root = dir.join("root");
        sh(Command::new("cp").arg("-a").arg(base).arg(&root));
        Card {
            dir: dir.to_path_buf(),
            own: dir.join("own"),
            kiosk: dir.join("data/update"),
            config: dir.join("kiosk.toml"),
            root,
        }
    }

    /// As a card fresh from the image, nothing left of the last run.
    fn reset(&self, first: &Path, vkey: &str) {
        support::reset_card(&self.dir, &self.root, first, vkey);
    }

    fn updater(&self, command: &str) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config").arg(&self.config).arg("--root").arg(&self.root).arg("--own").arg(&self.own).arg(command);
        c.env("RUST_LOG", "warn");
        c
    }

    /// The kiosk leaves a release and asks to install it.
    fn offer(&self, deb: &Path, note: &str) {
        std::fs::write(self.kiosk.join("pending.note"), note).unwrap();
        std::fs::copy(deb, self.kiosk.join("pending.deb")).unwrap();
        std::fs::write(self.kiosk.join("install-now"), "").unwrap();
    }

    fn state(&self) -> State {
        std::fs::read(self.own.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn mark(&self, name: &str) -> bool {
        self.root.join("var/lib/marks").join(name).exists()
    }

    fn working(&self) -> Result<String, String> {
        support::working(&self.root)
    }

    /// Plays the kiosk: whenever a version is being tested, writes the
    /// self-test its package says (once per test), unless held.
    fn kiosk(self: &Arc<Self>, hold: Arc<AtomicBool>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        let card = Arc::clone(self);
        std::thread::spawn(move || {
            let mut done_since = None;
            while !stop.load(Ordering::SeqCst) {
                let phase = card.state().phase;
                if std::env::var("SHOUMEN_TEST_DEBUG").is_ok() {
                    eprintln!("kiosk sees {phase:?} hold {} done {done_since:?}", hold.load(Ordering::SeqCst));
                }
                if let Phase::Testing { to, since_ms, .. } = phase {
                    if !hold.load(Ordering::SeqCst) && done_since != Some(since_ms) {
                        if let Ok(version) = card.working() {
                            let verdict =
                                std::fs::read_to_string(card.root.join("usr/share/shoumen/self-test")).unwrap();
                            let test = SelfTest {
                                version: version.clone(),
                                at_ms: now_ms(),
                                checks: vec![Check {
                                    name: "camera".into(),
                                    ok: verdict.trim() == "ok",
                                    detail: verdict.trim().into(),
                                }],
                            };
                            std::fs::write(card.kiosk.join("self-test.json"), serde_json::to_vec(&test).unwrap())
                                .unwrap();
                            if version == to {
                                done_since = Some(since_ms);
                            }
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

struct Run {
    cut: Cut,
    release: &'static str,
    outcome: String,
    version: String,
}

/// One update of the card from 1.0-1 to `deb`, cut at `cut`, then booted.
fn update(card: &Arc<Card>, debs: &Debs, deb: &Path, version: &'static str, cut_at: Cut) -> Run {
    card.reset(&debs.first, &debs.vkey);
    let note = Release::of_file("shoumen", version, "all", &std::fs::read(deb).unwrap()).sign(&debs.skey).unwrap();
    card.offer(deb, &note);
    if let Cut::Download = cut_at {
        let bytes = std::fs::read(deb).unwrap();
        std::fs::write(card.kiosk.join("pending.deb"), &bytes[..bytes.len() / 2]).unwrap();
    }
    let (hold, stop) = (Arc::new(AtomicBool::new(matches!(cut_at, Cut::Restart))), Arc::new(AtomicBool::new(false)));
    let kiosk = card.kiosk(hold.clone(), stop.clone());
    let mut child = spawn(card.updater("run"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_cut = |card: &Card| -> bool {
        match cut_at.reached(&card.root, &card.state(), version) {
            Some(reached) => reached,
            None => {
                cut_at == Cut::SelfTest
                    && matches!(card.state().phase, Phase::Testing { .. })
                    && card.kiosk.join("self-test.json").exists()
            }
        }
    };
    let mut was_cut = false;
    loop {
        if at_cut(card) {
            cut(&mut child);
            was_cut = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the update did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(was_cut || matches!(cut_at, Cut::None | Cut::Download), "{cut_at:?}: the cut's moment never came");
    if was_cut && matches!(cut_at, Cut::UnpackTwice) {
        // The next boot's retry is cut in the same place.
        std::fs::remove_file(card.root.join(format!("var/lib/marks/preinst-{version}"))).unwrap();
        let mut again = spawn(card.updater("recover"));
        while !card.mark(&format!("preinst-{version}")) {
            assert!(again.try_wait().unwrap().is_none(), "the boot after a cut did not try the install again");
            std::thread::sleep(Duration::from_millis(5));
        }
        cut(&mut again);
    }
    if was_cut {
        // The boot: recover before the kiosk, the kiosk, then the updater.
        hold.store(false, Ordering::SeqCst);
        let out = card.updater("recover").output().unwrap();
        assert!(out.status.success(), "recover after {cut_at:?}: {}", String::from_utf8_lossy(&out.stderr));
        let out = card.updater("run").output().unwrap();
        assert!(out.status.success(), "run after {cut_at:?}: {}", String::from_utf8_lossy(&out.stderr));
    } else {
        let status = child.wait().unwrap();
        assert!(status.success(), "{cut_at:?}: the updater failed");
    }
    stop.store(true, Ordering::SeqCst);
    kiosk.join().unwrap();
    let state = card.state();
    assert_eq!(state.phase, Phase::Idle, "{cut_at:?}: the update is still under way after the boot");
    let version_now = card.working().unwrap_or_else(|e| panic!("after a cut at {cut_at:?}: {e}"));
    let outcome = outcome_words(state.last.as_ref());
    Run { cut: cut_at, release: version, outcome, version: version_now }
}

struct Debs {
    first: PathBuf,
    good: PathBuf,
    bad: PathBuf,
    skey: String,
    vkey: String,
}

#[test]
fn a_power_cut_at_every_phase_of_an_update_leaves_a_working_kiosk_and_a_failing_release_rolls_back() {
    let base = match support::base_root(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/update-root"))) {
        Ok(root) => root,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, "shoumen-release-test");
    let debs = Debs {
        first: package(dir.path(), "1.0-1", "ok"),
        good: package(dir.path(), "2.0-1", "ok"),
        bad: package(dir.path(), "3.0-1", "fail: no camera frames"),
        skey,
        vkey,
    };
    let card_dir = tempfile::tempdir().unwrap();
    let card = Arc::new(Card::new(&base, card_dir.path()));
    let mut runs = Vec::new();
    use Cut::*;
    for cut_at in
        [None, Download, Unpack, Unpacked, Configure, Restart, SelfTest, UnpackTwice].into_iter().filter(Cut::chosen)
    {
        runs.push(update(&card, &debs, &debs.good, "2.0-1", cut_at));
    }
    for cut_at in [None, Unpack, Configure, Restart, Rollback].into_iter().filter(Cut::chosen) {
        runs.push(update(&card, &debs, &debs.bad, "3.0-1", cut_at));
    }
    println!("{:<10} {:<8} {:<48} version after", "cut", "release", "outcome");
    for r in &runs {
        println!("{:<10} {:<8} {:<48} {}", format!("{:?}", r.cut), r.release, r.outcome, r.version);
    }
    for r in &runs {
        let want = match (r.release, r.cut) {
            (_, Download) => ("refused", "1.0-1"),
            (_, UnpackTwice) => ("2.0-1 rolled back to 1.0-1 (the install was interrupted 2 times", "1.0-1"),
            ("2.0-1", _) => ("installed 2.0-1", "2.0-1"),
            _ => ("3.0-1 rolled back to 1.0-1", "1.0-1"),
        };
        assert!(r.outcome.starts_with(want.0), "{:?} {}: {}", r.cut, r.release, r.outcome);
        assert_eq!(r.version, want.1, "{:?} {}", r.cut, r.release);
    }
    let cuts: usize = runs
        .iter()
        .map(|r| match r.cut {
            None => 0,
            UnpackTwice => 2,
            _ => 1,
        })
        .sum();
    println!("{} updates, {cuts} power cuts: every update ends on a working version", runs.len());
}
