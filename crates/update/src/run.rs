//! The updater's work: [`install`] takes the kiosk's request, [`apply`]
//! walks the phases, [`recover`] picks up after a power cut.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shoumen_protocol::release::{compare_versions, Release, ReleaseError};

pub use crate::error::UpdateError;
use crate::files::{write_durably, Paths};
use crate::host::Host;
use crate::self_test::SelfTest;
use crate::state::{Outcome, Phase, State, MOST_ATTEMPTS};

/// The updater's settings, from the kiosk's configuration file.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The package it updates.
    pub package: String,
    /// Signed-note verifier keys of the releases it installs.
    pub release_keys: Vec<String>,
    /// How long the new version has to pass its self-test.
    pub test_window: Duration,
}

/// Whether [`apply`] waits for a self-test, or stops at it (at boot, before
/// the kiosk that runs it has started).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtTest {
    Wait,
    Stop,
}

/// Installs the release the kiosk left in its `update/` directory, if it
/// asked (`install-now`), after finishing whatever was interrupted.
/// Returns how it ended, or `None` if there was nothing to do.
pub fn install(host: &mut dyn Host, paths: &Paths, settings: &Settings) -> Result<Option<Outcome>, UpdateError> {
    let mut state = recover(host, paths, settings, AtTest::Wait)?;
    let asked = paths.install_now().exists();
    let _ = std::fs::remove_file(paths.install_now());
    let note = match std::fs::read_to_string(paths.pending_note()) {
        Ok(note) if asked => note,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if let Some(version) = settled(&state, &note, settings) {
        // The kiosk asked again for what this updater has already done
        // (it fetched the release again while the install ran): its
        // outcome stands, and the kiosk keeps hearing it.
        tracing::info!(version, "this release was already installed or rolled back here; nothing to do");
        clear_pending(paths);
        return Ok(None);
    }
    let release = match checked(host, paths, settings, &state, &note) {
        Ok(release) => release,
        Err(refusal) => {
            tracing::warn!(why = %refusal.why, "the update is refused");
            clear_pending(paths);
            state.last = Some(Outcome::Refused { version: refusal.version, why: refusal.why, at_ms: host.now_ms() });
            finish(paths, &state)?;
            return Ok(state.last);
        }
    };
    let from = host.installed(&settings.package)?.ok_or_else(|| UpdateError::NotInstalled(settings.package.clone()))?;
    clear_pending(paths);
    // The updater that works now is kept before dpkg replaces it: a power
    // cut in the first update is recovered by it, not by the new one.
    if !paths.own.join("shoumen-update").exists() {
        keep_updater(host, paths);
    }
    tracing::info!(from, to = release.version, "installing");
    state.phase = Phase::Unpacking { to: release.version.clone(), from, attempt: 1 };
    paths.save(&state)?;
    let state = apply(host, paths, settings, state, AtTest::Wait)?;
    Ok(state.last)
}

/// The pending release's version if the last update already settled it
/// (installed, or rolled back).
fn settled(state: &State, note: &str, settings: &Settings) -> Option<String> {
    let version = Release::open(note, &settings.release_keys).ok()?.version;
    let done = match &state.last {
        Some(Outcome::Installed { version: v, .. }) => *v == version,
        Some(Outcome::RolledBack { failed, .. }) => *failed == version,
        _ => false,
    };
    done.then_some(version)
}

struct Refusal {
    version: String,
    why: String,
}

/// The release, checked again here (the kiosk's user wrote these files):
/// signed by a release key, the file the one signed, newer than what is
/// installed, not one that failed here, and a package kept to go back to.
/// The checked file is copied to the updater's own directory, which is the
/// only copy dpkg will read.
fn checked(
    host: &mut dyn Host,
    paths: &Paths,
    settings: &Settings,
    state: &State,
    note: &str,
) -> Result<Release, Refusal> {
    let refuse = |version: &str, why: String| Refusal { version: version.to_string(), why };
    let release = Release::open(note, &settings.release_keys).map_err(|e| refuse("", e.to_string()))?;
    let version = release.version.as_str();
    if release.package != settings.package {
        return Err(refuse(version, format!("the release is of {}, not {}", release.package, settings.package)));
    }
    if state.failed.iter().any(|v| v == version) {
        return Err(refuse(version, format!("version {version} failed on this kiosk before")));
    }
    let installed = host.installed(&settings.package).map_err(|e| refuse(version, e.to_string()))?;
    let Some(from) = installed else {
        return Err(refuse(version, format!("{} is not installed", settings.package)));
    };
    if compare_versions(version, &from) != std::cmp::Ordering::Greater {
        return Err(refuse(version, format!("version {version} is not newer than the installed {from}")));
    }
    if kept(paths, &settings.package, &from).is_none() {
        return Err(refuse(
            version,
            format!(
                "no copy of the installed version {from} is kept in {}: there would be nothing to roll back to",
                paths.own.join("kept").display()
            ),
        ));
    }
    let bytes = std::fs::read(paths.pending_deb()).map_err(|e| refuse(version, format!("the package file: {e}")))?;
    release.check_file(&bytes).map_err(|e: ReleaseError| refuse(version, e.to_string()))?;
    write_durably(&paths.kept(&release.file_name()), &bytes).map_err(|e| refuse(version, e.to_string()))?;
    Ok(release)
}

fn clear_pending(paths: &Paths) {
    for p in [paths.pending_note(), paths.pending_deb(), paths.install_now()] {
        let _ = std::fs::remove_file(p);
    }
}

/// The kept package of `version`, if there is one.
pub fn kept(paths: &Paths, package: &str, version: &str) -> Option<PathBuf> {
    let bare = version.split_once(':').map_or(version, |(_, v)| v);
    let prefix = format!("{package}_{bare}_");
    let dir = std::fs::read_dir(paths.own.join("kept")).ok()?;
    dir.flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb")))
}

/// After a boot, or before an install: lets dpkg finish what it was doing
/// (`dpkg --configure -a`, which an interrupted dpkg needs before anything
/// else), then carries on from the phase on disk. An install a cut
/// interrupted is tried again from the start, up to [`MOST_ATTEMPTS`]
/// times, then rolled back.
pub fn recover(host: &mut dyn Host, paths: &Paths, settings: &Settings, at_test: AtTest) -> Result<State, UpdateError> {
    let mut state = paths.load()?;
    if let Err(e) = host.dpkg(&["--configure", "-a"]) {
        tracing::warn!(error = %e, "dpkg --configure -a");
    }
    state.phase = match state.phase.clone() {
        Phase::Idle => return Ok(state),
        Phase::Unpacking { to, from, attempt } | Phase::Configuring { to, from, attempt } => {
            state.interruptions += 1;
            if attempt < MOST_ATTEMPTS {
                tracing::warn!(to, attempt, "an install was interrupted; trying it again");
                Phase::Unpacking { to, from, attempt: attempt + 1 }
            } else {
                let why = format!("the install was interrupted {attempt} times (power cuts?)");
                Phase::RollingBack { failed: to, to: from, why }
            }
        }
        // The new version runs again after the boot: its test starts over.
        Phase::Testing { to, from, .. } => {
            state.interruptions += 1;
            Phase::Testing { to, from, since_ms: host.now_ms() }
        }
        rolling @ Phase::RollingBack { .. } => rolling,
    };
    paths.save(&state)?;
    apply(host, paths, settings, state, at_test)
}

/// Walks the phases from `state` to `Idle`, saving each before its work.
pub fn apply(
    host: &mut dyn Host,
    paths: &Paths,
    settings: &Settings,
    mut state: State,
    at_test: AtTest,
) -> Result<State, UpdateError> {
    let package = settings.package.as_str();
    loop {
        state.phase = match state.phase.clone() {
            Phase::Idle => return Ok(state),
            Phase::Unpacking { to, from, attempt } => {
                let file = kept(paths, package, &to).map(|p| p.display().to_string());
                match file.map(|f| host.dpkg(&["--unpack", &f])) {
                    Some(Ok(())) => Phase::Configuring { to, from, attempt },
                    Some(Err(e)) => Phase::RollingBack { failed: to, to: from, why: e.to_string() },
                    None => {
                        Phase::RollingBack { failed: to.clone(), to: from, why: format!("no kept package of {to}") }
                    }
                }
            }
            Phase::Configuring { to, from, .. } => match host.dpkg(&["--configure", "--pending"]) {
                Ok(()) => {
                    let testing = Phase::Testing { to: to.clone(), from: from.clone(), since_ms: host.now_ms() };
                    state.phase = testing.clone();
                    paths.save(&state)?;
                    match host.restart_kiosk() {
                        Ok(()) => testing,
                        Err(e) => Phase::RollingBack { failed: to, to: from, why: e.to_string() },
                    }
                }
                Err(e) => Phase::RollingBack { failed: to, to: from, why: e.to_string() },
            },
            Phase::Testing { to, from, since_ms } => {
                if at_test == AtTest::Stop {
                    return Ok(state);
                }
                match wait_for_test(host, paths, &to, since_ms, settings.test_window) {
                    Ok(()) => {
                        tracing::info!(version = to, "the new version passed its self-test");
                        state.last = Some(Outcome::Installed { version: to.clone(), at_ms: host.now_ms() });
                        prune_kept(paths, package, &[&to, &from]);
                        keep_updater(host, paths);
                        Phase::Idle
                    }
                    Err(why) => Phase::RollingBack { failed: to, to: from, why },
                }
            }
            Phase::RollingBack { failed, to, why } => {
                tracing::warn!(failed, to, why, "rolling back");
                let file = kept(paths, package, &to)
                    .ok_or_else(|| UpdateError::Dpkg(format!("no kept package of {to} to roll back to")))?;
                // Whatever was half done first; then the kept package,
                // allowed to be older than what is there.
                let _ = host.dpkg(&["--configure", "-a"]);
                host.dpkg(&["--install", &file.display().to_string()])?;
                if let Err(e) = host.restart_kiosk() {
                    tracing::error!(error = %e, "the old version is back but the kiosk did not restart");
                }
                state.last =
                    Some(Outcome::RolledBack { failed: failed.clone(), restored: to, why, at_ms: host.now_ms() });
                if !state.failed.contains(&failed) {
                    state.failed.push(failed);
                }
                Phase::Idle
            }
        };
        if state.phase == Phase::Idle {
            finish(paths, &state)?;
        } else {
            paths.save(&state)?;
        }
    }
}

/// Saves the state and tells the kiosk how the update ended.
fn finish(paths: &Paths, state: &State) -> Result<(), UpdateError> {
    paths.save(state)?;
    if let Some(last) = &state.last {
        let report = serde_json::to_vec_pretty(last).map_err(std::io::Error::other)?;
        if paths.kiosk.exists() {
            write_durably(&paths.report(), &report)?;
        }
    }
    Ok(())
}

/// Waits for the self-test of `version` written after `since_ms`; the
/// reason it failed, or that none came within `window`.
fn wait_for_test(
    host: &mut dyn Host,
    paths: &Paths,
    version: &str,
    since_ms: i64,
    window: Duration,
) -> Result<(), String> {
    // The wait is measured on the monotonic clock: NTP setting the time
    // after a boot must not end (or stretch) it.
    let started = Instant::now();
    loop {
        if let Some(test) = read_test(&paths.self_test()).filter(|t| t.version == version && t.at_ms >= since_ms) {
            return if test.passed() { Ok(()) } else { Err(format!("the self-test failed: {}", test.failures())) };
        }
        if started.elapsed() >= window {
            return Err(format!(
                "no self-test from version {version} within {} s: it did not start, or could not finish its checks",
                window.as_secs()
            ));
        }
        host.sleep(Duration::from_millis(500));
    }
}

fn read_test(path: &Path) -> Option<SelfTest> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Keeps a copy of the updater of the version that passed: the units run
/// it rather than the package's, so that a release with a broken updater
/// can still be rolled back by the one before.
fn keep_updater(host: &dyn Host, paths: &Paths) {
    let installed = host.file("/usr/bin/shoumen-update");
    if installed.exists() {
        let copy = paths.own.join("shoumen-update");
        let tmp = paths.own.join(".shoumen-update.tmp");
        let kept = std::fs::copy(&installed, &tmp).and_then(|_| std::fs::rename(&tmp, &copy));
        if let Err(e) = kept {
            tracing::warn!(error = %e, "cannot keep a copy of the updater");
        }
    }
}

/// Keeps only the packages of `keep` (the running one and the one before).
fn prune_kept(paths: &Paths, package: &str, keep: &[&str]) {
    let keep: Vec<PathBuf> = keep.iter().filter_map(|v| kept(paths, package, v)).collect();
    let Ok(dir) = std::fs::read_dir(paths.own.join("kept")) else { return };
    for entry in dir.flatten() {
        if !keep.contains(&entry.path()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::self_test::Check;

    /// dpkg as a version number; the kiosk's restart writes the self-test
    /// that `passes` says.
    struct Fake {
        installed: Option<String>,
        unpacked: Option<String>,
        passes: bool,
        kiosk: PathBuf,
        calls: Vec<String>,
        now: i64,
    }

    fn version_of(file: &str) -> String {
        file.rsplit('/').next().unwrap().split('_').nth(1).unwrap().to_string()
    }

    impl Host for Fake {
        fn dpkg(&mut self, args: &[&str]) -> Result<(), UpdateError> {
            self.calls.push(args.join(" "));
            match args {
                ["--unpack", file] => self.unpacked = Some(version_of(file)),
                ["--configure", "--pending"] => self.installed = self.unpacked.take().or(self.installed.take()),
                ["--install", file] => self.installed = Some(version_of(file)),
                _ => {}
            }
            Ok(())
        }
        fn installed(&mut self, _: &str) -> Result<Option<String>, UpdateError> {
            Ok(self.installed.clone())
        }
        fn restart_kiosk(&mut self) -> Result<(), UpdateError> {
            let test = SelfTest {
                version: self.installed.clone().unwrap(),
                at_ms: self.now,
                checks: vec![Check { name: "store".into(), ok: self.passes, detail: "written and read".into() }],
            };
            std::fs::write(self.kiosk.join("self-test.json"), serde_json::to_vec(&test).unwrap()).unwrap();
            Ok(())
        }
        fn now_ms(&self) -> i64 {
            self.now
        }
        fn sleep(&mut self, _: Duration) {}
        fn file(&self, path: &str) -> PathBuf {
            self.kiosk.join("root").join(path.trim_start_matches('/'))
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        paths: Paths,
        settings: Settings,
        skey: String,
        host: Fake,
    }

    fn setup(passes: bool) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths { own: dir.path().join("own"), kiosk: dir.path().join("kiosk") };
        std::fs::create_dir_all(paths.own.join("kept")).unwrap();
        std::fs::create_dir_all(&paths.kiosk).unwrap();
        std::fs::write(paths.kept("shoumen_1.0-1_arm64.deb"), b"one").unwrap();
        // The updater of 1.0, as installed.
        std::fs::create_dir_all(paths.kiosk.join("root/usr/bin")).unwrap();
        std::fs::write(paths.kiosk.join("root/usr/bin/shoumen-update"), b"updater 1.0").unwrap();
        let (skey, vkey) = shoumen_protocol::release::generate_key(&mut rand::rngs::OsRng, "release");
        let settings =
            Settings { package: "shoumen".into(), release_keys: vec![vkey], test_window: Duration::from_secs(5) };
        let host = Fake {
            installed: Some("1.0-1".into()),
            unpacked: None,
            passes,
            kiosk: paths.kiosk.clone(),
            calls: vec![],
            now: 1000,
        };
        Setup { _dir: dir, paths, settings, skey, host }
    }

    fn offer(s: &Setup, version: &str, bytes: &[u8], skey: &str) {
        let note = Release::of_file("shoumen", version, "arm64", bytes).sign(skey).unwrap();
        std::fs::write(s.paths.pending_note(), note).unwrap();
        std::fs::write(s.paths.pending_deb(), bytes).unwrap();
        std::fs::write(s.paths.install_now(), "").unwrap();
    }

    fn run(s: &mut Setup) -> Option<Outcome> {
        install(&mut s.host, &s.paths, &s.settings).unwrap()
    }

    #[test]
    fn a_good_release_is_installed_and_the_one_before_kept() {
        let mut s = setup(true);
        let skey = s.skey.clone();
        offer(&s, "2.0-1", b"two", &skey);
        assert!(matches!(run(&mut s), Some(Outcome::Installed { version, .. }) if version == "2.0-1"));
        assert_eq!(s.host.installed.as_deref(), Some("2.0-1"));
        assert!(kept(&s.paths, "shoumen", "1.0-1").is_some() && kept(&s.paths, "shoumen", "2.0-1").is_some());
        assert!(!s.paths.pending_deb().exists() && !s.paths.install_now().exists());
        // Without the kiosk asking, nothing happens; asked again for the
        // same release, nothing either: "installed" stands.
        assert_eq!(run(&mut s), None);
        offer(&s, "2.0-1", b"two", &skey);
        assert_eq!(run(&mut s), None);
        assert!(matches!(s.paths.load().unwrap().last, Some(Outcome::Installed { .. })));
    }

    #[test]
    fn a_release_that_fails_its_self_test_is_rolled_back_and_never_installed_again() {
        let mut s = setup(false);
        let skey = s.skey.clone();
        offer(&s, "2.0-1", b"two", &skey);
        let outcome = run(&mut s);
        assert!(
            matches!(&outcome, Some(Outcome::RolledBack { failed, restored, why, .. })
                if failed == "2.0-1" && restored == "1.0-1" && why.contains("store")),
            "{outcome:?}"
        );
        assert_eq!(s.host.installed.as_deref(), Some("1.0-1"));
        // The updater that was working was kept before the first unpack.
        assert_eq!(std::fs::read(s.paths.own.join("shoumen-update")).unwrap(), b"updater 1.0");
        s.host.passes = true;
        // The kiosk asking again for the same release (it fetched it again
        // while the install ran): nothing happens, the rollback stands.
        let report = std::fs::read(s.paths.report()).unwrap();
        offer(&s, "2.0-1", b"two", &skey);
        assert_eq!(run(&mut s), None);
        assert_eq!(std::fs::read(s.paths.report()).unwrap(), report, "the kiosk still reports the rollback");
        assert!(!s.paths.pending_deb().exists(), "the repeated request is cleared");
        // Later, after other outcomes, it is still refused.
        let mut state = s.paths.load().unwrap();
        state.last = None;
        s.paths.save(&state).unwrap();
        offer(&s, "2.0-1", b"two", &skey);
        assert!(matches!(run(&mut s), Some(Outcome::Refused { why, .. }) if why.contains("failed on this kiosk")));
        assert_eq!(s.host.installed.as_deref(), Some("1.0-1"));
    }

    /// What a server (or someone who took it over) could send that the
    /// updater must refuse before dpkg sees anything.
    #[test]
    fn unsigned_older_or_unreturnable_releases_are_refused_before_dpkg_runs() {
        let mut s = setup(true);
        let skey = s.skey.clone();
        let (other, _) = shoumen_protocol::release::generate_key(&mut rand::rngs::OsRng, "release");
        let refused = |s: &mut Setup, version: &str, key: &str, want: &str| {
            offer(s, version, b"bytes", key);
            let outcome = run(s);
            assert!(
                matches!(&outcome, Some(Outcome::Refused { why, .. }) if why.contains(want)),
                "{want}: {outcome:?}"
            );
        };
        refused(&mut s, "2.0-1", &other, "not signed by a release key");
        refused(&mut s, "1.0-1", &skey, "not newer");
        refused(&mut s, "0.9-1", &skey, "not newer");
        std::fs::remove_file(s.paths.kept("shoumen_1.0-1_arm64.deb")).unwrap();
        refused(&mut s, "2.0-1", &skey, "nothing to roll back to");
        assert!(s.host.calls.iter().all(|c| c == "--configure -a"), "{:?}", s.host.calls);
        assert_eq!(s.host.installed.as_deref(), Some("1.0-1"));
    }
}
