//! `shoumen screenshot`: renders one page with the software renderer into a
//! PNG, without a display, filled with demo data.

use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use shoumen_protocol::Reason;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, ModelRc, PhysicalSize, VecModel};
use thiserror::Error;

use super::pages::guard::{add_alarm, alarm_row};
use super::pages::scan::preview_pixels;
use super::*;
use crate::gate::{Alarm, AntiPassback, DoorAlarm, ResultView, Screen};
use crate::hw::sim::synth;

#[derive(Debug, Error)]
pub enum ShotError {
    #[error("unknown page {0:?}: one of scan, result-allow, result-deny, result-fever, result-passback, choose-direction, guard, guard-pin, visitor, demo")]
    Page(String),
    #[error("UI: {0}")]
    Ui(String),
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
}

pub const PAGES: &[&str] = &[
    "scan",
    "result-allow",
    "result-deny",
    "result-fever",
    "result-passback",
    "choose-direction",
    "guard",
    "guard-pin",
    "visitor",
    "demo",
    "enroll",
];

struct ShotPlatform {
    window: Rc<MinimalSoftwareWindow>,
    start: Instant,
}

impl Platform for ShotPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Renders `page` in `language` at `width`×`height` into `out` (PNG).
/// Installs a display-less platform: call once per process.
pub fn render(page: &str, language: &str, width: u32, height: u32, out: &Path) -> Result<(), ShotError> {
    if !PAGES.contains(&page) {
        return Err(ShotError::Page(page.into()));
    }
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    window.set_size(PhysicalSize::new(width, height));
    slint::platform::set_platform(Box::new(ShotPlatform { window: window.clone(), start: Instant::now() }))
        .map_err(|e| ShotError::Ui(e.to_string()))?;
    let ui = AppWindow::new().map_err(|e| ShotError::Ui(e.to_string()))?;
    ui.show().map_err(|e| ShotError::Ui(e.to_string()))?;
    fill(&ui, page, language);
    slint::platform::update_timers_and_animations();

    let (w, h) = (width as usize, height as usize);
    let mut pixels = vec![slint::Rgb8Pixel::default(); w * h];
    // Render twice: the first pass lays out, the second settles bindings
    // that depend on the window size (the theme's scale).
    for _ in 0..2 {
        window.request_redraw();
        window.draw_if_needed(|renderer| {
            renderer.render(&mut pixels, w);
        });
        slint::platform::update_timers_and_animations();
    }
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    image::RgbImage::from_raw(width, height, bytes)
        .expect("buffer matches its size")
        .save(out)
        .map_err(|e| ShotError::Write { path: out.display().to_string(), message: e.to_string() })
}

/// The visitor page's two codes: the visitor form and returnee registration.
fn fill_visitor(ui: &AppWindow) {
    let visitor = ui.global::<VisitorAdapter>();
    if let Some(img) = qr_image("https://shoumen.example/visit/east-gate") {
        visitor.set_qr(img);
    }
    visitor.set_url("https://shoumen.example/visit/east-gate".into());
    if let Some(img) = qr_image("https://shoumen.example/v/k-east/returnee") {
        visitor.set_returnee_qr(img);
        visitor.set_has_returnee(true);
    }
}

/// A kiosk not enrolled yet, as the sync thread reports it.
fn fill_enroll(ui: &AppWindow) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    let server = "https://gate.example.org";
    let code = crate::sync::ScreenCode {
        code: shoumen_protocol::enroll::show_code("K7M29QXD"),
        fingerprint: shoumen_protocol::enroll::fingerprint(&key),
        link: shoumen_protocol::enroll::claim_url(server, "K7M29QXD", &key),
        server: server.into(),
        problem: String::new(),
    };
    crate::ui::pages::enroll::apply_status(ui, &crate::ports::Status { screen_code: Some(code), ..Default::default() });
}

/// Fills the adapters as a kiosk in use would.
fn fill(ui: &AppWindow, page: &str, language: &str) {
    set_language(ui, language);
    let scan = ui.global::<ScanAdapter>();
    scan.set_gate_name("东门 East Gate".into());
    scan.set_clock("08:42".into());
    scan.set_online(true);
    scan.set_lists_age_min(3);
    scan.set_pending(2);
    ui.global::<AppState>().set_simulated(true);

    // A camera-like preview of a pass.
    let texts = synth::pass_texts(1, 5);
    let modules = synth::Modules::of(&texts[0]).expect("pass renders");
    let mut scene = synth::Scene::random(&mut synth::Rng::new(3), 0.2);
    (scene.width, scene.height) = (640, 480);
    scene.keep_in_frame(modules.size);
    let frame = synth::render(&modules, &scene, 1);
    let small = crate::scan::preprocess::downscale(&frame.view(), 320);
    let code = crate::scan::Scanner::new(crate::scan::Mode::Thorough).scan(&frame.view()).codes.into_iter().next();
    scan.set_preview(slint::Image::from_rgb8(preview_pixels(&small, code.as_ref(), 640)));
    scan.set_code_visible(code.is_some());

    let guard = ui.global::<GuardAdapter>();
    guard.set_count_in(214);
    guard.set_count_out(198);
    guard.set_count_denied(7);
    guard.set_count_fever(1);
    add_alarm(ui, alarm_row(&Alarm::Fever { pass_id: shoumen_protocol::PassId([1; 8]), centi: 3810 }).0, "38.1 °C");
    add_alarm(ui, alarm_row(&Alarm::Door(DoorAlarm::HeldOpen)).0, "");
    let entries = [
        ("08:41:57", "in", "ok", Verdict::Allow),
        ("08:41:20", "in", "fever", Verdict::Guard),
        ("08:40:02", "in", "expired", Verdict::Deny),
        ("08:39:45", "in", "manual_open", Verdict::Allow),
        ("08:38:10", "in", "passback", Verdict::Deny),
    ]
    .map(|(t, d, r, v)| EntryRow { time: t.into(), direction: d.into(), reason: r.into(), verdict: v });
    guard.set_entries(ModelRc::new(VecModel::from(entries.to_vec())));
    fill_visitor(ui);

    let result = |decision, reason, temp: Option<i32>| {
        Screen::Result(ResultView {
            unit: Some("3-502".into()),
            temperature_centi: temp,
            remeasure_after_min: (reason == "fever").then_some(5),
            passback: (reason == "passback").then_some(AntiPassback::Timed),
            retry_after_s: (reason == "passback").then_some(75),
            ..ResultView::bare(decision, reason)
        })
    };
    use shoumen_protocol::Decision::*;
    match page {
        "result-allow" => show(ui, &result(Allow, Reason::Ok, Some(3650))),
        "result-deny" => show(ui, &result(Deny, Reason::QuarantineNoExit, None)),
        "result-fever" => show(ui, &result(Guard, Reason::Fever, Some(3780))),
        "result-passback" => show(ui, &result(Deny, Reason::Passback, None)),
        "choose-direction" => {
            scan.set_direction_mode("both".into());
            show(ui, &Screen::ChooseDirection);
        }
        "guard" => {
            guard.set_unlocked(true);
            guard.set_opened_by("3f9a2c1b".into());
            let duty = [("3f9a2c1b", "07:58"), ("81d07e44", "08:02")]
                .map(|(pass, since)| DutyRow { pass: pass.into(), since: since.into() });
            guard.set_on_duty(ModelRc::new(VecModel::from(duty.to_vec())));
            guard.set_reason("ambulance".into());
            ui.global::<AppState>().set_page(Page::Guard);
        }
        "guard-pin" => {
            guard.set_pin_length(2);
            ui.global::<AppState>().set_page(Page::Guard);
        }
        "visitor" => ui.global::<AppState>().set_page(Page::Visitor),
        "demo" => ui.global::<AppState>().set_demo_open(true),
        "enroll" => fill_enroll(ui),
        _ => {}
    }
}
