//! The composition root: opens the store and the devices, starts the
//! worker threads, and runs the core loop on its own thread with the view
//! it is given. [`Kiosk`] owns every thread; [`Kiosk::shutdown`] stops and
//! joins them, the relay locked.
//!
//! Architecture invariant: this is the only place that starts the kiosk's
//! threads; `hw::open` is the only place that picks real or simulated devices.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use thiserror::Error;

use super::{
    channels, core_loop, spawn_camera, spawn_sensor, AppError, CameraHealth, Channels, Ports, PreviewSink, RunOptions,
};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::demo::DemoCommunity;
use crate::gate::{Event, GateState};
use crate::hw::{self, gpio, sim::World, FrameSource};
use crate::ports::{Command, SensorRequest, View};
use crate::service::{self, Watchdog};
use crate::store::{Store, StoreError};
use crate::sync::{self, SyncLink};
use crate::voice::Voice;
use shoumen_protocol::sync::GateLayout;
use shoumen_protocol::Direction;

#[derive(Debug, Error)]
pub enum KioskError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    #[error(transparent)]
    Devices(#[from] hw::OpenError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error("cannot install the signal handler: {0}")]
    Signals(std::io::Error),
}

/// How this run of the kiosk goes.
#[derive(Clone, Debug)]
pub struct KioskOptions {
    /// Stop after this long (soak and end-to-end tests).
    pub exit_after: Option<Duration>,
    /// Play the demo script on the simulated hardware.
    pub demo_script: bool,
    /// How long the script holds each pass up, and waits between passes.
    pub demo_pace: Duration,
}

/// What the screen's controllers need from a running kiosk.
pub struct UiLinks {
    pub events: Sender<Event>,
    pub sensor: Sender<SensorRequest>,
    pub commands: Sender<Command>,
    /// The simulated world, when the hardware is simulated.
    pub world: Option<World>,
    /// Demo passes (name, text) for the demo panel.
    pub demo_passes: Vec<(String, String)>,
    /// The committee's visitor form for this gate.
    pub visitor_url: String,
}

/// Everything the core thread takes with it.
struct CoreParts {
    store: Store,
    state: GateState,
    events: Receiver<Event>,
    commands: Receiver<Command>,
    io: gpio::IoHandle,
    voice: Voice,
    opts: RunOptions,
}

/// A running kiosk: its threads and the channels between them.
pub struct Kiosk {
    stop: Arc<AtomicBool>,
    clock: SystemClock,
    core: Option<CoreParts>,
    camera: Option<Box<dyn FrameSource>>,
    inward_camera: Option<Box<dyn FrameSource>>,
    camera_health: Arc<Mutex<CameraHealth>>,
    sync: SyncLink,
    sync_wake: Sender<()>,
    links: UiLinks,
    /// Threads in the order they are joined.
    threads: Vec<JoinHandle<()>>,
    core_thread: Option<JoinHandle<()>>,
    /// The last sender of sensor requests: dropped at shutdown so the
    /// thermometer thread ends even if the core never ran.
    sensor: Option<Sender<SensorRequest>>,
}

/// The sync thread on its own store connection: its link (status), the
/// sender that wakes it ("Sync now"), its handle.
fn spawn_sync(
    config: &Config,
    clock: &SystemClock,
    events: &Sender<Event>,
    stop: &Arc<AtomicBool>,
) -> Result<(SyncLink, Sender<()>, JoinHandle<()>), KioskError> {
    let link = SyncLink::default();
    let (wake, wake_rx) = std::sync::mpsc::channel();
    let loop_config = sync::LoopConfig {
        retention_days: config.kiosk.retention_days,
        enroll_url: Some(config.kiosk.server_url.clone()).filter(|u| !u.is_empty()),
        gate_name: config.kiosk.gate_name.clone(),
        client: config.client(),
        updates: config.updates().map(|mut u| {
            // A packaged kiosk's self-test also reads a built-in pattern.
            let decoded = crate::scan::decodes_test_pattern();
            u.startup_checks.push(shoumen_protocol::release::Check {
                name: "decoder".into(),
                ok: decoded.is_ok(),
                detail: decoded.err().unwrap_or_else(|| "read the built-in test pattern".into()),
            });
            u
        }),
        ..Default::default()
    };
    let thread =
        sync::spawn(config.db_path(), clock.clone(), events.clone(), link.clone(), wake_rx, loop_config, stop.clone())
            .map_err(|e| AppError::Thread("sync", e))?;
    Ok((link, wake, thread))
}

/// The demo's passes, and in demo mode on simulated hardware the thread
/// that holds them up to the camera.
fn spawn_demo(
    config: &Config,
    options: &KioskOptions,
    world: &World,
    stop: &Arc<AtomicBool>,
    threads: &mut Vec<JoinHandle<()>>,
) -> Result<Vec<(String, String)>, KioskError> {
    let demo_passes = if config.kiosk.demo {
        crate::demo::read_passes(&config.kiosk.data_dir).unwrap_or_default()
    } else {
        Vec::new()
    };
    if config.kiosk.simulated && !demo_passes.is_empty() && options.demo_script {
        let (world, stop, passes, pace) = (world.clone(), stop.clone(), demo_passes.clone(), options.demo_pace);
        let script = move || crate::demo::play_script(&world, &passes, pace, pace, &stop);
        let demo = std::thread::Builder::new().name("demo".into()).spawn(script);
        threads.push(demo.map_err(|e| AppError::Thread("demo", e))?);
    }
    Ok(demo_passes)
}

impl Kiosk {
    /// Opens the store and the devices and starts the gate I/O, thermometer,
    /// sync and demo threads. SIGTERM and SIGINT stop the kiosk.
    pub fn start(config: &Config, clock: &SystemClock, options: &KioskOptions) -> Result<Kiosk, KioskError> {
        let mut store = open_store(config, clock)?;
        let state = gate_state(config, &store, clock.now().wall_ms)?;
        let layout = GateLayout {
            direction: config.policy.direction.as_str().into(),
            inward_camera: config.camera.inward.is_some(),
        };
        store.set_layout(&layout)?;
        tracing::info!(
            gate = config.kiosk.gate_name,
            device = store.device_id(),
            entries = store.head_seq()?,
            simulated = config.kiosk.simulated,
            "kiosk starting"
        );
        gpio::install_panic_lock();
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(signal, stop.clone()).map_err(KioskError::Signals)?;
        }
        let world = World::new();
        let devices = hw::open(
            config.kiosk.simulated,
            &config.camera,
            &thermometer_config(config, &store)?,
            &config.gpio,
            &world,
        )?;
        let Channels {
            events: (event_tx, event_rx),
            sensor: (sensor_tx, sensor_rx),
            commands: (command_tx, command_rx),
        } = channels();
        let thread = |name: &'static str| move |e| AppError::Thread(name, e);
        let (io, io_thread) = gpio::spawn_io(devices.pins, config.gpio.clone(), event_tx.clone(), stop.clone())
            .map_err(thread("gate I/O"))?;
        let sensor = spawn_sensor(devices.thermometer, sensor_rx, event_tx.clone(), command_tx.clone(), stop.clone())?;
        let (sync, sync_wake, sync_thread) = spawn_sync(config, clock, &event_tx, &stop)?;
        let mut threads = vec![sensor, io_thread, sync_thread];
        let voice =
            Voice::new(config.voice.clone(), hw::open_speaker(config.kiosk.simulated, &world), &config.kiosk.language);

        let demo_passes = spawn_demo(config, options, &world, &stop, &mut threads)?;
        // Enrolled kiosks show the server's visitor form for this gate.
        let visitor_url = match store.sync_credentials()? {
            Some(c) => c.visitor_url,
            None => config.kiosk.visitor_url.clone(),
        };
        let opts = RunOptions {
            exit_after: options.exit_after,
            tick: Duration::from_millis(200),
            data_dir: config.kiosk.data_dir.clone(),
            gpio_label: gpio_label(config),
        };
        Ok(Kiosk {
            stop,
            clock: clock.clone(),
            core: Some(CoreParts { store, state, events: event_rx, commands: command_rx, io, voice, opts }),
            camera: Some(devices.camera),
            inward_camera: devices.inward_camera,
            camera_health: Arc::new(Mutex::new(CameraHealth::default())),
            sync,
            sync_wake,
            links: UiLinks {
                events: event_tx,
                sensor: sensor_tx.clone(),
                commands: command_tx,
                world: config.kiosk.simulated.then_some(world),
                demo_passes,
                visitor_url,
            },
            threads,
            core_thread: None,
            sensor: Some(sensor_tx),
        })
    }

    /// What the screen's controllers need.
    pub fn links(&self) -> &UiLinks {
        &self.links
    }

    /// Starts the camera thread (and the inward camera's, if configured);
    /// `preview` receives a downscaled picture of the main camera.
    pub fn spawn_camera(&mut self, preview: Option<PreviewSink>) -> Result<(), KioskError> {
        if let Some(camera) = self.camera.take() {
            let events = self.links.events.clone();
            self.threads.push(spawn_camera(
                camera,
                None,
                events,
                self.camera_health.clone(),
                preview,
                self.stop.clone(),
            )?);
        }
        if let Some(inward) = self.inward_camera.take() {
            // Its health is its own: the health list shows the main camera.
            let health = Arc::new(Mutex::new(CameraHealth::default()));
            let events = self.links.events.clone();
            self.threads.push(spawn_camera(inward, Some(Direction::Out), events, health, None, self.stop.clone())?);
        }
        Ok(())
    }

    /// Starts the core loop with `view` on its own thread. `on_exit` runs on
    /// that thread once the loop has ended (e.g. to close the window).
    pub fn spawn_core(
        &mut self,
        mut view: Box<dyn View>,
        on_exit: impl FnOnce() + Send + 'static,
    ) -> Result<(), KioskError> {
        let Some(CoreParts { mut store, mut state, events, commands, io, mut voice, opts }) = self.core.take() else {
            return Ok(());
        };
        let sensor = self.sensor.take().expect("the sensor channel is kept until the core starts");
        let (stop, clock, camera, sync, sync_wake) = (
            self.stop.clone(),
            self.clock.clone(),
            self.camera_health.clone(),
            self.sync.clone(),
            self.sync_wake.clone(),
        );
        let core = move || {
            let (mut relay, mut indicator) = (io.clone(), io.clone());
            let ports = Ports {
                store: &mut store,
                clock: &clock,
                events: &events,
                commands: &commands,
                sensor: &sensor,
                relay: &mut relay,
                indicator: &mut indicator,
                view: view.as_mut(),
                voice: &mut voice,
                camera: &camera,
                gpio: &io,
                sync: &sync,
                sync_wake: &sync_wake,
            };
            core_loop(&mut state, ports, &stop, &opts, &mut Watchdog::from_env());
            service::stopping();
            // The other threads follow the core: SIGTERM, --exit-after or a
            // closed channel all end the kiosk.
            stop.store(true, Ordering::Relaxed);
            on_exit();
        };
        let handle =
            std::thread::Builder::new().name("core".into()).spawn(core).map_err(|e| AppError::Thread("core", e))?;
        self.core_thread = Some(handle);
        Ok(())
    }

    /// Waits for the core loop to end (SIGTERM, `exit_after`).
    pub fn wait(&mut self) {
        if let Some(core) = self.core_thread.take() {
            let _ = core.join();
        }
    }

    /// Stops every thread and waits for them; the relay is locked by the
    /// core loop and again by the gate I/O thread as it ends.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.sensor = None;
        self.wait();
        // Dropping our senders lets threads blocked on a channel see it close.
        let Kiosk { threads, links, .. } = self;
        drop(links);
        for t in threads.into_iter().rev() {
            let _ = t.join();
        }
        tracing::info!("kiosk stopped; gate locked");
    }
}

fn gpio_label(config: &Config) -> String {
    if config.kiosk.simulated {
        "simulated".into()
    } else {
        format!("relay GPIO{}, I2C bus {}", config.gpio.relay_pin, config.thermometer.bus)
    }
}

/// Opens the kiosk's store in the configured data directory. With `demo`
/// set, a store without trusted keys gets a demo community, and the demo's
/// lists are refreshed while no server is enrolled.
pub fn open_store(config: &Config, clock: &SystemClock) -> Result<Store, KioskError> {
    let dir = &config.kiosk.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| KioskError::DataDir { path: dir.clone(), source })?;
    let mut store = Store::open(&config.db_path(), clock.boot_id())?;
    clock.set_trust_ntp(config.kiosk.trust_ntp);
    clock.restore(store.time_base()?);
    clock.set_own_clock_is_the_reference(config.kiosk.demo && store.sync_credentials()?.is_none());
    if config.kiosk.demo && store.trust()?.keys.is_empty() {
        tracing::info!("no trusted keys yet: creating a demo community in {}", dir.display());
        let now = clock.now();
        let community = DemoCommunity::generate(now.wall_s());
        drop(store);
        community.write(dir, clock.boot_id(), now.wall_ms)?;
        store = Store::open(&config.db_path(), clock.boot_id())?;
    } else if config.kiosk.demo && store.sync_credentials()?.is_none() {
        // The demo community stands in for the committee's server: without
        // a refresh its lists would go stale after a few days.
        crate::demo::refresh_lists(&mut store, &config.kiosk.data_dir, clock.now())?;
    }
    Ok(store)
}

/// The gate core's state as the store has it: the lists, where passes
/// were last seen, and who is on duty here. Who is on duty survives a
/// restart (it is in the log), so a duty pass read after one, or by a
/// second command, signs its holder out instead of in again.
pub fn gate_state(config: &Config, store: &Store, now_ms: i64) -> Result<GateState, StoreError> {
    let mut state = GateState::new(config.policy.clone(), store.lists()?, store.presence()?);
    state.on_duty_from(store.duty_since(now_ms - crate::gate::DUTY_FORGOTTEN_AFTER_MS)?, now_ms);
    Ok(state)
}

/// The thermometer settings with the calibration stored in the kiosk's
/// store, which wins over the config file's offset.
pub fn thermometer_config(config: &Config, store: &Store) -> Result<hw::thermometer::ThermometerConfig, StoreError> {
    let mut t = config.thermometer.clone();
    if let Some(offset) = store.calibration_offset()? {
        t.model.offset_c = offset;
    }
    Ok(t)
}
