//! The scan page: the camera preview, what to do now, the status bar.

use std::time::Duration;

use slint::{ComponentHandle, SharedPixelBuffer};

use super::Wiring;
use shoumen_protocol::Direction;

use crate::frame::GrayBuf;
use crate::gate::Event;
use crate::ports::Status;
use crate::scan::Code;
use crate::ui::{clock_text, AppState, AppWindow, Page, ScanAdapter, ScanStep};

/// Keeps the status bar's clock ticking.
pub struct ScanController {
    _clock: slint::Timer,
}

pub fn setup(ui: &AppWindow, w: &Wiring) -> ScanController {
    let scan = ui.global::<ScanAdapter>();
    scan.set_gate_name(w.gate_name.clone().into());
    scan.set_direction_mode(w.direction.clone().into());
    scan.on_choose_direction({
        let events = w.events.clone();
        move |d| {
            let direction = if d == "out" { Direction::Out } else { Direction::In };
            let _ = events.send(Event::ChooseDirection(direction));
        }
    });
    scan.set_clock(clock_text(w.clock.now().wall_ms).into());
    scan.on_open_visitor({
        let weak = ui.as_weak();
        move || {
            if let Some(ui) = weak.upgrade() {
                ui.global::<AppState>().set_page(Page::Visitor);
            }
        }
    });
    let clock = slint::Timer::default();
    clock.start(slint::TimerMode::Repeated, Duration::from_secs(1), {
        let weak = ui.as_weak();
        let time = w.clock.clone();
        move || {
            if let Some(ui) = weak.upgrade() {
                ui.global::<ScanAdapter>().set_clock(clock_text(time.now().wall_ms).into());
            }
        }
    });
    ScanController { _clock: clock }
}

/// Shows a step of the scan page; the guard's console and the visitor page
/// stay up while nobody is at the gate.
pub fn show_step(ui: &AppWindow, step: ScanStep, temperature: Option<String>) {
    let app = ui.global::<AppState>();
    let scan = ui.global::<ScanAdapter>();
    scan.set_step(step);
    if step == ScanStep::ShowPass {
        // A tapped 进门/出门 holds for one pass only.
        scan.set_chosen_direction("".into());
    }
    if let Some(t) = temperature {
        scan.set_temperature(t.into());
    }
    let idle_page = matches!(app.get_page(), Page::Guard | Page::Visitor);
    if step != ScanStep::ShowPass || !idle_page {
        app.set_page(Page::Scan);
    }
}

/// The status bar's part of the status.
pub fn apply_status(ui: &AppWindow, s: &Status) {
    let scan = ui.global::<ScanAdapter>();
    scan.set_pending(s.pending as i32);
    scan.set_online(s.online);
    scan.set_lists_age_min(s.lists_age_s.map_or(-1, |a| (a / 60).min(i64::from(i32::MAX)) as i32));
    scan.set_lists_stale(s.lists_stale);
    scan.set_camera_ok(s.health.iter().find(|h| h.device == "camera").is_none_or(|h| h.ok));
    scan.set_passback_fallback(s.passback_fallback);
    scan.set_time_uncertain(s.time_uncertain);
}

/// Puts a camera preview on the page, the code in view outlined.
pub fn set_preview(ui: &AppWindow, pixels: SharedPixelBuffer<slint::Rgb8Pixel>, code_visible: bool) {
    let scan = ui.global::<ScanAdapter>();
    scan.set_preview(slint::Image::from_rgb8(pixels));
    scan.set_code_visible(code_visible);
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
