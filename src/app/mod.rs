//! Wiring: threads, channels and the effect executor. No policy lives here.
//!
//! ```text
//! camera thread ─ frames → scan ─ PassRead ─┐
//! sensor thread ─ Temperature ──────────────┤→ core loop: step() → effects → executor
//! demo script / UI ─ events ────────────────┘      Record → store (commit first)
//!                                                   OpenGate → relay, Show → view …
//! ```

mod core_loop;
pub mod kiosk;
pub mod status;

pub use core_loop::{core_loop, Ports, Watchdog};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shoumen_protocol::{Decision, Direction, Entry};
use thiserror::Error;

use crate::clock::SystemClock;
use crate::frame::{GrayBuf, GrayView};
use crate::gate::{Alarm, Effect, EntryDraft, Event, ResultView, Screen, TempReading};
use crate::hw::{FrameSource, GateRelay, HwError, Indicator, Thermometer};
use crate::ports::{Command, SensorRequest, View};
use crate::scan::Code;
use crate::store::{Store, StoreError};
use crate::voice::Voice;

pub use crate::ports::STAGE;

#[derive(Debug, Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
}

/// Where entries are committed. The store in production; a failing double
/// in tests.
pub trait EntrySink {
    fn append(&mut self, draft: &EntryDraft) -> Result<Entry, StoreError>;
}

impl EntrySink for Store {
    fn append(&mut self, draft: &EntryDraft) -> Result<Entry, StoreError> {
        Store::append(self, draft)
    }
}

/// A view that only logs, for `run --headless`.
pub struct LogView;

impl View for LogView {
    fn show(&mut self, screen: &Screen) {
        match screen {
            Screen::Result(v) => tracing::info!(
                decision = v.decision.as_str(),
                reason = v.reason.as_str(),
                unit = v.unit.as_deref().unwrap_or("-"),
                temperature = ?v.temperature_centi.map(|c| f64::from(c) / 100.0),
                "result"
            ),
            Screen::Remeasure { centi } => tracing::info!(temperature = f64::from(*centi) / 100.0, "re-measure"),
            Screen::ChooseDirection => tracing::info!("asking: in or out?"),
            other => tracing::debug!(?other, "screen"),
        }
    }

    fn alarm(&mut self, alarm: &Alarm) {
        tracing::warn!(?alarm, "alarm");
    }

    fn recorded(&mut self, entry: &Entry) {
        tracing::debug!(seq = entry.seq, reason = entry.reason, "entry committed");
    }

    fn message(&mut self, code: &str, detail: &str) {
        tracing::info!(code, detail, "guard action");
    }
}

/// Carries out effects in order. A `Record` that fails cancels every later
/// `OpenGate` of the batch and turns the result into "call the guard".
pub struct Executor<'a> {
    pub entries: &'a mut dyn EntrySink,
    pub relay: &'a mut dyn GateRelay,
    pub indicator: &'a mut dyn Indicator,
    pub view: &'a mut dyn View,
    pub measure: &'a Sender<SensorRequest>,
    /// Spoken prompts, when the kiosk speaks.
    pub voice: Option<&'a mut Voice>,
}

impl Executor<'_> {
    pub fn apply(&mut self, effects: Vec<Effect>) {
        let mut record_failed = false;
        for effect in effects {
            match effect {
                Effect::Record(draft) => match self.entries.append(&draft) {
                    Ok(entry) => {
                        tracing::trace!(target: STAGE, stage = "recorded");
                        self.view.recorded(&entry)
                    }
                    Err(e) => {
                        record_failed = true;
                        tracing::error!(error = %e, "entry not recorded; the gate stays closed");
                        self.view.alarm(&Alarm::DeviceFault { device: "store", message: e.to_string() });
                    }
                },
                Effect::OpenGate { pulse_ms } => {
                    if record_failed {
                        continue;
                    }
                    if let Err(e) = self.relay.pulse(pulse_ms) {
                        tracing::error!(error = %e, "gate relay failed");
                        self.view.alarm(&Alarm::DeviceFault { device: "relay", message: e.to_string() });
                    }
                }
                Effect::Measure => {
                    // The sensor thread lives as long as the core loop.
                    let _ = self.measure.send(SensorRequest::Measure);
                }
                Effect::Show(Screen::Result(view)) if record_failed => {
                    self.show(&Screen::Result(ResultView {
                        decision: Decision::Guard,
                        reason: shoumen_protocol::Reason::StoreFault,
                        ..view
                    }));
                }
                Effect::Show(screen) => self.show(&screen),
                Effect::Sound(sound) => self.indicator.signal(sound),
                Effect::Alarm(alarm) => {
                    if let Some(voice) = self.voice.as_deref_mut() {
                        voice.alarm(&alarm, minute_of_day());
                    }
                    self.view.alarm(&alarm)
                }
            }
        }
    }
}

impl Executor<'_> {
    fn show(&mut self, screen: &Screen) {
        if matches!(screen, Screen::Result(_)) {
            tracing::trace!(target: STAGE, stage = "shown");
        }
        self.view.show(screen);
        if let Some(voice) = self.voice.as_deref_mut() {
            voice.screen(screen, minute_of_day());
        }
    }
}

/// Now as minutes after local midnight, for the voice's quiet hours.
fn minute_of_day() -> Option<u32> {
    crate::clock::local_hms(SystemClock::wall_ms_now()).map(|(h, m, _)| h * 60 + m)
}

/// What the camera thread reports for the health screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CameraHealth {
    pub ok: bool,
    pub fps: f32,
    pub error: Option<String>,
    /// Mean time to scan a frame over the last window (ms).
    pub scan_ms: Option<f32>,
}

/// Receives a downscaled preview (~15 fps), the code in view if any (in
/// frame pixels), and the frame's width, to scale the code onto the preview.
pub type PreviewSink = Box<dyn FnMut(&GrayBuf, Option<&Code>, usize) + Send>;

/// Starts the camera + scan thread: frames in, `PassRead` events out.
/// `direction` is set for a camera that sees only one way (the inward
/// camera reads people going out).
pub fn spawn_camera(
    mut camera: Box<dyn FrameSource>,
    direction: Option<Direction>,
    events: Sender<Event>,
    health: Arc<Mutex<CameraHealth>>,
    mut preview: Option<PreviewSink>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AppError> {
    std::thread::Builder::new()
        .name(if direction.is_some() { "camera-inward" } else { "camera" }.into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(250);
            let mut gone = false;
            let mut scanner = crate::scan::Scanner::new(crate::scan::Mode::Live);
            let mut window = ScanWindow::new();
            let mut last_preview = Instant::now() - Duration::from_secs(1);
            let mut report_at = Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::Relaxed) {
                match camera.next_frame() {
                    Ok(frame) => {
                        if gone {
                            tracing::info!("camera is back");
                            gone = false;
                        }
                        backoff = Duration::from_millis(250);
                        let Some((width, height, luma)) = frame.to_luma() else { continue };
                        let view = GrayView { width, height, pixels: &luma };
                        let started = Instant::now();
                        // A bug in the pipeline costs a frame, never the camera.
                        let Some(outcome) = crate::isolate::isolate(|| scanner.scan(&view)) else {
                            tracing::error!("the scan of a frame panicked; starting the scanner afresh");
                            scanner = crate::scan::Scanner::new(crate::scan::Mode::Live);
                            continue;
                        };
                        window.scanning += started.elapsed();
                        if let Some(sink) = preview.as_mut() {
                            if last_preview.elapsed() >= Duration::from_millis(66) {
                                last_preview = Instant::now();
                                sink(&crate::scan::preprocess::downscale(&view, 320), outcome.codes.first(), width);
                            }
                        }
                        for code in outcome.codes {
                            if let Ok(text) = String::from_utf8(code.payload().to_vec()) {
                                if events.send(Event::PassRead { text, direction }).is_err() {
                                    return;
                                }
                            }
                        }
                        if let Some(h) = window.health(scanner.stats.frames) {
                            *health.lock().unwrap_or_else(|e| e.into_inner()) = h;
                        }
                        if Instant::now() >= report_at {
                            let st = scanner.stats;
                            tracing::info!(
                                frames = st.frames,
                                decoded = st.decoded,
                                decoder_panics = st.panics,
                                "camera"
                            );
                            report_at += Duration::from_secs(60);
                        }
                    }
                    Err(HwError::BadFrame(e)) => tracing::debug!(error = %e, "frame skipped"),
                    Err(e) => {
                        if !gone {
                            tracing::error!(error = %e, "camera lost; retrying with backoff");
                            gone = true;
                            *health.lock().unwrap_or_else(|e| e.into_inner()) =
                                CameraHealth { ok: false, fps: 0.0, error: Some(e.to_string()), scan_ms: None };
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
        })
        .map_err(|e| AppError::Thread("camera", e))
}

/// The camera's frame rate and mean scan time, over windows of 2 s.
struct ScanWindow {
    started: Instant,
    /// The scanner's frame count when the window started.
    frames: u64,
    /// Time spent scanning in this window.
    scanning: Duration,
}

impl ScanWindow {
    fn new() -> ScanWindow {
        ScanWindow { started: Instant::now(), frames: 0, scanning: Duration::ZERO }
    }

    /// The camera's health once the window is over (and a new one started).
    fn health(&mut self, frames_now: u64) -> Option<CameraHealth> {
        let elapsed = self.started.elapsed();
        if elapsed < Duration::from_secs(2) {
            return None;
        }
        let frames = frames_now - self.frames;
        let scan_ms = (frames > 0).then(|| self.scanning.as_secs_f32() * 1000.0 / frames as f32);
        let fps = frames as f32 / elapsed.as_secs_f32();
        *self = ScanWindow { started: Instant::now(), frames: frames_now, scanning: Duration::ZERO };
        Some(CameraHealth { ok: true, fps, error: None, scan_ms })
    }
}

/// How often an idle thermometer is asked whether it still answers.
const THERMOMETER_CHECK_EVERY: Duration = Duration::from_secs(10);

/// Starts the thermometer thread: measures on request, answers with events,
/// and checks an idle sensor every few seconds so a fault is seen before
/// the next person needs it.
pub fn spawn_sensor(
    mut thermometer: Box<dyn Thermometer>,
    requests: Receiver<SensorRequest>,
    events: Sender<Event>,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AppError> {
    std::thread::Builder::new()
        .name("thermometer".into())
        .spawn(move || {
            let health = |fault: Option<String>| Event::DeviceHealth { device: "thermometer", fault };
            let mut next_check = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if Instant::now() >= next_check {
                    next_check = Instant::now() + THERMOMETER_CHECK_EVERY;
                    if events.send(health(thermometer.check().err())).is_err() {
                        return;
                    }
                }
                let request = match requests.recv_timeout(Duration::from_millis(200)) {
                    Ok(request) => request,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                next_check = Instant::now() + THERMOMETER_CHECK_EVERY;
                let sent = match request {
                    SensorRequest::Measure => {
                        // Several queued requests need one measurement.
                        while requests.try_recv() == Ok(SensorRequest::Measure) {}
                        tracing::trace!(target: STAGE, stage = "measure");
                        let reading = thermometer.measure();
                        let fault = match &reading {
                            TempReading::Fault(e) => Some(e.clone()),
                            _ => None,
                        };
                        events.send(Event::Temperature(reading)).and_then(|()| events.send(health(fault))).is_ok()
                    }
                    SensorRequest::Calibrate { reference_c } => {
                        commands.send(Command::Calibrated(calibrate(thermometer.as_mut(), reference_c))).is_ok()
                    }
                };
                if !sent {
                    return;
                }
            }
        })
        .map_err(|e| AppError::Thread("thermometer", e))
}

/// Measures the person in front and sets the offset that makes the reading
/// equal to their true temperature.
fn calibrate(thermometer: &mut dyn Thermometer, reference_c: f32) -> Result<f32, String> {
    match thermometer.measure() {
        TempReading::Body(centi) => {
            let offset = thermometer.offset_c() + reference_c - centi as f32 / 100.0;
            thermometer.set_offset_c(offset);
            Ok(offset)
        }
        TempReading::NoSubject => Err("nobody in front of the sensor".to_string()),
        TempReading::Fault(e) => Err(e),
    }
}

pub struct RunOptions {
    /// Stop after this long (soak and end-to-end tests).
    pub exit_after: Option<Duration>,
    /// How often the core gets a `Tick` when nothing else happens.
    pub tick: Duration,
    /// Where the store lives, for the disk-space line of the health screen.
    pub data_dir: std::path::PathBuf,
    /// What drives the gate I/O, for the health screen ("GPIO17 relay", "simulated").
    pub gpio_label: String,
}

/// The channels around the core.
pub struct Channels {
    pub events: (Sender<Event>, Receiver<Event>),
    pub sensor: (Sender<SensorRequest>, Receiver<SensorRequest>),
    pub commands: (Sender<Command>, Receiver<Command>),
}

pub fn channels() -> Channels {
    Channels { events: mpsc::channel(), sensor: mpsc::channel(), commands: mpsc::channel() }
}

#[cfg(test)]
mod tests;
