//! The result page: the decision, full screen, in plain words.

use slint::ComponentHandle;

use super::Wiring;
use crate::gate::{next_step, AntiPassback, ResultView};
use crate::ui::{celsius, verdict, AppState, AppWindow, Page, ResultAdapter, ScanAdapter, ScanStep};

/// The result page has no callbacks: it goes away with the next screen.
pub fn setup(ui: &AppWindow, w: &Wiring) {
    ui.global::<ResultAdapter>().set_committee_phone(w.committee_phone.clone().into());
}

pub fn show(ui: &AppWindow, view: &ResultView) {
    let r = ui.global::<ResultAdapter>();
    r.set_verdict(verdict(view.decision));
    r.set_reason(view.reason.as_str().into());
    r.set_unit(view.unit.clone().unwrap_or_default().into());
    r.set_temperature(view.temperature_centi.map(celsius).unwrap_or_default().into());
    r.set_needs_assistance(view.needs_assistance);
    r.set_lists_age_h(view.lists_age_s.map_or(-1, |s| (s / 3600).clamp(0, 2_000_000) as i32));
    r.set_remeasure_after_min(view.remeasure_after_min.map_or(0, |m| m.min(600) as i32));
    r.set_next_step(next_step(view).as_str().into());
    r.set_passback_strict(view.passback == Some(AntiPassback::Strict));
    // Whole minutes, rounded up: "try again in 0 minutes" helps nobody.
    r.set_retry_after_min(view.retry_after_s.map_or(0, |s| ((s + 59) / 60).clamp(1, 600) as i32));
    ui.global::<ScanAdapter>().set_step(ScanStep::ShowPass);
    ui.global::<AppState>().set_page(Page::Result);
}
