//! The status snapshot for the status bar and the guard console.

use super::CameraHealth;
use crate::gate::{GateState, TempReading};
use crate::ports::{Counts, Health, Status};
use crate::store::{Store, StoreError};

/// What the status is made of besides the gate and the store.
pub struct StatusInputs<'a> {
    pub camera: &'a CameraHealth,
    pub reading: Option<&'a TempReading>,
    pub data_dir: &'a std::path::Path,
    pub sync: &'a crate::sync::SyncStatus,
    /// Whether the gate I/O thread runs, and what drives it.
    pub gpio: (bool, &'a str),
    pub voice: Result<String, String>,
}

pub fn status(
    state: &GateState,
    store: &Store,
    now: crate::gate::Now,
    inputs: &StatusInputs<'_>,
) -> Result<Status, StoreError> {
    let StatusInputs { camera, reading, data_dir, sync, gpio: (gpio_alive, gpio_label), voice } = inputs;
    let lists_age_s = state.lists.age_s(now);
    let head = store.head_seq()?;
    let thermometer = match reading {
        None => Health { device: "thermometer", ok: true, state: "—".into() },
        Some(TempReading::Body(c)) => {
            Health { device: "thermometer", ok: true, state: format!("{:.1} °C", *c as f32 / 100.0) }
        }
        Some(TempReading::NoSubject) => Health { device: "thermometer", ok: true, state: "ok".into() },
        Some(TempReading::Fault(e)) => Health { device: "thermometer", ok: false, state: e.clone() },
    };
    let free = disk_free_bytes(data_dir);
    Ok(Status {
        counts: {
            let c = store.counts_since(crate::clock::local_midnight_ms(now.wall_ms))?;
            Counts { allowed_in: c.allowed_in, allowed_out: c.allowed_out, denied: c.denied, fever: c.fever }
        },
        recent: store.recent(12)?,
        on_duty: {
            let mut on: Vec<_> = state.on_duty.iter().map(|(p, d)| (*p, d.since_ms)).collect();
            on.sort_by_key(|&(p, since)| (since, p.to_hex()));
            on
        },
        pending: head - store.acked_seq()?,
        lists_age_s,
        lists_stale: lists_age_s.is_none_or(|a| a > state.policy.lists_warn_after_s),
        health: vec![
            Health {
                device: "camera",
                ok: camera.ok,
                state: match &camera.error {
                    Some(e) => e.clone(),
                    None => format!("{:.0} fps", camera.fps),
                },
            },
            thermometer,
            if *gpio_alive {
                Health { device: "gpio", ok: true, state: gpio_label.to_string() }
            } else {
                Health { device: "gpio", ok: false, state: format!("{gpio_label}: I/O thread stopped") }
            },
            Health { device: "store", ok: true, state: format!("{head} entries") },
            Health {
                device: "disk",
                ok: free.is_none_or(|f| f > 100 << 20),
                state: free.map_or("?".into(), |f| format!("{} MB free", f >> 20)),
            },
            sync_health(sync),
            match voice {
                Ok(state) => Health { device: "audio", ok: true, state: state.clone() },
                Err(e) => Health { device: "audio", ok: false, state: e.clone() },
            },
            passback_health(state, now),
            clock_health(now),
        ],
        online: sync.online,
        passback_fallback: state.passback_mode(now) != state.policy.anti_passback,
        time_uncertain: !now.vouched_for(),
        vitals: shoumen_protocol::sync::Vitals {
            cpu_temp_c: cpu_temp_c(),
            disk_free_bytes: free,
            scan_ms: camera.scan_ms,
            lists_age_s,
        },
        screen_code: sync.screen_code.clone(),
        sync_refused: sync.enrolled && sync.unauthorised,
    })
}

/// The SoC's temperature from the kernel's first thermal zone (the Pi's
/// CPU), if there is one.
fn cpu_temp_c() -> Option<f32> {
    let milli: i64 = std::fs::read_to_string("/sys/class/thermal/thermal_zone0/temp").ok()?.trim().parse().ok()?;
    Some(milli as f32 / 1000.0)
}

/// The time the gate decides by, and where it comes from.
fn clock_health(now: crate::gate::Now) -> Health {
    use shoumen_protocol::time::TimeTrust;
    let (ok, state) = match now.trust {
        TimeTrust::Server => (true, "set by the server".to_string()),
        TimeTrust::Ntp => (true, "set by NTP; the server has not confirmed it yet".to_string()),
        TimeTrust::Uncertain => (
            false,
            "uncertain: not confirmed since the kiosk started; check the network to the server. \
             Passes refused only by the clock go to the guard"
                .to_string(),
        ),
    };
    Health { device: "clock", ok, state }
}

/// Anti-passback as it stands: says so when strict fell back to timed.
fn passback_health(state: &GateState, now: crate::gate::Now) -> Health {
    let configured = state.policy.anti_passback;
    let effective = state.passback_mode(now);
    if effective == configured {
        Health { device: "passback", ok: true, state: configured.as_str().into() }
    } else {
        let minutes = state.policy.strict_offline_s / 60;
        Health {
            device: "passback",
            ok: false,
            state: format!(
                "{} → {}: no contact with the server for over {minutes} min",
                configured.as_str(),
                effective.as_str()
            ),
        }
    }
}

fn sync_health(s: &crate::sync::SyncStatus) -> Health {
    let (ok, state) = if !s.enrolled {
        match s.screen_code.as_ref().filter(|c| !c.problem.is_empty()) {
            Some(c) => (false, format!("not enrolled; cannot reach {}: {}", c.server, c.problem)),
            None => (true, "not enrolled (its screen shows a code, or: shoumen enroll URL)".to_string()),
        }
    } else if s.unauthorised {
        (false, "device not authorised; enroll again".to_string())
    } else if s.online {
        (true, format!("online, {} waiting", s.queue))
    } else {
        (false, format!("offline, {} waiting: {}", s.queue, s.last_error.as_deref().unwrap_or("-")))
    };
    Health { device: "sync", ok, state }
}

#[allow(unsafe_code, reason = "statvfs(3), with the struct it fills")]
fn disk_free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into the struct we pass.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statvfs(path.as_ptr(), &mut st) } == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}
