//! The seams between the kiosk's core loop (`app`) and its faces (`ui`, the
//! log when headless): what the core shows, what the screen asks of the
//! core, and the demo controls of the simulated hardware.
//!
//! Architecture invariant: this module depends only on `gate` and the
//! protocol; `app` and `ui` both depend on it and never on each other.

use shoumen_protocol::Entry;

use crate::gate::{Alarm, Screen};

/// The tracing target of the marks a person's time at the gate is measured
/// by (`tests/rush_hour.rs`): `stage` = presence, read, decided, measure,
/// temperature, recorded, relay, shown. Off unless a subscriber asks for
/// trace level on this target.
pub const STAGE: &str = "shoumen::stage";

/// What the people at the gate see: the Slint UI, or the log when headless.
pub trait View: Send {
    fn show(&mut self, screen: &Screen);
    fn alarm(&mut self, alarm: &Alarm);
    fn recorded(&mut self, _entry: &Entry) {}
    /// Every second: counts, recent entries, list age, device health.
    fn status(&mut self, _status: &Status) {}
    /// The outcome of a guard action (a code the UI words, and a detail).
    fn message(&mut self, _code: &str, _detail: &str) {}
    /// Whether the screen still responds (the UI thread answers); asked
    /// before each watchdog keep-alive.
    fn alive(&mut self) -> bool {
        true
    }
}

/// A snapshot for the status bar and the guard console, sent every second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub counts: Counts,
    pub recent: Vec<Entry>,
    /// Entries the server has not acknowledged.
    pub pending: u64,
    pub lists_age_s: Option<i64>,
    pub lists_stale: bool,
    pub health: Vec<Health>,
    /// The last sync round succeeded.
    pub online: bool,
    /// Strict anti-passback has fallen back to timed: the kiosk has not
    /// reached the server for too long (the status bar says so).
    pub passback_fallback: bool,
    /// The kiosk cannot vouch for its clock (ARCHITECTURE.md, "Trusted
    /// time"): the status bar says so, and the guard decides what only the
    /// clock would refuse.
    pub time_uncertain: bool,
    /// The machine's numbers for the server's monitoring.
    pub vitals: shoumen_protocol::sync::Vitals,
    /// Who is signed in for duty here (their duty pass), since when (unix
    /// ms), earliest first: the console shows them.
    pub on_duty: Vec<(shoumen_protocol::PassId, i64)>,
    /// Not enrolled yet: the code the screen shows to enroll the kiosk.
    pub screen_code: Option<crate::sync::ScreenCode>,
    /// The server refuses this kiosk (revoked, or a server that does not
    /// know it): the guard console offers to enroll it again.
    pub sync_refused: bool,
}

/// Today's entries, for the guard console.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub allowed_in: u64,
    pub allowed_out: u64,
    pub denied: u64,
    pub fever: u64,
}

/// One line of the guard console's health list.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    /// camera, thermometer, gpio, store, disk, sync
    pub device: &'static str,
    pub ok: bool,
    pub state: String,
}

/// What the core asks of the thermometer thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SensorRequest {
    Measure,
    /// Measure the person in front, whose true temperature is this, and set
    /// the model offset so the reading matches.
    Calibrate {
        reference_c: f32,
    },
}

/// Requests to the core loop that are not gate events.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Calibrated(Result<f32, String>),
    ForceSync,
    /// The server refused this kiosk: forget its enrollment and show a code
    /// to enroll it again (the guard console's "Enroll again").
    Reenroll,
    /// The screen's language changed ("zh_CN" or "en"): prompts follow it.
    SetLanguage(String),
}

/// The demo panel's hold on the simulated hardware: hold up a pass, set the
/// temperature, break things. Implemented by the simulated world.
pub trait DemoControls {
    /// Holds `text` up to the camera; its holder measures `centi` (°C × 100).
    fn present(&self, text: &str, centi: i32);
    /// Takes the pass away from the camera.
    fn withdraw(&self);
    fn set_body_temperature(&self, centi: i32);
    /// Each toggle returns the new state.
    fn toggle_camera(&self) -> bool;
    fn toggle_thermometer(&self) -> bool;
    fn toggle_door(&self) -> bool;
    fn set_exit_button(&self, pressed: bool);
    /// Holds `text` up to the inward camera (someone leaving).
    fn present_inward(&self, text: &str);
}
