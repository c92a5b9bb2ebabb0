//! One controller per page of `ui/adapters.slint`: each module maps gate
//! screens and status onto its adapter global and answers its callbacks.
//! They run on the UI thread and reach the core only through channels.

pub mod demo;
pub mod enroll;
pub mod guard;
pub mod result;
pub mod scan;
pub mod visitor;

use std::rc::Rc;
use std::sync::mpsc::Sender;

use slint::ComponentHandle;

use super::{set_language, AppState, AppWindow};
use crate::gate::Event;
use crate::ports::{Command, DemoControls, SensorRequest};

/// Everything the pages need from the rest of the kiosk.
pub struct Wiring {
    pub events: Sender<Event>,
    pub sensor: Sender<SensorRequest>,
    pub commands: Sender<Command>,
    /// The simulated hardware's controls, when it is simulated.
    pub demo: Option<Rc<dyn DemoControls>>,
    /// Demo passes (name, text) for the demo panel.
    pub demo_passes: Vec<(String, String)>,
    pub guard: guard::GuardConfig,
    pub gate_name: String,
    /// "in", "out" or "both" (the scan page offers 进门/出门 for "both").
    pub direction: String,
    pub visitor_url: String,
    /// The committee's number on refusals that say to call it ("" = none).
    pub committee_phone: String,
    pub language: String,
    /// The status bar shows the time the gate decides by.
    pub clock: crate::clock::SystemClock,
}

/// Keeps the pages' timers and shared state alive.
pub struct Controller {
    pub guard: guard::GuardController,
    _scan: scan::ScanController,
}

/// Sets up every page and the language switch.
pub fn setup(ui: &AppWindow, w: &Wiring) -> Controller {
    set_language(ui, &w.language);
    ui.global::<AppState>().on_set_language({
        let (weak, commands) = (ui.as_weak(), w.commands.clone());
        move |lang| {
            if let Some(ui) = weak.upgrade() {
                set_language(&ui, &lang);
                // Spoken prompts follow the screen.
                let _ = commands.send(Command::SetLanguage(lang.to_string()));
            }
        }
    });
    let scan = scan::setup(ui, w);
    result::setup(ui, w);
    let guard = guard::setup(ui, w);
    visitor::setup(ui, w);
    demo::setup(ui, w);
    Controller { guard, _scan: scan }
}
