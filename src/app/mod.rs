//! Wiring: threads, channels and the effect executor. No policy lives here.
//!
//! ```text
//! camera thread ─ frames → scan ─ PassRead ─┐
//! sensor thread ─ Temperature ──────────────┤→ core loop: step() → effects → executor
//! demo script / UI ─ events ────────────────┘      Record → store (commit first)
//!                                                   OpenGate → relay, Show → view …
//! ```

pub mod kiosk;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shoumen_protocol::{Decision, Entry};
use thiserror::Error;

use crate::clock::SystemClock;
use crate::gate::{step, Alarm, Effect, EntryDraft, Event, GateState, ResultView, Screen, TempReading};
use crate::hw::{FrameSource, GateRelay, HwError, Indicator, Thermometer};
use crate::ports::{Command, Counts, Health, SensorRequest, Status, View};
use crate::frame::{GrayBuf, GrayView};
use crate::scan::Code;
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
                    let _ = self.measure.send(SensorRequest::Measure);
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

/// What the camera thread reports for the health screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CameraHealth {
    pub ok: bool,
    pub fps: f32,
    pub error: Option<String>,
}

/// Receives a downscaled preview (~15 fps), the code in view if any (in
/// frame pixels), and the frame's width, to scale the code onto the preview.
pub type PreviewSink = Box<dyn FnMut(&GrayBuf, Option<&Code>, usize) + Send>;

/// Starts the camera + scan thread: frames in, `PassRead` events out.
pub fn spawn_camera(
    mut camera: Box<dyn FrameSource>,
    events: Sender<Event>,
    health: Arc<Mutex<CameraHealth>>,
    mut preview: Option<PreviewSink>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AppError> {
    std::thread::Builder::new()
        .name("camera".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(250);
            let mut gone = false;
            let mut scanner = crate::scan::Scanner::new(crate::scan::Mode::Live);
            let mut window = (Instant::now(), 0u64);
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
                        let outcome = scanner.scan(&view);
                        if let Some(sink) = preview.as_mut() {
                            if last_preview.elapsed() >= Duration::from_millis(66) {
                                last_preview = Instant::now();
                                sink(&crate::scan::preprocess::downscale(&view, 320), outcome.codes.first(), width);
                            }
                        }
                        for code in outcome.codes {
                            if let Ok(text) = String::from_utf8(code.payload().to_vec()) {
                                if events.send(Event::PassRead { text }).is_err() {
                                    return;
                                }
                            }
                        }
                        let elapsed = window.0.elapsed();
                        if elapsed >= Duration::from_secs(2) {
                            let fps = (scanner.stats.frames - window.1) as f32 / elapsed.as_secs_f32();
                            *health.lock().unwrap_or_else(|e| e.into_inner()) = CameraHealth { ok: true, fps, error: None };
                            window = (Instant::now(), scanner.stats.frames);
                        }
                        if Instant::now() >= report_at {
                            let st = scanner.stats;
                            tracing::info!(frames = st.frames, decoded = st.decoded, decoder_panics = st.panics, "camera");
                            report_at += Duration::from_secs(60);
                        }
                    }
                    Err(HwError::BadFrame(e)) => tracing::debug!(error = %e, "frame skipped"),
                    Err(e) => {
                        if !gone {
                            tracing::error!(error = %e, "camera lost; retrying with backoff");
                            gone = true;
                            *health.lock().unwrap_or_else(|e| e.into_inner()) =
                                CameraHealth { ok: false, fps: 0.0, error: Some(e.to_string()) };
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
    requests: Receiver<SensorRequest>,
    events: Sender<Event>,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AppError> {
    std::thread::Builder::new()
        .name("thermometer".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let request = match requests.recv_timeout(Duration::from_millis(200)) {
                    Ok(request) => request,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                match request {
                    SensorRequest::Measure => {
                        // Several queued requests need one measurement.
                        while requests.try_recv() == Ok(SensorRequest::Measure) {}
                        if events.send(Event::Temperature(thermometer.measure())).is_err() {
                            return;
                        }
                    }
                    SensorRequest::Calibrate { reference_c } => {
                        let result = match thermometer.measure() {
                            TempReading::Body(centi) => {
                                let offset = thermometer.offset_c() + reference_c - centi as f32 / 100.0;
                                thermometer.set_offset_c(offset);
                                Ok(offset)
                            }
                            TempReading::NoSubject => Err("nobody in front of the sensor".to_string()),
                            TempReading::Fault(e) => Err(e),
                        };
                        if commands.send(Command::Calibrated(result)).is_err() {
                            return;
                        }
                    }
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
    /// Where the store lives, for the disk-space line of the health screen.
    pub data_dir: std::path::PathBuf,
    /// What drives the gate I/O, for the health screen ("GPIO17 relay", "simulated").
    pub gpio_label: String,
}

/// systemd's watchdog, kicked by the core loop while it and the view are healthy.
pub type Watchdog = crate::service::Watchdog;

/// Everything the core loop works with, besides the gate state.
pub struct Ports<'a> {
    pub store: &'a mut Store,
    pub clock: &'a SystemClock,
    pub events: &'a Receiver<Event>,
    pub commands: &'a Receiver<Command>,
    pub sensor: &'a Sender<SensorRequest>,
    pub relay: &'a mut dyn GateRelay,
    pub indicator: &'a mut dyn Indicator,
    pub view: &'a mut dyn View,
    pub camera: &'a Arc<Mutex<CameraHealth>>,
    /// Whether the gate I/O thread is running.
    pub gpio: &'a crate::hw::gpio::IoHandle,
    /// The sync thread's status, and its "sync now" bell.
    pub sync: &'a crate::sync::SyncLink,
    pub sync_wake: &'a Sender<()>,
}

/// The core loop: the only place where the gate state changes. Returns
/// when `stop` is set, the event channel closes, or `exit_after` passes.
pub fn core_loop(state: &mut GateState, ports: Ports<'_>, stop: &AtomicBool, opts: &RunOptions, watchdog: &mut Watchdog) {
    let Ports { store, clock, events, commands, sensor, relay, indicator, view, camera, gpio, sync, sync_wake } = ports;
    let started = Instant::now();
    let mut last_reading: Option<TempReading> = None;
    let mut next_status = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if opts.exit_after.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let event = match events.recv_timeout(opts.tick) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => Event::Tick,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Event::Temperature(r) = &event {
            last_reading = Some(r.clone());
        }
        // The loop came round: it is alive. The view must answer too.
        if watchdog.is_enabled() {
            let alive = view.alive();
            watchdog.kick_if_due(alive);
        }
        let effects = step(state, event, clock.now());
        Executor { entries: &mut *store, relay: &mut *relay, indicator: &mut *indicator, view: &mut *view, measure: sensor }
            .apply(effects);
        while let Ok(command) = commands.try_recv() {
            match command {
                Command::Calibrated(Ok(offset)) => match store.set_calibration_offset(offset) {
                    Ok(()) => view.message("calibrated", &format!("{offset:+.2}")),
                    Err(e) => view.message("calibration_failed", &e.to_string()),
                },
                Command::Calibrated(Err(e)) => view.message("calibration_failed", &e),
                Command::ForceSync => {
                    let _ = sync_wake.send(());
                    view.message("sync_requested", "")
                }
            }
        }
        if Instant::now() >= next_status {
            next_status = Instant::now() + Duration::from_secs(1);
            let camera = camera.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let sync_status = sync.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match status(state, store, clock.now(), &camera, last_reading.as_ref(), &opts.data_dir, &sync_status) {
                Ok(mut s) => {
                    let label = opts.gpio_label.clone();
                    let gpio = if gpio.is_alive() {
                        Health { device: "gpio", ok: true, state: label }
                    } else {
                        Health { device: "gpio", ok: false, state: format!("{label}: I/O thread stopped") }
                    };
                    s.health.insert(2, gpio);
                    *sync.health.lock().unwrap_or_else(|e| e.into_inner()) = s
                        .health
                        .iter()
                        .map(|h| shoumen_protocol::sync::HealthItem { device: h.device.into(), ok: h.ok, state: h.state.clone() })
                        .collect();
                    view.status(&s)
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the store for the status screen"),
            }
        }
    }
    relay.lock();
}

fn status(
    state: &GateState,
    store: &Store,
    now: crate::gate::Now,
    camera: &CameraHealth,
    reading: Option<&TempReading>,
    data_dir: &std::path::Path,
    sync: &crate::sync::SyncStatus,
) -> Result<Status, StoreError> {
    let lists_age_s = state.lists.age_s(now);
    let head = store.head_seq()?;
    let thermometer = match reading {
        None => Health { device: "thermometer", ok: true, state: "—".into() },
        Some(TempReading::Body(c)) => Health { device: "thermometer", ok: true, state: format!("{:.1} °C", *c as f32 / 100.0) },
        Some(TempReading::NoSubject) => Health { device: "thermometer", ok: true, state: "ok".into() },
        Some(TempReading::Fault(e)) => Health { device: "thermometer", ok: false, state: e.clone() },
    };
    let free = disk_free_bytes(data_dir);
    Ok(Status {
        counts: {
            let c = store.counts_since(crate::clock::local_midnight_ms(now.wall_ms))?;
            Counts { allowed_in: c.allowed_in, allowed_out: c.allowed_out, denied: c.denied, fever: c.fever }
        },
        recent: store.recent(12)?,
        pending: head - store.acked_seq()?,
        lists_age_s,
        lists_stale: lists_age_s.is_none_or(|a| a > state.policy.lists_warn_after_s),
        health: vec![
            Health {
                device: "camera",
                ok: camera.ok,
                state: match &camera.error {
                    Some(e) => e.clone(),
                    None => format!("{:.0} fps", camera.fps),
                },
            },
            thermometer,
            Health { device: "store", ok: true, state: format!("{head} entries") },
            Health {
                device: "disk",
                ok: free.is_none_or(|f| f > 100 << 20),
                state: free.map_or("?".into(), |f| format!("{} MB free", f >> 20)),
            },
            sync_health(sync),
        ],
        online: sync.online,
    })
}

fn sync_health(s: &crate::sync::SyncStatus) -> Health {
    let (ok, state) = if !s.enrolled {
        (true, "not enrolled (shoumen enroll URL TOKEN)".to_string())
    } else if s.unauthorised {
        (false, "device not authorised; enroll again".to_string())
    } else if s.online {
        (true, format!("online, {} waiting", s.queue))
    } else {
        (false, format!("offline, {} waiting: {}", s.queue, s.last_error.as_deref().unwrap_or("-")))
    };
    Health { device: "sync", ok, state }
}

fn disk_free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into the struct we pass.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statvfs(path.as_ptr(), &mut st) } == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
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
