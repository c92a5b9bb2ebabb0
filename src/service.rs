//! systemd integration: readiness and the watchdog (sd_notify). Without
//! `NOTIFY_SOCKET` (not under systemd) every call is a no-op.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// Tells systemd the kiosk is up (store open, threads running, UI shown).
pub fn ready(status: &str) {
    if let Err(e) = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(status)]) {
        tracing::warn!(error = %e, "cannot notify systemd of readiness");
    }
}

pub fn stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
}

/// Sends `WATCHDOG=1` at half the unit's `WatchdogSec=`, but only when the
/// caller vouches that it is healthy; a hung loop thus gets restarted.
pub struct Watchdog {
    every: Option<Duration>,
    last: Instant,
}

impl Watchdog {
    /// Reads `WATCHDOG_USEC` (and `WATCHDOG_PID`) as systemd set them.
    pub fn from_env() -> Watchdog {
        let mut usec = 0u64;
        let enabled = sd_notify::watchdog_enabled(false, &mut usec);
        let every = (enabled && usec > 0).then(|| Duration::from_micros(usec) / 2);
        if let Some(d) = every {
            tracing::info!(every_ms = d.as_millis() as u64, "systemd watchdog enabled");
        }
        Watchdog { every, last: Instant::now() }
    }

    /// A watchdog that never fires (tests, `check`).
    pub fn disabled() -> Watchdog {
        Watchdog { every: None, last: Instant::now() }
    }

    pub fn is_enabled(&self) -> bool {
        self.every.is_some()
    }

    /// Call often from the loop being watched.
    pub fn kick_if_due(&mut self, healthy: bool) {
        let Some(every) = self.every else { return };
        if healthy && self.last.elapsed() >= every {
            self.last = Instant::now();
            if let Err(e) = sd_notify::notify(false, &[NotifyState::Watchdog]) {
                tracing::warn!(error = %e, "cannot send the watchdog keep-alive");
            }
        }
    }
}
