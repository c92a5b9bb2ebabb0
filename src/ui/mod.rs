//! The touchscreen UI: Slint pages in `ui/`, one adapter global per page,
//! and the Rust side that feeds them.
//!
//! Worker threads (core loop, camera) never touch the window: they post
//! jobs through a [`Poster`], which runs them on the UI thread's event loop
//! (or queues them for tests to run explicitly).

pub mod controller;
pub mod screenshot;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use slint::{ComponentHandle, Model, ModelRc, SharedPixelBuffer, SharedString, VecModel};

use crate::app::{Status, View};
use crate::gate::{Alarm, DoorAlarm, ResultView, Screen};
use crate::scan::{Code, GrayBuf};
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
            self.poster.post(Box::new(move |_| *pong.lock().unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now()));
        }
        self.pong.lock().unwrap_or_else(|e| e.into_inner()).elapsed() < UI_SILENCE
    }

    fn show(&mut self, screen: &Screen) {
        let screen = screen.clone();
        self.poster.post(Box::new(move |ui| show(ui, &screen)));
    }

    fn alarm(&mut self, alarm: &Alarm) {
        let (kind, detail) = alarm_row(alarm);
        self.poster.post(Box::new(move |ui| add_alarm(ui, kind, &detail)));
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
    let app = ui.global::<AppState>();
    let scan = ui.global::<ScanAdapter>();
    // The guard's console and the visitor page stay up while nothing happens.
    let idle_page = matches!(app.get_page(), Page::Guard | Page::Visitor);
    match screen {
        Screen::Scan { .. } => {
            scan.set_step(ScanStep::ShowPass);
            if !idle_page {
                app.set_page(Page::Scan);
            }
        }
        Screen::Measuring { .. } => {
            scan.set_step(ScanStep::Measuring);
            app.set_page(Page::Scan);
        }
        Screen::Remeasure { centi } => {
            scan.set_step(ScanStep::Remeasure);
            scan.set_temperature(celsius(*centi).into());
            app.set_page(Page::Scan);
        }
        Screen::Result(view) => show_result(ui, view),
        Screen::GuardError { reason } => ui.global::<GuardAdapter>().set_message((*reason).into()),
    }
}

fn show_result(ui: &AppWindow, view: &ResultView) {
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

fn alarm_row(alarm: &Alarm) -> (&'static str, String) {
    match alarm {
        Alarm::Fever { centi, .. } => ("fever", celsius(*centi)),
        Alarm::QuarantineExit { pass_id } => ("quarantine_exit", pass_id.to_hex()),
        Alarm::ThermometerFault(e) => ("device", e.clone()),
        Alarm::ListsTooOld { .. } => ("lists_too_old", String::new()),
        Alarm::DeviceFault { device, message } => ("device", format!("{device}: {message}")),
        Alarm::Door(DoorAlarm::HeldOpen) => ("door_held_open", String::new()),
        Alarm::Door(DoorAlarm::ForcedOpen) => ("forced_open", String::new()),
    }
}

fn add_alarm(ui: &AppWindow, kind: &str, detail: &str) {
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

fn local_time(wall_ms: i64) -> String {
    let secs = wall_ms.div_euclid(1000) as libc::time_t;
    // SAFETY: localtime_r writes only into the struct we pass.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return "--:--".into();
    }
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

/// The clock shown in the status bar.
pub fn clock_text(wall_ms: i64) -> String {
    local_time(wall_ms)[..5].to_string()
}

fn apply_status(ui: &AppWindow, s: &Status) {
    let scan = ui.global::<ScanAdapter>();
    scan.set_pending(s.pending as i32);
    scan.set_online(s.online);
    scan.set_lists_age_min(s.lists_age_s.map_or(-1, |a| (a / 60).min(i64::from(i32::MAX)) as i32));
    scan.set_lists_stale(s.lists_stale);
    scan.set_camera_ok(s.health.iter().find(|h| h.device == "camera").is_none_or(|h| h.ok));
    let g = ui.global::<GuardAdapter>();
    g.set_count_in(s.counts.allowed_in as i32);
    g.set_count_out(s.counts.allowed_out as i32);
    g.set_count_denied(s.counts.denied as i32);
    g.set_count_fever(s.counts.fever as i32);
    let entries: Vec<EntryRow> = s
        .recent
        .iter()
        .map(|e| EntryRow {
            time: local_time(e.wall_ms).into(),
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

/// The preview as an RGB picture with the detected code outlined in green.
pub fn preview_pixels(gray: &GrayBuf, code: Option<&Code>, frame_width: usize) -> SharedPixelBuffer<slint::Rgb8Pixel> {
    let mut buf = SharedPixelBuffer::<slint::Rgb8Pixel>::new(gray.width as u32, gray.height as u32);
    for (dst, &g) in buf.make_mut_slice().iter_mut().zip(&gray.pixels) {
        *dst = slint::Rgb8Pixel { r: g, g, b: g };
    }
    if let Some(code) = code {
        let scale = gray.width as f32 / frame_width.max(1) as f32;
        let xs = code.corners.iter().map(|p| p.0 * scale);
        let ys = code.corners.iter().map(|p| p.1 * scale);
        let clamp_x = |v: f32| (v.max(0.0) as usize).min(gray.width - 1);
        let clamp_y = |v: f32| (v.max(0.0) as usize).min(gray.height - 1);
        let (x0, x1) = (clamp_x(xs.clone().fold(f32::MAX, f32::min) - 6.0), clamp_x(xs.fold(f32::MIN, f32::max) + 6.0));
        let (y0, y1) = (clamp_y(ys.clone().fold(f32::MAX, f32::min) - 6.0), clamp_y(ys.fold(f32::MIN, f32::max) + 6.0));
        let w = gray.width;
        let px = buf.make_mut_slice();
        let green = slint::Rgb8Pixel { r: 74, g: 222, b: 128 };
        for t in 0..2 {
            for x in x0..=x1 {
                px[(y0 + t).min(y1) * w + x] = green;
                px[y1.saturating_sub(t).max(y0) * w + x] = green;
            }
            for y in y0..=y1 {
                px[y * w + (x0 + t).min(x1)] = green;
                px[y * w + x1.saturating_sub(t).max(x0)] = green;
            }
        }
    }
    buf
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
