//! Wires the window's callbacks to the kiosk: guard console (PIN, manual
//! open, alarms, calibration), visitor page, language, demo panel.
//! Runs on the UI thread; reaches the core only through channels.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use slint::ComponentHandle;

use super::{ack_alarm, clock_text, qr_image, set_language, AppState, AppWindow, DemoAdapter, GuardAdapter, Page, ScanAdapter, VisitorAdapter};
use crate::app::{Command, SensorRequest};
use crate::gate::Event;
use crate::hw::sim::World;

/// Everything the UI needs from the rest of the kiosk.
pub struct Wiring {
    pub events: Sender<Event>,
    pub sensor: Sender<SensorRequest>,
    pub commands: Sender<Command>,
    /// The simulated world, when the hardware is simulated.
    pub world: Option<World>,
    /// Demo passes (name, text) for the demo panel.
    pub demo_passes: Vec<(String, String)>,
    pub guard: GuardConfig,
    pub gate_name: String,
    pub visitor_url: String,
    pub language: String,
}

#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// SHA-256 of the PIN, hex; `None` = the console cannot be unlocked.
    pub pin_sha256: Option<String>,
    /// The console locks itself after this long without a touch.
    pub lock_after: Duration,
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
const MAX_FAILURES: u32 = 5;

impl GuardSession {
    pub fn new(config: GuardConfig) -> GuardSession {
        GuardSession {
            config,
            entered: String::new(),
            unlocked_at: None,
            last_activity: Instant::now(),
            failures: 0,
            blocked_until: None,
        }
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
            self.unlocked_at = Some(now);
            self.last_activity = now;
            PinResult::Unlocked
        } else {
            self.failures += 1;
            if self.failures >= MAX_FAILURES {
                self.failures = 0;
                self.blocked_until = Some(now + Duration::from_secs(60));
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

/// Keeps the timers and state the callbacks share alive.
pub struct Controller {
    _clock: slint::Timer,
    pub session: Rc<RefCell<GuardSession>>,
}

/// SHA-256 hex of a PIN, for `guard_pin_sha256` in the config.
pub fn pin_hash(pin: &str) -> String {
    hex::encode(Sha256::digest(pin.as_bytes()))
}

pub fn wire(ui: &AppWindow, w: Wiring) -> Controller {
    let app = ui.global::<AppState>();
    let scan = ui.global::<ScanAdapter>();
    let guard = ui.global::<GuardAdapter>();
    scan.set_gate_name(w.gate_name.clone().into());
    scan.set_clock(clock_text(crate::clock::SystemClock::wall_ms_now()).into());
    app.set_simulated(w.world.is_some());
    set_language(ui, &w.language);
    if let Some(img) = qr_image(&w.visitor_url) {
        ui.global::<VisitorAdapter>().set_qr(img);
    }
    ui.global::<VisitorAdapter>().set_url(w.visitor_url.clone().into());

    let session = Rc::new(RefCell::new(GuardSession::new(w.guard.clone())));
    let weak = ui.as_weak();

    scan.on_open_guard({
        let (weak, session) = (weak.clone(), session.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            session.borrow_mut().touch(Instant::now());
            ui.global::<GuardAdapter>().set_unlocked(session.borrow().unlocked());
            ui.global::<GuardAdapter>().set_pin_error("".into());
            ui.global::<AppState>().set_page(Page::Guard);
        }
    });
    scan.on_open_visitor({
        let weak = weak.clone();
        move || {
            if let Some(ui) = weak.upgrade() {
                ui.global::<AppState>().set_page(Page::Visitor);
            }
        }
    });

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
        let (weak, session) = (weak.clone(), session.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            let result = session.borrow_mut().submit(Instant::now());
            let g = ui.global::<GuardAdapter>();
            g.set_pin_length(0);
            match result {
                PinResult::Unlocked => {
                    tracing::info!("guard console unlocked");
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
        let (weak, session) = (weak.clone(), session.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            session.borrow_mut().lock();
            ui.global::<GuardAdapter>().set_unlocked(false);
            ui.global::<AppState>().set_page(Page::Scan);
        }
    });
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
        let weak = weak.clone();
        move |id| {
            if let Some(ui) = weak.upgrade() {
                ack_alarm(&ui, id);
            }
        }
    });
    guard.on_force_sync({
        let commands = w.commands.clone();
        move || {
            let _ = commands.send(Command::ForceSync);
        }
    });
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
    app.on_set_language({
        let weak = weak.clone();
        move |lang| {
            if let Some(ui) = weak.upgrade() {
                set_language(&ui, &lang);
            }
        }
    });

    if let Some(world) = w.world.clone() {
        wire_demo(ui, world, w.demo_passes.clone());
    }

    let clock = slint::Timer::default();
    clock.start(slint::TimerMode::Repeated, Duration::from_secs(1), {
        let (weak, session) = (weak.clone(), session.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            ui.global::<ScanAdapter>().set_clock(clock_text(crate::clock::SystemClock::wall_ms_now()).into());
            if session.borrow_mut().expire(Instant::now()) {
                ui.global::<GuardAdapter>().set_unlocked(false);
                if ui.global::<AppState>().get_page() == Page::Guard {
                    ui.global::<AppState>().set_page(Page::Scan);
                }
            }
        }
    });
    Controller { _clock: clock, session }
}

fn wire_demo(ui: &AppWindow, world: World, passes: Vec<(String, String)>) {
    let demo = ui.global::<DemoAdapter>();
    let weak = ui.as_weak();
    demo.on_present({
        let (weak, world) = (weak.clone(), world.clone());
        move |name| {
            let Some(ui) = weak.upgrade() else { return };
            let Some((_, text)) = passes.iter().find(|(n, _)| n.as_str() == name.as_str()) else { return };
            let centi = (ui.global::<DemoAdapter>().get_temperature() * 100.0).round() as i32;
            world.present(text, &[centi]);
            ui.global::<AppState>().set_demo_open(false);
            // The hand goes down after three seconds.
            let world = world.clone();
            slint::Timer::single_shot(Duration::from_secs(3), move || world.withdraw());
        }
    });
    demo.on_set_temperature({
        let (weak, world) = (weak.clone(), world.clone());
        move |t| {
            let Some(ui) = weak.upgrade() else { return };
            ui.global::<DemoAdapter>().set_temperature(t);
            world.lock().body_centi = (t * 100.0).round() as i32;
        }
    });
    demo.on_toggle_camera({
        let (weak, world) = (weak.clone(), world.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            let mut w = world.lock();
            w.camera_unplugged = !w.camera_unplugged;
            ui.global::<DemoAdapter>().set_camera_unplugged(w.camera_unplugged);
        }
    });
    demo.on_toggle_thermometer({
        let (weak, world) = (weak.clone(), world.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            let mut w = world.lock();
            w.thermometer_fault = !w.thermometer_fault;
            ui.global::<DemoAdapter>().set_thermometer_fault(w.thermometer_fault);
        }
    });
    demo.on_toggle_door({
        let (weak, world) = (weak.clone(), world.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            let mut w = world.lock();
            w.door_open = !w.door_open;
            ui.global::<DemoAdapter>().set_door_open(w.door_open);
        }
    });
    demo.on_exit_button({
        let world = world.clone();
        move || {
            world.lock().exit_pressed = true;
            let world = world.clone();
            slint::Timer::single_shot(Duration::from_millis(200), move || world.lock().exit_pressed = false);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> GuardSession {
        GuardSession::new(GuardConfig { pin_sha256: Some(pin_hash("2580")), lock_after: Duration::from_secs(60) })
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
        let mut s = GuardSession::new(GuardConfig { pin_sha256: None, lock_after: Duration::from_secs(60) });
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
