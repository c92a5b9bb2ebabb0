//! The kiosk's clocks: wall time, monotonic time since boot, the boot id,
//! and the time the kiosk decides by. The Pi has no RTC: after a power cut
//! without network it boots with whatever time fake-hwclock saved, and a
//! captive portal's NTP can set it years ahead. So the gate decides by
//! *reckoned* time ([`reckon`]): the server's signed time carried on the
//! monotonic clock when it has one this boot, the OS clock when NTP set it,
//! and never below a durable floor (ARCHITECTURE.md, "Trusted time").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use shoumen_protocol::time::TimeTrust;

use crate::gate::Now;

/// When this binary was built (unix ms): no correct clock is earlier.
pub const BUILD_MS: i64 = match i64::from_str_radix(env!("SHOUMEN_BUILD_UNIX"), 10) {
    Ok(s) => s * 1000,
    Err(_) => 0,
};

/// The server's time is carried on the monotonic clock this long; past it
/// the crystal's drift (about 4 s a day on a Pi) is too much to vouch for.
pub const ANCHOR_MAX_AGE_MS: u64 = 3 * 86_400_000;

/// A server answer slower than this cannot date anything to the second.
pub const MAX_ROUND_TRIP_MS: u64 = 10_000;

/// The OS clock and the server's time further apart than this are logged
/// and reported: the server's (signed) time is the one decided by.
pub const NTP_DISAGREES_MS: i64 = 60_000;

/// The server's time, taken at a point of this boot's monotonic clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub boot_id: String,
    pub mono_ms: u64,
    pub server_ms: i64,
}

/// What the kiosk knows about time beyond its OS clock; kept in the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeBase {
    /// Never decide below this (unix ms): the build time, the newest entry
    /// written on vouched time, the last server time taken.
    pub floor_ms: i64,
    /// The last server time taken; counts only in the boot it was taken.
    pub anchor: Option<Anchor>,
}

/// The clocks as the OS reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw {
    pub wall_ms: i64,
    pub mono_ms: u64,
    pub ntp_synced: bool,
}

/// The time to decide by, and how far the kiosk vouches for it. Pure: the
/// rules of ARCHITECTURE.md's "Trusted time" in one place.
pub fn reckon(base: &TimeBase, boot_id: &str, raw: Raw, trust_ntp: bool) -> Now {
    let floor_ms = base.floor_ms.max(BUILD_MS);
    let anchored = base
        .anchor
        .as_ref()
        .filter(|a| a.boot_id == boot_id && raw.mono_ms >= a.mono_ms && raw.mono_ms - a.mono_ms <= ANCHOR_MAX_AGE_MS);
    let (wall_ms, trust) = match anchored {
        Some(a) => (a.server_ms + (raw.mono_ms - a.mono_ms) as i64, TimeTrust::Server),
        None if trust_ntp && raw.ntp_synced && raw.wall_ms >= floor_ms => (raw.wall_ms, TimeTrust::Ntp),
        None => (raw.wall_ms, TimeTrust::Uncertain),
    };
    Now { wall_ms: wall_ms.max(floor_ms), mono_ms: raw.mono_ms, trust, floor_ms }
}

/// The kiosk's clock: cheap to clone, one [`TimeBase`] shared by the gate
/// loop and the sync thread.
#[derive(Clone, Debug)]
pub struct SystemClock {
    boot_id: String,
    base: Arc<Mutex<TimeBase>>,
    trust_ntp: Arc<AtomicBool>,
    own_reference: Arc<AtomicBool>,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        let boot_id = std::env::var("SHOUMEN_BOOT_ID")
            .ok()
            .filter(|b| !b.is_empty())
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok())
            .map(|s| s.trim().to_string())
            // Without /proc (containers, tests) a random id still separates boots.
            .unwrap_or_else(|| format!("nobootid-{}", hex::encode(rand::random::<[u8; 8]>())));
        SystemClock {
            boot_id,
            base: Arc::default(),
            trust_ntp: Arc::new(AtomicBool::new(true)),
            own_reference: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether an NTP-synchronised OS clock is believed before the server
    /// answers (`[kiosk] trust_ntp`; off where NTP is not set up).
    pub fn set_trust_ntp(&self, trust: bool) {
        self.trust_ntp.store(trust, Ordering::Relaxed);
    }

    /// A demo kiosk with no server: its own community was made by this
    /// clock, so this clock is the one to believe.
    pub fn set_own_clock_is_the_reference(&self, own: bool) {
        self.own_reference.store(own, Ordering::Relaxed);
    }

    /// The OS clock in unix milliseconds, uncorrected.
    pub fn wall_ms_now() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    pub fn boot_id(&self) -> &str {
        &self.boot_id
    }

    /// The clocks as the OS reports them (a demo kiosk's own clock counts
    /// as set).
    pub fn raw(&self) -> Raw {
        let own = self.own_reference.load(Ordering::Relaxed);
        Raw { wall_ms: Self::wall_ms_now(), mono_ms: mono_ms(), ntp_synced: own || clock_synced() }
    }

    /// The time to decide by.
    pub fn now(&self) -> Now {
        let raw = self.raw();
        let base = self.base.lock().unwrap_or_else(|e| e.into_inner());
        reckon(&base, &self.boot_id, raw, self.trust_ntp.load(Ordering::Relaxed))
    }

    pub fn base(&self) -> TimeBase {
        self.base.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What the store remembers, on start: raises the floor, and keeps the
    /// anchor (it counts only if taken this boot).
    pub fn restore(&self, stored: TimeBase) {
        let mut base = self.base.lock().unwrap_or_else(|e| e.into_inner());
        base.floor_ms = base.floor_ms.max(stored.floor_ms);
        if let Some(a) = stored.anchor {
            base.floor_ms = base.floor_ms.max(a.server_ms);
            if base.anchor.as_ref().is_none_or(|held| held.server_ms < a.server_ms) {
                base.anchor = Some(a);
            }
        }
    }

    /// Takes the server's signed time `server_ms`, asked at monotonic
    /// `sent_mono_ms` and answered at `received_mono_ms`. Returns the anchor
    /// to keep, or why not.
    pub fn take_server_time(&self, server_ms: i64, sent_mono_ms: u64, received_mono_ms: u64) -> Result<Anchor, String> {
        let rtt = received_mono_ms.saturating_sub(sent_mono_ms);
        if rtt > MAX_ROUND_TRIP_MS {
            return Err(format!("the server took {rtt} ms to answer; its time is not taken from so slow an answer"));
        }
        // The server read its clock somewhere in the round trip: the middle
        // is off by at most half of it.
        let anchor = Anchor { boot_id: self.boot_id.clone(), mono_ms: sent_mono_ms + rtt / 2, server_ms };
        let raw = self.raw();
        let offset = server_ms - (raw.wall_ms - (raw.mono_ms as i64 - anchor.mono_ms as i64));
        if raw.ntp_synced && offset.abs() > NTP_DISAGREES_MS {
            tracing::warn!(
                offset_ms = offset,
                "NTP set the clock, but the server's signed time differs; deciding by the server's"
            );
        }
        self.restore(TimeBase { floor_ms: 0, anchor: Some(anchor.clone()) });
        Ok(anchor)
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

/// The local time of day of `wall_ms` as (hour, minute, second), by the
/// system's time zone; `None` if the C library cannot tell.
#[allow(unsafe_code, reason = "localtime_r(3), with the struct it fills")]
pub fn local_hms(wall_ms: i64) -> Option<(u32, u32, u32)> {
    let secs = wall_ms.div_euclid(1000) as libc::time_t;
    // SAFETY: localtime_r writes only into the struct we pass.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return None;
    }
    Some((tm.tm_hour as u32, tm.tm_min as u32, tm.tm_sec as u32))
}

/// The start of the local day containing `wall_ms` (unix ms), for "today".
pub fn local_midnight_ms(wall_ms: i64) -> i64 {
    match local_hms(wall_ms) {
        Some((h, m, s)) => wall_ms.div_euclid(1000) * 1000 - i64::from(h * 3600 + m * 60 + s) * 1000,
        None => wall_ms - wall_ms.rem_euclid(86_400_000),
    }
}

/// Milliseconds since boot, counting suspend (CLOCK_BOOTTIME).
#[allow(unsafe_code, reason = "clock_gettime(2), with the struct it fills")]
fn mono_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// Whether the kernel considers the clock synchronised (NTP, chrony,
/// systemd-timesyncd all clear STA_UNSYNC).
#[allow(unsafe_code, reason = "adjtimex(2) in read-only mode")]
fn clock_synced() -> bool {
    // SAFETY: timex is plain data; modes = 0 makes adjtimex read-only.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: &str = "boot-a";
    const NOW: i64 = 1_800_000_000_000;

    fn raw(wall_ms: i64, mono_ms: u64, ntp_synced: bool) -> Raw {
        Raw { wall_ms, mono_ms, ntp_synced }
    }

    #[test]
    fn the_servers_time_this_boot_is_carried_on_the_monotonic_clock() {
        let base = TimeBase {
            floor_ms: NOW - 3_600_000,
            anchor: Some(Anchor { boot_id: BOOT.into(), mono_ms: 50_000, server_ms: NOW }),
        };
        // The OS clock ten minutes behind, or five years ahead: the server's time wins.
        for wall in [NOW - 600_000, NOW + 5 * 365 * 86_400_000] {
            let now = reckon(&base, BOOT, raw(wall, 60_000, true), true);
            assert_eq!((now.wall_ms, now.trust), (NOW + 10_000, TimeTrust::Server));
        }
        // Another boot: the anchor does not count, the floor does.
        let now = reckon(&base, "boot-b", raw(NOW - 2 * 86_400_000, 1_000, false), true);
        assert_eq!((now.wall_ms, now.trust), (NOW - 3_600_000, TimeTrust::Uncertain));
        // Too old to vouch for: three days of drift.
        let now = reckon(&base, BOOT, raw(NOW, 50_000 + ANCHOR_MAX_AGE_MS + 1, false), true);
        assert_eq!(now.trust, TimeTrust::Uncertain);
    }

    #[test]
    fn ntp_is_believed_only_at_or_above_the_floor_and_only_if_the_kiosk_is_told_to() {
        let base = TimeBase { floor_ms: NOW, anchor: None };
        assert_eq!(reckon(&base, BOOT, raw(NOW + 5, 1, true), true).trust, TimeTrust::Ntp);
        assert_eq!(reckon(&base, BOOT, raw(NOW + 5, 1, true), false).trust, TimeTrust::Uncertain);
        let below = reckon(&base, BOOT, raw(NOW - 600_000, 1, true), true);
        assert_eq!((below.wall_ms, below.trust), (NOW, TimeTrust::Uncertain));
    }

    #[test]
    fn a_slow_answer_is_not_taken_and_a_taken_one_raises_the_floor() {
        let clock = SystemClock::new();
        assert!(clock.take_server_time(NOW, 1_000, 1_000 + MAX_ROUND_TRIP_MS + 1).is_err());
        let m = mono_ms();
        let anchor = clock.take_server_time(NOW, m - 200, m).unwrap();
        assert_eq!(anchor.mono_ms, m - 100);
        assert_eq!(clock.base().floor_ms, NOW);
        let now = clock.now();
        assert_eq!(now.trust, TimeTrust::Server);
        assert!(now.wall_ms >= NOW - 100 && now.wall_ms < NOW + 60_000);
    }

    #[test]
    fn monotonic_time_does_not_go_back() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b.mono_ms >= a.mono_ms && a.mono_ms > 0);
        assert!(a.wall_ms > 1_600_000_000_000);
        assert!(!clock.boot_id().is_empty());
    }
}
