//! The core loop: the only place where the gate state changes. Events in,
//! `step`, effects out through the executor; once a second a status for
//! the screen and the devices' health for the gate core's alarms.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::status::{status, StatusInputs};
use super::{CameraHealth, Executor, RunOptions, STAGE};
use crate::clock::SystemClock;
use crate::gate::{step, Effect, Event, GateState, TempReading};
use crate::hw::{GateRelay, Indicator};
use crate::ports::{Command, SensorRequest, View};
use crate::store::Store;
use crate::voice::Voice;

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
    pub voice: &'a mut Voice,
    pub camera: &'a Arc<Mutex<CameraHealth>>,
    /// Whether the gate I/O thread is running.
    pub gpio: &'a crate::hw::gpio::IoHandle,
    /// The sync thread's status, and its "sync now" bell.
    pub sync: &'a crate::sync::SyncLink,
    pub sync_wake: &'a Sender<()>,
}

/// Runs until `stop` is set, the event channel closes, or `exit_after`
/// passes; then locks the relay.
pub fn core_loop(
    state: &mut GateState,
    mut ports: Ports<'_>,
    stop: &AtomicBool,
    opts: &RunOptions,
    watchdog: &mut Watchdog,
) {
    let started = Instant::now();
    let mut last_reading: Option<TempReading> = None;
    let mut next_status = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if opts.exit_after.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let event = match ports.events.recv_timeout(opts.tick) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => Event::Tick,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Event::Temperature(r) = &event {
            last_reading = Some(r.clone());
        }
        // The loop came round: it is alive. The view must answer too.
        if watchdog.is_enabled() {
            let alive = ports.view.alive();
            watchdog.kick_if_due(alive);
        }
        apply(state, &mut ports, event);
        while let Ok(command) = ports.commands.try_recv() {
            command_done(state, &mut ports, command);
        }
        if Instant::now() >= next_status {
            next_status = Instant::now() + Duration::from_secs(1);
            report_status(state, &mut ports, last_reading.as_ref(), opts);
        }
    }
    ports.relay.lock();
}

/// Whether `event` means a person is at the gate (a pass, a forehead, a
/// tap, the exit button, a guard): an update waits until nobody has been
/// for a while, so that the kiosk never restarts in front of someone.
pub(super) fn someone_at_gate(event: &Event) -> bool {
    matches!(
        event,
        Event::PassRead { .. }
            | Event::ChooseDirection(_)
            | Event::Temperature(TempReading::Body(_))
            | Event::ManualOpen { .. }
            | Event::ExitButton
            | Event::Presence(true)
            | Event::PassbackOverride
            | Event::ConsoleOpenedByPin
    )
}

/// One event through the gate core, its effects carried out in order.
fn apply(state: &mut GateState, ports: &mut Ports<'_>, event: Event) {
    let read = matches!(event, Event::PassRead { .. });
    if someone_at_gate(&event) {
        ports.sync.someone_at_gate();
    }
    match &event {
        Event::PassRead { .. } => tracing::trace!(target: STAGE, stage = "read"),
        Event::Temperature(_) => tracing::trace!(target: STAGE, stage = "temperature"),
        Event::Presence(true) => tracing::trace!(target: STAGE, stage = "presence"),
        _ => {}
    }
    let effects: Vec<Effect> = step(state, event, ports.clock.now());
    if read {
        tracing::trace!(target: STAGE, stage = "decided");
    }
    Executor {
        entries: &mut *ports.store,
        relay: &mut *ports.relay,
        indicator: &mut *ports.indicator,
        view: &mut *ports.view,
        measure: ports.sensor,
        voice: Some(&mut *ports.voice),
    }
    .apply(effects);
}

fn command_done(state: &mut GateState, ports: &mut Ports<'_>, command: Command) {
    match command {
        Command::Calibrated(Ok(offset)) => match ports.store.set_calibration_offset(offset) {
            Ok(()) => {
                // Recorded with who has the console open.
                apply(state, ports, Event::SettingChanged { setting: format!("calibration {offset:+.2}") });
                ports.view.message("calibrated", &format!("{offset:+.2}"))
            }
            Err(e) => ports.view.message("calibration_failed", &e.to_string()),
        },
        Command::Calibrated(Err(e)) => ports.view.message("calibration_failed", &e),
        Command::ForceSync => {
            let _ = ports.sync_wake.send(());
            ports.view.message("sync_requested", "")
        }
        Command::Reenroll => match ports.store.forget_enrollment() {
            Ok(()) => {
                // Recorded with who has the console open; the sync thread
                // wakes to ask the server for a code.
                apply(state, ports, Event::SettingChanged { setting: "enroll again".into() });
                let _ = ports.sync_wake.send(());
                ports.view.message("reenroll_started", "")
            }
            Err(e) => ports.view.message("reenroll_failed", &e.to_string()),
        },
        Command::SetLanguage(language) => ports.voice.set_language(&language),
    }
}

/// Once a second: the camera's health to the gate core (its alarms), the
/// status to the screen, the devices' health to the sync thread.
fn report_status(state: &mut GateState, ports: &mut Ports<'_>, reading: Option<&TempReading>, opts: &RunOptions) {
    let camera = ports.camera.lock().unwrap_or_else(|e| e.into_inner()).clone();
    apply(
        state,
        ports,
        Event::DeviceHealth { device: "camera", fault: (!camera.ok).then(|| camera.error.clone().unwrap_or_default()) },
    );
    let sync_status = ports.sync.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let inputs = StatusInputs {
        camera: &camera,
        reading,
        data_dir: &opts.data_dir,
        sync: &sync_status,
        gpio: (ports.gpio.is_alive(), &opts.gpio_label),
        voice: ports.voice.health(),
    };
    match status(state, ports.store, ports.clock.now(), &inputs) {
        Ok(s) => {
            *ports.sync.health.lock().unwrap_or_else(|e| e.into_inner()) = s
                .health
                .iter()
                .map(|h| shoumen_protocol::sync::HealthItem {
                    device: h.device.into(),
                    ok: h.ok,
                    state: h.state.clone(),
                })
                .collect();
            *ports.sync.vitals.lock().unwrap_or_else(|e| e.into_inner()) = s.vitals.clone();
            ports.view.status(&s)
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the store for the status screen"),
    }
}
