//! The kiosk's clocks: wall time, monotonic time since boot, the boot id and
//! whether NTP has synchronised the wall clock. The Pi has no RTC, so until
//! the network is up the wall clock may be hours off; entries carry all four.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::gate::Now;

#[derive(Clone, Debug)]
pub struct SystemClock {
    boot_id: String,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            // Without /proc (containers, tests) a random id still separates boots.
            .unwrap_or_else(|_| format!("nobootid-{}", hex::encode(rand::random::<[u8; 8]>())));
        SystemClock { boot_id }
    }

    /// Unix milliseconds now, for display.
    pub fn wall_ms_now() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    pub fn boot_id(&self) -> &str {
        &self.boot_id
    }

    pub fn now(&self) -> Now {
        let wall_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Now { wall_ms, mono_ms: mono_ms(), clock_synced: clock_synced() }
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
