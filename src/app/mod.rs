//! Wiring: threads, channels and the effect executor. No policy lives here.
//!
//! ```text
//! camera thread ─ frames → scan ─ PassRead ─┐
//! sensor thread ─ Temperature ──────────────┤→ core loop: step() → effects → executor
//! demo script / UI ─ events ────────────────┘      Record → store (commit first)
//!                                                   OpenGate → relay, Show → view …
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shoumen_protocol::{Decision, Entry};
use thiserror::Error;

use crate::clock::SystemClock;
use crate::gate::{step, Alarm, Effect, EntryDraft, Event, GateState, ResultView, Screen};
use crate::hw::{FrameSource, GateRelay, HwError, Indicator, Thermometer};
use crate::store::{Store, StoreError};

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

/// What the people at the gate see: the Slint UI, or the log when headless.
pub trait View: Send {
    fn show(&mut self, screen: &Screen);
    fn alarm(&mut self, alarm: &Alarm);
    fn recorded(&mut self, _entry: &Entry) {}
}

/// A view that only logs, for `run --headless`.
pub struct LogView;

impl View for LogView {
    fn show(&mut self, screen: &Screen) {
        match screen {
            Screen::Result(v) => tracing::info!(
                decision = v.decision.as_str(),
                reason = v.reason,
                unit = v.unit.as_deref().unwrap_or("-"),
                temperature = ?v.temperature_centi.map(|c| f64::from(c) / 100.0),
                "result"
            ),
            Screen::Remeasure { centi } => tracing::info!(temperature = f64::from(*centi) / 100.0, "re-measure"),
            other => tracing::debug!(?other, "screen"),
        }
    }

    fn alarm(&mut self, alarm: &Alarm) {
        tracing::warn!(?alarm, "alarm");
    }

    fn recorded(&mut self, entry: &Entry) {
        tracing::debug!(seq = entry.seq, reason = entry.reason, "entry committed");
    }
}

/// Carries out effects in order. A `Record` that fails cancels every later
/// `OpenGate` of the batch and turns the result into "call the guard".
pub struct Executor<'a> {
    pub entries: &'a mut dyn EntrySink,
    pub relay: &'a mut dyn GateRelay,
    pub indicator: &'a mut dyn Indicator,
    pub view: &'a mut dyn View,
    pub measure: &'a Sender<()>,
}

impl Executor<'_> {
    pub fn apply(&mut self, effects: Vec<Effect>) {
        let mut record_failed = false;
        for effect in effects {
            match effect {
                Effect::Record(draft) => match self.entries.append(&draft) {
                    Ok(entry) => self.view.recorded(&entry),
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
                    let _ = self.measure.send(());
                }
                Effect::Show(Screen::Result(view)) if record_failed => {
                    self.view.show(&Screen::Result(ResultView {
                        decision: Decision::Guard,
                        reason: "store_fault",
                        ..view
                    }));
                }
                Effect::Show(screen) => self.view.show(&screen),
                Effect::Sound(sound) => self.indicator.signal(sound),
                Effect::Alarm(alarm) => self.view.alarm(&alarm),
            }
        }
    }
}

/// The devices a kiosk runs with.
pub struct Devices {
    pub camera: Box<dyn FrameSource>,
    pub thermometer: Box<dyn Thermometer>,
    pub relay: Box<dyn GateRelay>,
    pub indicator: Box<dyn Indicator>,
}

/// Starts the camera + scan thread: frames in, `PassRead` events out.
pub fn spawn_camera(
    mut camera: Box<dyn FrameSource>,
    events: Sender<Event>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AppError> {
    std::thread::Builder::new()
        .name("camera".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(250);
            let mut gone = false;
            let mut scanner = crate::scan::Scanner::new(crate::scan::Mode::Live);
            let mut report_at = Instant::now() + Duration::from_secs(60);
            let mut frames_at_report = 0;
            while !stop.load(Ordering::Relaxed) {
                match camera.next_frame() {
                    Ok(frame) => {
                        if gone {
                            tracing::info!("camera is back");
                            gone = false;
                        }
                        backoff = Duration::from_millis(250);
                        if Instant::now() >= report_at {
                            let st = scanner.stats;
                            tracing::info!(
                                fps = (st.frames - frames_at_report) as f64 / 60.0,
                                frames = st.frames,
                                decoded = st.decoded,
                                decoder_panics = st.panics,
                                "camera"
                            );
                            frames_at_report = st.frames;
                            report_at += Duration::from_secs(60);
                        }
                        let Some((width, height, luma)) = crate::scan::to_luma(&frame) else { continue };
                        let outcome = scanner.scan(&crate::scan::GrayView { width, height, pixels: &luma });
                        for code in outcome.codes {
                            if let Ok(text) = String::from_utf8(code.payload().to_vec()) {
                                if events.send(Event::PassRead { text }).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    Err(HwError::BadFrame(e)) => tracing::debug!(error = %e, "frame skipped"),
                    Err(e) => {
                        if !gone {
                            tracing::error!(error = %e, "camera lost; retrying with backoff");
                            gone = true;
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
        })
        .map_err(|e| AppError::Thread("camera", e))
}

/// Starts the thermometer thread: measures on request, answers with events.
pub fn spawn_sensor(
    mut thermometer: Box<dyn Thermometer>,
    requests: Receiver<()>,
    events: Sender<Event>,
) -> Result<JoinHandle<()>, AppError> {
    std::thread::Builder::new()
        .name("thermometer".into())
        .spawn(move || {
            while requests.recv().is_ok() {
                // Several queued requests need one measurement.
                while requests.try_recv().is_ok() {}
                let reading = thermometer.measure();
                if events.send(Event::Temperature(reading)).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| AppError::Thread("thermometer", e))
}

pub struct RunOptions {
    /// Stop after this long (soak and end-to-end tests).
    pub exit_after: Option<Duration>,
    /// How often the core gets a `Tick` when nothing else happens.
    pub tick: Duration,
}

/// The core loop: the only place where the gate state changes. Returns
/// when `stop` is set, the event channel closes, or `exit_after` passes.
#[allow(clippy::too_many_arguments)]
pub fn core_loop(
    state: &mut GateState,
    store: &mut Store,
    clock: &SystemClock,
    events: &Receiver<Event>,
    measure: &Sender<()>,
    relay: &mut dyn GateRelay,
    indicator: &mut dyn Indicator,
    view: &mut dyn View,
    stop: &AtomicBool,
    opts: &RunOptions,
) {
    let started = Instant::now();
    let mut executor = Executor { entries: store, relay, indicator, view, measure };
    while !stop.load(Ordering::Relaxed) {
        if opts.exit_after.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let event = match events.recv_timeout(opts.tick) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => Event::Tick,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let effects = step(state, event, clock.now());
        executor.apply(effects);
    }
    executor.relay.lock();
}

/// The two channels around the core: gate events in, measurement requests out.
pub struct Channels {
    pub events: (Sender<Event>, Receiver<Event>),
    pub measure: (Sender<()>, Receiver<()>),
}

pub fn channels() -> Channels {
    Channels { events: mpsc::channel(), measure: mpsc::channel() }
}

#[cfg(test)]
mod tests;
