//! The guard's console: opened by a volunteer's duty pass (the gate core
//! checks it) or the PIN with its lockout; manual opening with a reason,
//! alarms, counts and device health, calibration, "sync now", who is on
//! duty. What is done on it is recorded with who opened it (the core).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use slint::{ComponentHandle, Model, ModelRc, VecModel};

use super::Wiring;
use crate::gate::{Alarm, DoorAlarm, Event};
use crate::ports::{Command, SensorRequest, Status};
use crate::ui::{
    celsius, verdict, AlarmRow, AppState, AppWindow, DutyRow, EntryRow, GuardAdapter, HealthRow, Page, ScanAdapter,
};

#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// SHA-256 of the PIN, hex; `None` = the console cannot be unlocked.
    pub pin_sha256: Option<String>,
    /// The console locks itself after this long without a touch.
    pub lock_after: Duration,
    /// Wrong PINs in a row before the console refuses every PIN …
    pub max_failures: u32,
    /// … for this long.
    pub block_for: Duration,
}

/// PIN entry and the console's session, without any UI.
#[derive(Debug)]
pub struct GuardSession {
    config: GuardConfig,
    pub entered: String,
    unlocked_at: Option<Instant>,
    last_activity: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
    /// The first digits of the duty pass the console was opened with;
    /// `None` for the PIN or while locked.
    pub by: Option<String>,
}

/// What a PIN submission did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinResult {
    Unlocked,
    Wrong,
    /// Too many wrong PINs; try again later.
    Wait,
    NotSet,
}

const MAX_PIN: usize = 8;

impl GuardSession {
    pub fn new(config: GuardConfig) -> GuardSession {
        GuardSession {
            config,
            entered: String::new(),
            unlocked_at: None,
            last_activity: Instant::now(),
            failures: 0,
            blocked_until: None,
            by: None,
        }
    }

    /// Whether a PIN can open the console at all.
    pub fn pin_enabled(&self) -> bool {
        self.config.pin_sha256.is_some()
    }

    /// A duty pass opened the console (the gate core verified it).
    pub fn open_by(&mut self, by: String, now: Instant) {
        self.entered.clear();
        self.unlocked_at = Some(now);
        self.last_activity = now;
        self.by = Some(by);
    }

    pub fn digit(&mut self, d: char) {
        if self.entered.len() < MAX_PIN && d.is_ascii_digit() {
            self.entered.push(d);
        }
    }

    pub fn back(&mut self) {
        self.entered.pop();
    }

    pub fn submit(&mut self, now: Instant) -> PinResult {
        let entered = std::mem::take(&mut self.entered);
        let Some(want) = &self.config.pin_sha256 else { return PinResult::NotSet };
        if self.blocked_until.is_some_and(|t| now < t) {
            return PinResult::Wait;
        }
        if hex::encode(Sha256::digest(entered.as_bytes())) == want.to_ascii_lowercase() {
            self.failures = 0;
            self.by = None;
            self.unlocked_at = Some(now);
            self.last_activity = now;
            PinResult::Unlocked
        } else {
            self.failures += 1;
            if self.failures >= self.config.max_failures.max(1) {
                self.failures = 0;
                self.blocked_until = Some(now + self.config.block_for);
                return PinResult::Wait;
            }
            PinResult::Wrong
        }
    }

    pub fn touch(&mut self, now: Instant) {
        self.last_activity = now;
    }

    pub fn unlocked(&self) -> bool {
        self.unlocked_at.is_some()
    }

    pub fn lock(&mut self) {
        self.unlocked_at = None;
        self.entered.clear();
        self.by = None;
    }

    /// Locks after inactivity; true if it just locked.
    pub fn expire(&mut self, now: Instant) -> bool {
        if self.unlocked() && now.duration_since(self.last_activity) >= self.config.lock_after {
            self.lock();
            return true;
        }
        false
    }
}

/// SHA-256 hex of a PIN, for `guard_pin_sha256` in the config.
pub fn pin_hash(pin: &str) -> String {
    hex::encode(Sha256::digest(pin.as_bytes()))
}

/// Keeps the console's session and its idle timer alive.
pub struct GuardController {
    _idle: slint::Timer,
    pub session: Rc<RefCell<GuardSession>>,
}

pub fn setup(ui: &AppWindow, w: &Wiring) -> GuardController {
    let session = Rc::new(RefCell::new(GuardSession::new(w.guard.clone())));
    let weak = ui.as_weak();
    // The scan page's Guard button is the console's door.
    ui.global::<ScanAdapter>().on_open_guard({
        let (weak, session, events) = (weak.clone(), session.clone(), w.events.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            session.borrow_mut().touch(Instant::now());
            if !session.borrow().unlocked() {
                // From now on a duty pass opens the console (the timer repeats it).
                let _ = events.send(Event::ConsoleWaiting);
            }
            let g = ui.global::<GuardAdapter>();
            g.set_unlocked(session.borrow().unlocked());
            g.set_pin_enabled(session.borrow().pin_enabled());
            g.set_pin_error("".into());
            ui.global::<AppState>().set_page(Page::Guard);
        }
    });
    // The gate core verified a duty pass read while the console waited.
    ui.global::<GuardAdapter>().on_console_opened({
        let (weak, session) = (weak.clone(), session.clone());
        move |by| {
            let Some(ui) = weak.upgrade() else { return };
            tracing::info!(duty_pass = %by, "guard console opened by a duty pass");
            session.borrow_mut().open_by(by.to_string(), Instant::now());
            let g = ui.global::<GuardAdapter>();
            g.set_unlocked(true);
            g.set_opened_by(by);
            g.set_pin_length(0);
            g.set_pin_error("".into());
            g.set_message("".into());
            ui.global::<AppState>().set_page(Page::Guard);
        }
    });
    setup_pin(ui, w, &session);
    setup_actions(ui, w, &session);
    let idle = slint::Timer::default();
    idle.start(slint::TimerMode::Repeated, Duration::from_secs(1), {
        let (weak, session, events) = (weak.clone(), session.clone(), w.events.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            if session.borrow_mut().expire(Instant::now()) {
                let _ = events.send(Event::ConsoleLocked);
                ui.global::<GuardAdapter>().set_unlocked(false);
                if ui.global::<AppState>().get_page() == Page::Guard {
                    ui.global::<AppState>().set_page(Page::Scan);
                }
            }
            // While the lock screen shows, a duty pass read opens the console.
            if ui.global::<AppState>().get_page() == Page::Guard && !session.borrow().unlocked() {
                let _ = events.send(Event::ConsoleWaiting);
            }
        }
    });
    GuardController { _idle: idle, session }
}

/// The keypad, the lock button and activity.
fn setup_pin(ui: &AppWindow, w: &Wiring, session: &Rc<RefCell<GuardSession>>) {
    let guard = ui.global::<GuardAdapter>();
    let weak = ui.as_weak();
    guard.on_pin_digit({
        let (weak, session) = (weak.clone(), session.clone());
        move |d| {
            let Some(ui) = weak.upgrade() else { return };
            let mut s = session.borrow_mut();
            d.chars().for_each(|c| s.digit(c));
            let g = ui.global::<GuardAdapter>();
            g.set_pin_length(s.entered.len() as i32);
            g.set_pin_error("".into());
        }
    });
    guard.on_pin_back({
        let (weak, session) = (weak.clone(), session.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            session.borrow_mut().back();
            ui.global::<GuardAdapter>().set_pin_length(session.borrow().entered.len() as i32);
        }
    });
    guard.on_pin_submit({
        let (weak, session, events) = (weak.clone(), session.clone(), w.events.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            let result = session.borrow_mut().submit(Instant::now());
            let g = ui.global::<GuardAdapter>();
            g.set_pin_length(0);
            match result {
                PinResult::Unlocked => {
                    tracing::info!("guard console unlocked with the PIN");
                    let _ = events.send(Event::ConsoleOpenedByPin);
                    g.set_opened_by("".into());
                    g.set_unlocked(true);
                    g.set_pin_error("".into());
                    g.set_message("".into());
                }
                PinResult::Wrong => g.set_pin_error("wrong".into()),
                PinResult::Wait => g.set_pin_error("wait".into()),
                PinResult::NotSet => g.set_pin_error("not_set".into()),
            }
        }
    });
    guard.on_activity({
        let session = session.clone();
        move || session.borrow_mut().touch(Instant::now())
    });
    guard.on_lock({
        let (weak, session, events) = (weak.clone(), session.clone(), w.events.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            session.borrow_mut().lock();
            let _ = events.send(Event::ConsoleLocked);
            ui.global::<GuardAdapter>().set_unlocked(false);
            ui.global::<AppState>().set_page(Page::Scan);
        }
    });
}

/// What an unlocked guard can do.
fn setup_actions(ui: &AppWindow, w: &Wiring, session: &Rc<RefCell<GuardSession>>) {
    let guard = ui.global::<GuardAdapter>();
    let weak = ui.as_weak();
    guard.on_choose_reason({
        let (weak, session) = (weak.clone(), session.clone());
        move |reason| {
            let Some(ui) = weak.upgrade() else { return };
            session.borrow_mut().touch(Instant::now());
            ui.global::<GuardAdapter>().set_reason(reason);
        }
    });
    guard.on_open_gate({
        let (weak, session, events) = (weak.clone(), session.clone(), w.events.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            if !session.borrow().unlocked() {
                return;
            }
            session.borrow_mut().touch(Instant::now());
            let g = ui.global::<GuardAdapter>();
            let reason = g.get_reason().to_string();
            // The core refuses an empty reason; the entry records this one.
            if events.send(Event::ManualOpen { reason }).is_ok() {
                g.set_message("opened".into());
                g.set_reason("".into());
            }
        }
    });
    guard.on_ack_alarm({
        let (weak, session, events) = (weak.clone(), session.clone(), w.events.clone());
        move |id| {
            let Some(ui) = weak.upgrade() else { return };
            if !session.borrow().unlocked() {
                return;
            }
            // Recorded with who acknowledged it (the core knows who has the console).
            if let Some(row) = ui.global::<GuardAdapter>().get_alarms().iter().find(|r| r.id == id) {
                let alarm = format!("{} {}", row.kind, row.detail).trim().to_string();
                let _ = events.send(Event::AlarmAcknowledged { alarm });
            }
            ack_alarm(&ui, id);
        }
    });
    setup_commands(&guard, w);
    guard.on_override_passback({
        let (weak, events) = (weak.clone(), w.events.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            if events.send(Event::PassbackOverride).is_ok() {
                ui.global::<GuardAdapter>().set_message("override_armed".into());
            }
        }
    });
    guard.on_calibrate_adjust({
        let weak = weak.clone();
        move |delta| {
            let Some(ui) = weak.upgrade() else { return };
            let g = ui.global::<GuardAdapter>();
            let v = ((g.get_calibration_reference() + delta) * 10.0).round() / 10.0;
            g.set_calibration_reference(v.clamp(35.0, 39.0));
        }
    });
    guard.on_calibrate({
        let (weak, sensor) = (weak.clone(), w.sensor.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            let reference_c = ui.global::<GuardAdapter>().get_calibration_reference();
            let _ = sensor.send(SensorRequest::Calibrate { reference_c });
        }
    });
}

/// What the console asks of the core loop: a sync now, enrolling again.
fn setup_commands(guard: &GuardAdapter<'_>, w: &Wiring) {
    guard.on_force_sync({
        let commands = w.commands.clone();
        move || {
            let _ = commands.send(Command::ForceSync);
        }
    });
    guard.on_reenroll({
        let commands = w.commands.clone();
        move || {
            let _ = commands.send(Command::Reenroll);
        }
    });
}

/// The console's words for an alarm: a kind the page translates, a detail.
pub fn alarm_row(alarm: &Alarm) -> (&'static str, String) {
    match alarm {
        Alarm::Fever { centi, .. } => ("fever", celsius(*centi)),
        Alarm::QuarantineExit { pass_id } => ("quarantine_exit", pass_id.to_hex()),
        Alarm::ThermometerFault(e) => ("device", e.clone()),
        Alarm::ListsTooOld { .. } => ("lists_too_old", String::new()),
        Alarm::DeviceFault { device, message } => ("device", format!("{device}: {message}")),
        Alarm::Door(DoorAlarm::HeldOpen) => ("door_held_open", String::new()),
        Alarm::Door(DoorAlarm::ForcedOpen) => ("forced_open", String::new()),
        Alarm::RepeatedRefusals { pass_id, count } => ("repeated_refusals", format!("{} ×{count}", pass_id.to_hex())),
    }
}

/// Adds an alarm to the console's list (the newest 20 are kept).
pub fn add_alarm(ui: &AppWindow, kind: &str, detail: &str) {
    let g = ui.global::<GuardAdapter>();
    let rows: Vec<AlarmRow> = g.get_alarms().iter().collect();
    let id = rows.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    let mut rows: Vec<AlarmRow> = rows.into_iter().rev().take(19).rev().collect();
    rows.push(AlarmRow { id, kind: kind.into(), detail: detail.into() });
    g.set_alarms(ModelRc::new(VecModel::from(rows)));
}

/// Removes an acknowledged alarm.
pub fn ack_alarm(ui: &AppWindow, id: i32) {
    let g = ui.global::<GuardAdapter>();
    let rows: Vec<AlarmRow> = g.get_alarms().iter().filter(|r| r.id != id).collect();
    g.set_alarms(ModelRc::new(VecModel::from(rows)));
}

/// The console's part of the status: today's counts, recent entries, health.
pub fn apply_status(ui: &AppWindow, s: &Status) {
    let g = ui.global::<GuardAdapter>();
    g.set_count_in(s.counts.allowed_in as i32);
    g.set_count_out(s.counts.allowed_out as i32);
    g.set_count_denied(s.counts.denied as i32);
    g.set_count_fever(s.counts.fever as i32);
    g.set_sync_refused(s.sync_refused);
    let on_duty: Vec<DutyRow> = s
        .on_duty
        .iter()
        .map(|(pass, since_ms)| DutyRow {
            pass: pass_digits(pass).into(),
            since: crate::ui::local_time(*since_ms).into(),
        })
        .collect();
    g.set_on_duty(ModelRc::new(VecModel::from(on_duty)));
    let entries: Vec<EntryRow> = s
        .recent
        .iter()
        .map(|e| EntryRow {
            time: crate::ui::local_time(e.wall_ms).into(),
            direction: e.direction.as_str().into(),
            reason: e.reason.as_str().into(),
            verdict: verdict(e.decision),
        })
        .collect();
    g.set_entries(ModelRc::new(VecModel::from(entries)));
    let health: Vec<HealthRow> = s
        .health
        .iter()
        .map(|h| HealthRow { name: h.device.into(), state: h.state.as_str().into(), ok: h.ok })
        .collect();
    g.set_health(ModelRc::new(VecModel::from(health)));
}

/// The first digits of a duty pass: what the console and the committee's
/// Gates page show for a volunteer (the pass card says whose it is).
pub fn pass_digits(pass: &shoumen_protocol::PassId) -> String {
    pass.to_hex().chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GuardConfig {
        GuardConfig {
            pin_sha256: None,
            lock_after: Duration::from_secs(60),
            max_failures: 5,
            block_for: Duration::from_secs(60),
        }
    }

    fn session() -> GuardSession {
        GuardSession::new(GuardConfig { pin_sha256: Some(pin_hash("2580")), ..config() })
    }

    fn enter(s: &mut GuardSession, pin: &str, now: Instant) -> PinResult {
        pin.chars().for_each(|c| s.digit(c));
        s.submit(now)
    }

    #[test]
    fn right_pin_unlocks_and_wrong_pin_does_not() {
        let mut s = session();
        let t = Instant::now();
        assert_eq!(enter(&mut s, "1234", t), PinResult::Wrong);
        assert!(!s.unlocked());
        assert_eq!(enter(&mut s, "2580", t), PinResult::Unlocked);
        assert!(s.unlocked());
        assert!(s.entered.is_empty(), "the PIN is not kept");
    }

    #[test]
    fn five_wrong_pins_block_for_a_minute() {
        let mut s = session();
        let t = Instant::now();
        for _ in 0..4 {
            assert_eq!(enter(&mut s, "0000", t), PinResult::Wrong);
        }
        assert_eq!(enter(&mut s, "0000", t), PinResult::Wait);
        assert_eq!(enter(&mut s, "2580", t + Duration::from_secs(30)), PinResult::Wait, "even the right PIN");
        assert_eq!(enter(&mut s, "2580", t + Duration::from_secs(61)), PinResult::Unlocked);
    }

    #[test]
    fn the_console_locks_itself_after_inactivity() {
        let mut s = session();
        let t = Instant::now();
        enter(&mut s, "2580", t);
        assert!(!s.expire(t + Duration::from_secs(30)));
        s.touch(t + Duration::from_secs(30));
        assert!(!s.expire(t + Duration::from_secs(80)));
        assert!(s.expire(t + Duration::from_secs(91)));
        assert!(!s.unlocked());
    }

    #[test]
    fn no_configured_pin_never_unlocks() {
        let mut s = GuardSession::new(GuardConfig { pin_sha256: None, ..config() });
        assert_eq!(enter(&mut s, "", Instant::now()), PinResult::NotSet);
        assert!(!s.unlocked());
    }

    #[test]
    fn pin_length_is_bounded() {
        let mut s = session();
        "123456789012".chars().for_each(|c| s.digit(c));
        assert_eq!(s.entered.len(), MAX_PIN);
        s.digit('x');
        assert_eq!(s.entered.len(), MAX_PIN);
    }
}
