//! The result page: the decision, full screen, in plain words.

use slint::{ComponentHandle, SharedString};

use super::Wiring;
use crate::gate::ResultView;
use crate::ui::{celsius, verdict, AppState, AppWindow, Page, ResultAdapter, ScanAdapter, ScanStep};

/// The result page has no callbacks: it goes away with the next screen.
pub fn setup(_ui: &AppWindow, _w: &Wiring) {}

pub fn show(ui: &AppWindow, view: &ResultView) {
    let r = ui.global::<ResultAdapter>();
    r.set_verdict(verdict(view.decision));
    r.set_reason(view.reason.into());
    r.set_unit(view.unit.clone().unwrap_or_default().into());
    r.set_temperature(view.temperature_centi.map(celsius).unwrap_or_default().into());
    r.set_needs_assistance(view.needs_assistance);
    r.set_lists_warning(SharedString::default());
    ui.global::<ScanAdapter>().set_step(ScanStep::ShowPass);
    ui.global::<AppState>().set_page(Page::Result);
}
