//! The touchscreen UI: Slint pages in `ui/`, one adapter global per page,
//! and the Rust side that feeds them.
//!
//! Worker threads (core loop, camera) never touch the window: they post
//! jobs through a [`Poster`], which runs them on the UI thread's event loop
//! (or queues them for tests to run explicitly).

pub mod pages;
pub mod screenshot;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use slint::{ComponentHandle, SharedPixelBuffer, SharedString};

use crate::gate::{Alarm, Screen};
use crate::ports::{Status, View};
use shoumen_protocol::Decision;

slint::include_modules!();

/// Work for the UI thread.
pub type Job = Box<dyn FnOnce(&AppWindow) + Send>;

/// How worker threads reach the UI.
#[derive(Clone)]
pub enum Poster {
    /// The running Slint event loop.
    EventLoop(slint::Weak<AppWindow>),
    /// A queue the caller drains with [`Poster::pump`] (tests, screenshots).
    Queue(Arc<Mutex<VecDeque<Job>>>),
}

impl Poster {
    pub fn queue() -> Poster {
        Poster::Queue(Arc::default())
    }

    pub fn post(&self, job: Job) {
        match self {
            Poster::EventLoop(weak) => {
                // Fails only once the event loop has quit: nothing to show then.
                let _ = weak.upgrade_in_event_loop(move |ui| job(&ui));
            }
            Poster::Queue(q) => q.lock().unwrap_or_else(|e| e.into_inner()).push_back(job),
        }
    }

    /// Runs the queued jobs (queue mode only); returns how many ran.
    pub fn pump(&self, ui: &AppWindow) -> usize {
        let Poster::Queue(q) = self else { return 0 };
        let jobs: Vec<Job> = q.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
        let n = jobs.len();
        for job in jobs {
            job(ui);
        }
        n
    }
}

/// The gate's view on the Slint window.
pub struct SlintView {
    pub poster: Poster,
    /// When the UI thread last ran a job we posted (for the watchdog).
    pong: Arc<Mutex<std::time::Instant>>,
    /// When we last posted one: at most one ping a second reaches the UI thread.
    pinged: std::time::Instant,
}

impl SlintView {
    pub fn new(poster: Poster) -> SlintView {
        let now = std::time::Instant::now();
        SlintView { poster, pong: Arc::new(Mutex::new(now)), pinged: now }
    }
}

/// How long the UI thread may be silent before the watchdog stops.
const UI_SILENCE: std::time::Duration = std::time::Duration::from_secs(10);

impl View for SlintView {
    /// Posts a ping and judges by the answer to an earlier one: a UI thread
    /// stuck for longer than [`UI_SILENCE`] is not alive.
    fn alive(&mut self) -> bool {
        // The core loop asks on every event; the UI thread need not answer each time.
        if self.pinged.elapsed() >= std::time::Duration::from_secs(1) {
            self.pinged = std::time::Instant::now();
            let pong = self.pong.clone();
            self.poster
                .post(Box::new(move |_| *pong.lock().unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now()));
        }
        self.pong.lock().unwrap_or_else(|e| e.into_inner()).elapsed() < UI_SILENCE
    }

    fn show(&mut self, screen: &Screen) {
        let screen = screen.clone();
        self.poster.post(Box::new(move |ui| show(ui, &screen)));
    }

    fn alarm(&mut self, alarm: &Alarm) {
        let (kind, detail) = pages::guard::alarm_row(alarm);
        self.poster.post(Box::new(move |ui| pages::guard::add_alarm(ui, kind, &detail)));
    }

    fn status(&mut self, status: &Status) {
        let status = status.clone();
        self.poster.post(Box::new(move |ui| apply_status(ui, &status)));
    }

    fn message(&mut self, code: &str, detail: &str) {
        let (code, detail) = (SharedString::from(code), SharedString::from(detail));
        self.poster.post(Box::new(move |ui| {
            let g = ui.global::<GuardAdapter>();
            g.set_message(code);
            g.set_message_detail(detail);
        }));
    }
}

fn verdict(d: Decision) -> Verdict {
    match d {
        Decision::Allow => Verdict::Allow,
        Decision::Deny => Verdict::Deny,
        Decision::Guard => Verdict::Guard,
    }
}

fn celsius(centi: i32) -> String {
    format!("{:.1} °C", centi as f32 / 100.0)
}

/// Puts a screen of the gate core on the window.
pub fn show(ui: &AppWindow, screen: &Screen) {
    match screen {
        Screen::Scan { .. } => pages::scan::show_step(ui, ScanStep::ShowPass, None),
        Screen::Measuring { .. } => pages::scan::show_step(ui, ScanStep::Measuring, None),
        Screen::Remeasure { centi } => pages::scan::show_step(ui, ScanStep::Remeasure, Some(celsius(*centi))),
        Screen::ChooseDirection => pages::scan::show_step(ui, ScanStep::ChooseDirection, None),
        Screen::Result(view) => pages::result::show(ui, view),
        Screen::GuardError { reason } => ui.global::<GuardAdapter>().set_message((*reason).into()),
        Screen::ConsoleOpen { by } => {
            ui.global::<GuardAdapter>().invoke_console_opened(pages::guard::pass_digits(by).into())
        }
    }
}

pub fn local_time(wall_ms: i64) -> String {
    match crate::clock::local_hms(wall_ms) {
        Some((h, m, s)) => format!("{h:02}:{m:02}:{s:02}"),
        None => "--:--".into(),
    }
}

/// The clock shown in the status bar.
pub fn clock_text(wall_ms: i64) -> String {
    local_time(wall_ms)[..5].to_string()
}

fn apply_status(ui: &AppWindow, s: &Status) {
    pages::scan::apply_status(ui, s);
    pages::guard::apply_status(ui, s);
    pages::enroll::apply_status(ui, s);
}

/// A QR code of `text` as an image for the visitor page.
pub fn qr_image(text: &str) -> Option<slint::Image> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let img = code.render::<image::Luma<u8>>().module_dimensions(8, 8).quiet_zone(false).build();
    let mut buf = SharedPixelBuffer::<slint::Rgb8Pixel>::new(img.width(), img.height());
    for (dst, p) in buf.make_mut_slice().iter_mut().zip(img.pixels()) {
        *dst = slint::Rgb8Pixel { r: p[0], g: p[0], b: p[0] };
    }
    Some(slint::Image::from_rgb8(buf))
}

/// Switches the UI language ("zh_CN" or "en").
pub fn set_language(ui: &AppWindow, language: &str) {
    if let Err(e) = slint::select_bundled_translation(language) {
        tracing::warn!(language, error = %e, "cannot switch language");
        return;
    }
    ui.global::<AppState>().set_language(language.into());
}
