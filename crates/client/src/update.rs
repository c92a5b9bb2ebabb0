//! The kiosk's side of software updates (issue 31), run by the sync
//! thread: what it reports in each heartbeat, the release it fetches and
//! checks when the server offers one, when it asks the updater
//! (`crates/update`, root) to install, and its self-test after a start.
//!
//! The kiosk trusts the offer no more than the server: the note must be
//! signed by one of its own release keys and the file must be the one
//! signed, or nothing is kept. The download goes a few parts per sync
//! round (entries are not held up behind it) into a `.part` file that the
//! next round, or the next boot, carries on. The install is asked for only
//! inside the quiet hours and with nobody at the gate for a while: the
//! updater restarts the kiosk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shoumen_protocol::release::files::{self, write_durably};
use shoumen_protocol::release::{self, Check, Outcome, Release, SelfTest, UpdateOffer, UpdateReport, PART_BYTES};
use shoumen_protocol::sync::HealthItem;

/// Parts fetched per sync round: 2 MiB, a few seconds on a slow line.
const PARTS_PER_ROUND: u64 = 2;
/// The release being fetched into `FETCHING_DEB`.
const FETCHING_NOTE: &str = "fetching.note";
const FETCHING_DEB: &str = "pending.deb.part";

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Release(#[from] release::ReleaseError),
    #[error("the release is for {0}, this kiosk is {1}")]
    WrongArch(String, &'static str),
    #[error("the release is {0} bytes, over the most a kiosk fetches")]
    TooBig(u64),
    #[error("fetching the release: {0}")]
    Fetch(String),
    #[error("a part of the release is {got} bytes, {want} expected")]
    BadPart { got: usize, want: u64 },
    #[error("cannot keep the release in {0}: {1} (is the data directory writable?)")]
    Io(String, std::io::Error),
}

/// Fetches one part of a release: (version, architecture, part) → its
/// bytes, or why not (the sync client's `release_part`).
pub type Fetch<'a> = dyn FnMut(&str, &str, u64) -> Result<Vec<u8>, String> + 'a;

/// The kiosk's quiet hours in its district's time: "01:00-05:00".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub from_min: u32,
    pub to_min: u32,
    pub utc_offset_min: i32,
}

impl QuietHours {
    /// "HH:MM-HH:MM" (the window may run past midnight).
    pub fn parse(text: &str, utc_offset_min: i32) -> Option<QuietHours> {
        let minute = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (a, b) = text.split_once('-')?;
        Some(QuietHours { from_min: minute(a)?, to_min: minute(b)?, utc_offset_min })
    }

    /// Whether `wall_ms` falls inside the window.
    pub fn contains(&self, wall_ms: i64) -> bool {
        let local_min = ((wall_ms / 60_000 + i64::from(self.utc_offset_min)).rem_euclid(1440)) as u32;
        if self.from_min <= self.to_min {
            (self.from_min..self.to_min).contains(&local_min)
        } else {
            local_min >= self.from_min || local_min < self.to_min
        }
    }
}

/// What the kiosk knows to update itself.
#[derive(Clone, Debug)]
pub struct Updates {
    /// `<data_dir>/update`, shared with the updater.
    pub dir: PathBuf,
    /// The release keys of `[update] release_keys`.
    pub keys: Vec<String>,
    /// The package's version as dpkg has it (a kiosk not installed from
    /// the package has no `Updates`: nothing to report or update).
    pub installed: String,
    pub quiet: QuietHours,
    /// How long nobody must have been at the gate before an install.
    pub idle: Duration,
    /// Checks the kiosk made as it started (the decoders reading a
    /// built-in test pattern), added to its self-test.
    pub startup_checks: Vec<Check>,
}

/// The version dpkg has installed of `package`, if it is installed.
pub fn installed_version(package: &str) -> Option<String> {
    let out = std::process::Command::new("dpkg-query")
        .args(["--showformat=${Version}", "--show", package])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let v = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

impl Updates {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn io(&self, e: std::io::Error) -> UpdateError {
        UpdateError::Io(self.dir.display().to_string(), e)
    }

    /// The release downloaded and checked, waiting to be installed.
    fn pending(&self) -> Option<Release> {
        let note = std::fs::read_to_string(self.file(files::PENDING_NOTE)).ok()?;
        let rel = Release::open(&note, &self.keys).ok()?;
        let size = std::fs::metadata(self.file(files::PENDING_DEB)).ok()?.len();
        (size == rel.size).then_some(rel)
    }

    /// Whether the updater's last report already settled `version` here
    /// (rolled back or refused): not fetched again, not asked for again.
    fn settled(&self, version: &str) -> bool {
        match read_json::<Outcome>(&self.file(files::REPORT)) {
            Some(Outcome::Installed { version: v, .. } | Outcome::Refused { version: v, .. }) => v == version,
            Some(Outcome::RolledBack { failed, .. }) => failed == version,
            None => false,
        }
    }

    /// What the heartbeat says of updates.
    pub fn report(&self) -> UpdateReport {
        UpdateReport {
            arch: release::debian_arch().into(),
            installed: self.installed.clone(),
            last: read_json::<Outcome>(&self.file(files::REPORT)),
            waiting: self.pending().map(|r| r.version),
        }
    }

    /// Takes what the server offers: checks its note against this kiosk's
    /// keys, then fetches up to [`PARTS_PER_ROUND`] parts with `fetch`
    /// (version, architecture, part: the sync client's `release_part`);
    /// once whole and checked, it is the pending release. `Ok(true)`: it is
    /// ready.
    pub fn take(&self, fetch: &mut Fetch<'_>, offer: &UpdateOffer) -> Result<bool, UpdateError> {
        let rel = Release::open(&offer.note, &self.keys)?;
        if rel.architecture != release::debian_arch() {
            return Err(UpdateError::WrongArch(rel.architecture, release::debian_arch()));
        }
        if release::compare_versions(&self.installed, &rel.version) != std::cmp::Ordering::Less
            || self.settled(&rel.version)
        {
            return Ok(false);
        }
        if self.pending().is_some_and(|p| p == rel) {
            return Ok(true);
        }
        if rel.size > release::MOST_BYTES {
            return Err(UpdateError::TooBig(rel.size));
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        // Another release than the one half fetched: start again.
        let fetching = std::fs::read_to_string(self.file(FETCHING_NOTE)).ok();
        if fetching.as_deref() != Some(offer.note.as_str()) {
            let _ = std::fs::remove_file(self.file(FETCHING_DEB));
            write_durably(&self.file(FETCHING_NOTE), offer.note.as_bytes()).map_err(|e| self.io(e))?;
        }
        let parts = rel.size.div_ceil(PART_BYTES);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file(FETCHING_DEB))
            .map_err(|e| self.io(e))?;
        // Whole parts only: a part cut off by a power cut is fetched again.
        let have = f.metadata().map_err(|e| self.io(e))?.len() / PART_BYTES;
        f.set_len(have * PART_BYTES).map_err(|e| self.io(e))?;
        for part in (have..parts).take(PARTS_PER_ROUND as usize) {
            let want = PART_BYTES.min(rel.size - part * PART_BYTES);
            let bytes = fetch(&rel.version, &rel.architecture, part).map_err(UpdateError::Fetch)?;
            if bytes.len() as u64 != want {
                return Err(UpdateError::BadPart { got: bytes.len(), want });
            }
            f.write_all(&bytes).map_err(|e| self.io(e))?;
        }
        f.sync_all().map_err(|e| self.io(e))?;
        drop(f);
        if std::fs::metadata(self.file(FETCHING_DEB)).map_err(|e| self.io(e))?.len() < rel.size {
            return Ok(false);
        }
        let bytes = std::fs::read(self.file(FETCHING_DEB)).map_err(|e| self.io(e))?;
        if let Err(e) = rel.check_file(&bytes) {
            let _ = std::fs::remove_file(self.file(FETCHING_DEB));
            return Err(e.into());
        }
        // The package first, then its note: the updater needs both.
        std::fs::rename(self.file(FETCHING_DEB), self.file(files::PENDING_DEB)).map_err(|e| self.io(e))?;
        write_durably(&self.file(files::PENDING_NOTE), offer.note.as_bytes()).map_err(|e| self.io(e))?;
        let _ = std::fs::remove_file(self.file(FETCHING_NOTE));
        tracing::info!(version = rel.version, "release downloaded and checked; it installs in the quiet hours");
        Ok(true)
    }

    /// Asks the updater to install the pending release if it is quiet:
    /// inside the quiet hours, nobody at the gate for `idle`. The version
    /// it asked for, if it did.
    pub fn ask_to_install(&self, wall_ms: i64, idle_for: Duration) -> Result<Option<String>, UpdateError> {
        let Some(rel) = self.pending() else { return Ok(None) };
        if !self.quiet.contains(wall_ms) || idle_for < self.idle || self.file(files::INSTALL_NOW).exists() {
            return Ok(None);
        }
        write_durably(&self.file(files::INSTALL_NOW), rel.version.as_bytes()).map_err(|e| self.io(e))?;
        tracing::info!(version = rel.version, "quiet at the gate: asking the updater to install");
        Ok(Some(rel.version))
    }

    /// Writes what the self-test found, for the updater if it waits on this
    /// version: the devices' health as the kiosk reports it, and whether
    /// this sync round reached the server.
    pub fn write_self_test(&self, wall_ms: i64, health: &[HealthItem], synced: bool) -> Result<SelfTest, UpdateError> {
        let mut test = self_test(self.installed.clone(), wall_ms, health, synced);
        test.checks.extend(self.startup_checks.iter().cloned());
        let json = serde_json::to_vec_pretty(&test).unwrap_or_default();
        write_durably(&self.file(files::SELF_TEST), &json).map_err(|e| self.io(e))?;
        Ok(test)
    }
}

/// The devices a self-test needs working: the camera (frames arriving),
/// the thermometer, the relay's I/O, the store.
pub const SELF_TEST_DEVICES: [&str; 4] = ["camera", "thermometer", "gpio", "store"];

/// The self-test of `version` from the devices' health and a sync round.
pub fn self_test(version: String, wall_ms: i64, health: &[HealthItem], synced: bool) -> SelfTest {
    let mut checks: Vec<Check> = SELF_TEST_DEVICES
        .iter()
        .map(|device| match health.iter().find(|h| h.device == *device) {
            Some(h) => Check { name: (*device).into(), ok: h.ok, detail: h.state.clone() },
            None => Check { name: (*device).into(), ok: false, detail: "no report from it".into() },
        })
        .collect();
    checks.push(Check {
        name: "sync".into(),
        ok: synced,
        detail: if synced { "reached the server".into() } else { "no round reached the server".into() },
    });
    SelfTest { version, at_ms: wall_ms, checks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_are_the_districts_and_may_run_past_midnight() {
        let q = QuietHours::parse("01:00-05:00", 480).unwrap();
        // 18:30 UTC is 02:30 in Shanghai.
        let day = 1_796_515_200_000; // a midnight UTC
        assert!(q.contains(day + 18 * 3_600_000 + 30 * 60_000));
        assert!(!q.contains(day + 3 * 3_600_000), "11:00 in Shanghai");
        let night = QuietHours::parse("23:30-04:00", 0).unwrap();
        assert!(night.contains(day + 23 * 3_600_000 + 45 * 60_000) && night.contains(day + 3_600_000));
        assert!(!night.contains(day + 12 * 3_600_000));
        assert_eq!(QuietHours::parse("25:00-04:00", 0), None);
        assert_eq!(QuietHours::parse("1am", 0), None);
    }

    #[test]
    fn a_self_test_fails_on_a_missing_or_failing_device_and_without_the_server() {
        let h = |d: &str, ok| HealthItem { device: d.into(), ok, state: "x".into() };
        let all = [h("camera", true), h("thermometer", true), h("gpio", true), h("store", true), h("audio", false)];
        assert!(self_test("2".into(), 1, &all, true).passed(), "audio is not needed at the gate");
        assert!(!self_test("2".into(), 1, &all, false).passed());
        assert!(!self_test("2".into(), 1, &all[1..], true).passed(), "no camera report");
        let broken = [h("camera", false), h("thermometer", true), h("gpio", true), h("store", true)];
        assert!(self_test("2".into(), 1, &broken, true).failures().starts_with("camera"));
    }
}
