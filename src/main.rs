//! The `shoumen` command: the kiosk and its tools.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use shoumen::check::{check, CheckOptions};
use shoumen::clock::SystemClock;
use shoumen::config::Config;
use shoumen::demo::DemoCommunity;
use shoumen::gate::{EntryDraft, GateState};
use shoumen::store::Store;
use shoumen_protocol::{Decision, Direction, EntryKind};

#[derive(Parser)]
#[command(name = "shoumen", version, about = "守门 Shoumen: gate terminal for residential compounds")]
struct Cli {
    /// Configuration file [default: /etc/shoumen/kiosk.toml if it exists,
    /// otherwise a development setup in ./shoumen-dev]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use the simulated camera, thermometer and gate I/O, whatever the config says.
    #[arg(long, global = true)]
    sim: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk (the default).
    Run(RunArgs),
    /// Decode, verify and decide passes against the local store and lists.
    Check(CheckArgs),
    /// A demo community to try the kiosk with.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// The entry log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Render a page of the UI to a PNG, without a display.
    Screenshot {
        /// scan, result-allow, result-deny, result-fever, guard, guard-pin, visitor, demo
        #[arg(long, default_value = "scan")]
        page: String,
        /// zh-CN or en
        #[arg(long, default_value = "zh-CN")]
        lang: String,
        /// WIDTHxHEIGHT, e.g. 800x480, 1024x600, 720x1280
        #[arg(long, default_value = "800x480")]
        size: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Measure the QR pipeline on a corpus of images with known contents.
    ScanEval {
        dir: PathBuf,
        /// pipeline (default), live, or one step: rxing, rqrr, rxing-upscale, …
        #[arg(long, default_value = "pipeline")]
        strategy: String,
        /// Print every missed or misread image, and which step found what.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Write camera-like test frames of passes (PNG + .txt) for scan-eval.
    ScanSynth {
        dir: PathBuf,
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// 0 = clean and large, 1 = every impairment at full strength.
        #[arg(long, default_value_t = 0.8)]
        difficulty: f32,
    },
    /// Check and exercise the hardware.
    #[command(subcommand)]
    Hw(HwCommand),
    /// Join the committee's server with a one-time token from its Gates page.
    Enroll {
        /// The server's address, e.g. https://gate.example.org
        url: String,
        token: String,
    },
    /// Sync with the server.
    Sync {
        /// Push the whole backlog and pull lists now, with progress.
        #[arg(long)]
        now: bool,
    },
    /// Appends entries in a loop, printing each committed seq (crash tests).
    #[command(hide = true)]
    DebugAppend {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
        /// Acknowledge everything every N entries, as a sync would.
        #[arg(long, default_value_t = 7)]
        ack_every: u64,
    },
}

#[derive(Args, Default)]
struct RunArgs {
    /// No display: decisions go to the log (for a Pi without a screen,
    /// soak tests and end-to-end tests). Without it the touchscreen UI opens.
    #[arg(long)]
    headless: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    exit_after: Option<u64>,
    /// Play the demo script on the simulated hardware (always on when
    /// headless with a demo community): passes shown one after another.
    #[arg(long)]
    demo_script: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// One JSON object per input, one per line.
    #[arg(long)]
    json: bool,
    /// Temperature reading in °C; repeat for successive readings
    /// (e.g. --temp 37.8 --temp 36.9 for a re-measure) [default: 36.6]
    #[arg(long = "temp", value_name = "C")]
    temps: Vec<f64>,
    /// Gate direction [default: from the config]
    #[arg(long, value_parser = parse_direction)]
    direction: Option<Direction>,
    /// Commit the entries to the kiosk's log, as the kiosk would. Without
    /// it nothing is written; anti-passback still applies within one call.
    #[arg(long)]
    record: bool,
    /// QR images (.png, .jpg …), text files holding a pass, or pass text.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create a demo community in DIR: key, trust, lists, passes (PNG and
    /// text), kiosk.toml and kiosk.db.
    Init { dir: PathBuf },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Verify the hash chain; name the first bad sequence number.
    Verify {
        /// Store file [default: kiosk.db in the configured data directory]
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Print the newest entries.
    Tail {
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(short = 'n', default_value_t = 20)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum HwCommand {
    /// What was found on the I2C bus and the GPIO chip, and how to fix what failed.
    Probe,
    /// Take thermometer measurements and print them.
    Thermometer {
        /// Sample pairs per measurement [default: from the config]
        #[arg(long)]
        samples: Option<u8>,
        /// Number of measurements.
        #[arg(long, default_value_t = 3)]
        count: u32,
        /// Reference body temperature (°C) of the person measured: stores
        /// the offset that makes the kiosk read this.
        #[arg(long, value_name = "C")]
        calibrate: Option<f32>,
    },
    /// Unlock the gate relay for MS milliseconds (recorded as a manual open).
    Relay {
        #[arg(long, value_name = "MS")]
        pulse: u32,
        /// Why (recorded in the entry log).
        #[arg(long, default_value = "hardware test")]
        reason: String,
    },
}

fn parse_direction(s: &str) -> Result<Direction, String> {
    s.parse()
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let clock = SystemClock::new();
    let load = |path: Option<&Path>| -> Result<Config> {
        let mut config = Config::load(path)?;
        config.kiosk.simulated |= cli.sim;
        Ok(config)
    };
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => {
            let config = load(cli.config.as_deref())?;
            run_kiosk(&config, &clock, &args)
        }
        Command::Check(args) => {
            let config = Config::load(cli.config.as_deref())?;
            let mut store = open_store(&config, &clock)?;
            let mut state = GateState::new(config.policy.clone(), store.lists()?, store.presence()?);
            let opts = CheckOptions {
                temps_centi: args.temps.iter().map(|c| (c * 100.0).round() as i32).collect(),
                direction: args.direction,
                record: args.record,
            };
            let results = check(&mut state, args.record.then_some(&mut store), clock.now(), &args.inputs, &opts)?;
            let mut out = std::io::stdout().lock();
            let mut unreadable = false;
            for r in &results {
                unreadable |= r.error.is_some();
                if args.json {
                    writeln!(out, "{}", serde_json::to_string(r)?)?;
                } else {
                    let mut line = format!("{}: {} ({})", r.input, r.decision.as_str(), r.reason);
                    if let Some(unit) = &r.unit {
                        line += &format!(", unit {unit}");
                    }
                    if let Some(t) = r.temperature_c {
                        line += &format!(", {t:.1} °C");
                    }
                    if let Some(seq) = r.seq {
                        line += &format!(", recorded as #{seq}");
                    }
                    if let Some(e) = &r.error {
                        line += &format!(": {e}");
                    }
                    writeln!(out, "{line}")?;
                }
            }
            Ok(if unreadable { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Command::Demo(DemoCommand::Init { dir }) => {
            let community = DemoCommunity::generate(clock.now().wall_s());
            community.write(&dir, clock.boot_id(), clock.now().wall_ms)?;
            println!("Demo community written to {}:", dir.display());
            for p in &community.passes {
                println!(
                    "  passes/{}.png  {:<9} unit {:<7} → at an inbound gate: {} ({})",
                    p.name,
                    p.claims.role.as_str(),
                    if p.claims.unit.is_empty() { "-" } else { &p.claims.unit },
                    p.expect_in.0.as_str(),
                    p.expect_in.1
                );
            }
            println!("Try: shoumen check --config {}/kiosk.toml {}/passes/*.png", dir.display(), dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Log(LogCommand::Verify { db }) => {
            let store = open_db(db, cli.config.as_deref(), &clock)?;
            match store.verify_chain()? {
                Ok(report) => {
                    println!(
                        "ok: {} entries ({} pruned by retention), head {}",
                        report.entries,
                        report.pruned,
                        hex::encode(report.head)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(brk) => {
                    println!("BROKEN: {brk}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Log(LogCommand::Tail { db, count }) => {
            let store = open_db(db, cli.config.as_deref(), &clock)?;
            for e in store.recent(count)?.iter().rev() {
                println!("{}", serde_json::to_string(e)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Screenshot { page, lang, size, out } => {
            let (w, h) = size
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
                .with_context(|| format!("--size {size:?} must be WIDTHxHEIGHT, e.g. 800x480"))?;
            let language = match lang.as_str() {
                "zh-CN" | "zh_CN" | "zh" => "zh_CN",
                "en" => "en",
                other => bail!("--lang {other:?}: use zh-CN or en"),
            };
            shoumen::ui::screenshot::render(&page, language, w, h, &out)?;
            println!("{} ({page}, {language}, {w}×{h})", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::ScanEval { dir, strategy, verbose } => {
            use shoumen::scan::eval;
            shoumen::isolate::install_quiet_hook();
            let strategy = eval::Strategy::parse(&strategy).map_err(anyhow::Error::msg)?;
            let samples = eval::load_corpus(&dir)?;
            if samples.is_empty() {
                bail!("no images found under {}", dir.display());
            }
            let report = eval::evaluate(&samples, &strategy)?;
            if verbose {
                for line in &report.problems {
                    println!("{line}");
                }
                for (step, n) in &report.by_step {
                    println!("decoded by {step}: {n}");
                }
            }
            println!("{}", report.summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::ScanSynth { dir, count, seed, difficulty } => {
            use shoumen::scan::synth;
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let texts = synth::pass_texts(16, seed);
            for (i, (text, _scene, frame)) in synth::frames(&texts, count, seed, difficulty).into_iter().enumerate() {
                let img = image::GrayImage::from_raw(frame.width as u32, frame.height as u32, frame.pixels)
                    .context("frame buffer")?;
                img.save(dir.join(format!("{i:04}.png")))?;
                std::fs::write(dir.join(format!("{i:04}.txt")), text)?;
            }
            println!("{count} frames written to {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Hw(cmd) => {
            // Hardware commands are about the real devices unless --sim says otherwise.
            let mut config = Config::load(cli.config.as_deref())?;
            config.kiosk.simulated = cli.sim;
            run_hw(&config, &clock, cmd)
        }
        Command::DebugAppend { db, count, ack_every } => debug_append(&db, count, ack_every, &clock),
        Command::Enroll { url, token } => {
            let config = load(cli.config.as_deref())?;
            let mut store = open_store(&config, &clock)?;
            let answer = shoumen::sync::enroll(&mut store, &url, &token, &config.kiosk.gate_name, &Default::default())?;
            println!(
                "enrolled as {} with community {:?} at {}; the kiosk syncs on its next start (or: shoumen sync --now)",
                answer.device, answer.community, url
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync { now } => {
            if !now {
                bail!("the kiosk syncs by itself while it runs; `shoumen sync --now` syncs immediately from the command line");
            }
            let config = load(cli.config.as_deref())?;
            sync_now(&config, &clock)
        }
    }
}

fn run_kiosk(config: &Config, clock: &SystemClock, args: &RunArgs) -> Result<ExitCode> {
    use shoumen::app::{self, CameraHealth, Ports, RunOptions};
    use shoumen::hw::{self, gpio, sim::World};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    let mut store = open_store(config, clock)?;
    let mut state = GateState::new(config.policy.clone(), store.lists()?, store.presence()?);
    tracing::info!(
        gate = config.kiosk.gate_name,
        device = store.device_id(),
        entries = store.head_seq()?,
        simulated = config.kiosk.simulated,
        headless = args.headless,
        "kiosk starting"
    );

    gpio::install_panic_lock();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot install the signal handler")?;
    }
    let world = World::new();
    let devices = hw::open(
        config.kiosk.simulated,
        &config.camera,
        &thermometer_config(config, &store)?,
        &config.gpio,
        &world,
    )?;
    let app::Channels { events: (event_tx, event_rx), sensor: (sensor_tx, sensor_rx), commands: (command_tx, command_rx) } =
        app::channels();
    let (io, io_thread) = gpio::spawn_io(devices.pins, config.gpio.clone(), event_tx.clone(), stop.clone())
        .context("cannot start the gate I/O thread")?;
    let sensor =
        app::spawn_sensor(devices.thermometer, sensor_rx, event_tx.clone(), command_tx.clone(), stop.clone())?;
    let camera_health = Arc::new(Mutex::new(CameraHealth::default()));
    let sync_link = shoumen::sync::SyncLink::default();
    let (sync_wake, sync_wake_rx) = std::sync::mpsc::channel();
    let sync_thread = shoumen::sync::spawn(
        config.db_path(),
        clock.clone(),
        event_tx.clone(),
        sync_link.clone(),
        sync_wake_rx,
        shoumen::sync::LoopConfig { retention_days: config.kiosk.retention_days, ..Default::default() },
        stop.clone(),
    )
    .context("cannot start the sync thread")?;
    // Enrolled kiosks show the server's visitor form for this gate.
    let visitor_url = match store.sync_credentials()? {
        Some(c) => c.visitor_url,
        None => config.kiosk.visitor_url.clone(),
    };
    let demo_passes =
        if config.kiosk.demo { shoumen::demo::read_passes(&config.kiosk.data_dir).unwrap_or_default() } else { Vec::new() };
    let opts = RunOptions {
        exit_after: args.exit_after.map(Duration::from_secs),
        tick: Duration::from_millis(200),
        data_dir: config.kiosk.data_dir.clone(),
        gpio_label: if config.kiosk.simulated {
            "simulated".into()
        } else {
            format!("relay GPIO{}, I2C bus {}", config.gpio.relay_pin, config.thermometer.bus)
        },
    };

    if config.kiosk.simulated && !demo_passes.is_empty() && (args.headless || args.demo_script) {
        let (world, stop, passes) = (world.clone(), stop.clone(), demo_passes.clone());
        std::thread::Builder::new().name("demo".into()).spawn(move || {
            shoumen::demo::play_script(&world, &passes, Duration::from_secs(3), Duration::from_secs(3), &stop)
        })?;
    }
    if args.headless {
        let camera = app::spawn_camera(devices.camera, event_tx.clone(), camera_health.clone(), None, stop.clone())?;
        let ports = Ports {
            store: &mut store,
            clock,
            events: &event_rx,
            commands: &command_rx,
            sensor: &sensor_tx,
            relay: &mut io.clone(),
            indicator: &mut io.clone(),
            view: &mut app::LogView,
            camera: &camera_health,
            gpio: &io,
            sync: &sync_link,
            sync_wake: &sync_wake,
        };
        shoumen::service::ready("headless kiosk running");
        app::core_loop(&mut state, ports, &stop, &opts, &mut app::Watchdog::from_env());
        shoumen::service::stopping();
        stop.store(true, Ordering::Relaxed);
        drop(sensor_tx);
        let _ = camera.join();
    } else {
        use shoumen::ui::{controller, AppWindow, Poster, SlintView};
        use slint::ComponentHandle;
        let window = AppWindow::new().context(
            "cannot open the kiosk window; on a machine without a display run `shoumen run --headless`",
        )?;
        let poster = Poster::EventLoop(window.as_weak());
        let preview_poster = poster.clone();
        let preview: app::PreviewSink = Box::new(move |gray, code, frame_width| {
            let pixels = shoumen::ui::preview_pixels(gray, code, frame_width);
            let visible = code.is_some();
            preview_poster.post(Box::new(move |ui| {
                let scan = ui.global::<shoumen::ui::ScanAdapter>();
                scan.set_preview(slint::Image::from_rgb8(pixels));
                scan.set_code_visible(visible);
            }));
        });
        let camera =
            app::spawn_camera(devices.camera, event_tx.clone(), camera_health.clone(), Some(preview), stop.clone())?;
        let _controller = controller::wire(
            &window,
            controller::Wiring {
                events: event_tx.clone(),
                sensor: sensor_tx.clone(),
                commands: command_tx.clone(),
                world: config.kiosk.simulated.then(|| world.clone()),
                demo_passes,
                guard: controller::GuardConfig {
                    pin_sha256: config.kiosk.guard_pin_sha256.clone(),
                    lock_after: Duration::from_secs(config.kiosk.guard_lock_after_s),
                },
                gate_name: config.kiosk.gate_name.clone(),
                visitor_url,
                language: config.kiosk.language.clone(),
            },
        );
        let core = {
            let (stop, clock, camera_health) = (stop.clone(), SystemClock::new(), camera_health.clone());
            let mut relay = io.clone();
            let mut indicator = io.clone();
            let gpio = io.clone();
            let (sync_link, sync_wake) = (sync_link.clone(), sync_wake.clone());
            std::thread::Builder::new().name("core".into()).spawn(move || {
                let mut view = SlintView::new(poster);
                let ports = Ports {
                    store: &mut store,
                    clock: &clock,
                    events: &event_rx,
                    commands: &command_rx,
                    sensor: &sensor_tx,
                    relay: &mut relay,
                    indicator: &mut indicator,
                    view: &mut view,
                    camera: &camera_health,
                    gpio: &gpio,
                    sync: &sync_link,
                    sync_wake: &sync_wake,
                };
                app::core_loop(&mut state, ports, &stop, &opts, &mut app::Watchdog::from_env());
                shoumen::service::stopping();
                // The core is done (SIGTERM, --exit-after, a closed channel):
                // close the window too. Only the UI thread may quit its loop.
                let _ = slint::invoke_from_event_loop(|| {
                    let _ = slint::quit_event_loop();
                });
            })?
        };
        window.show()?;
        // Ready once the event loop runs with the window shown.
        slint::Timer::single_shot(Duration::ZERO, || shoumen::service::ready("kiosk running"));
        slint::run_event_loop_until_quit()?;
        stop.store(true, Ordering::Relaxed);
        // The window's callbacks hold senders: drop them so the threads end.
        let _ = window.hide();
        drop(_controller);
        drop(window);
        let _ = core.join();
        let _ = camera.join();
    }
    let _ = sensor.join();
    let _ = io_thread.join();
    let _ = sync_thread.join();
    tracing::info!("kiosk stopped; gate locked");
    Ok(ExitCode::SUCCESS)
}

/// The thermometer settings with the calibration stored in the kiosk's
/// store, which wins over the config file's offset.
fn thermometer_config(config: &Config, store: &Store) -> Result<shoumen::hw::thermometer::ThermometerConfig> {
    let mut t = config.thermometer.clone();
    if let Some(offset) = store.calibration_offset()? {
        t.model.offset_c = offset;
    }
    Ok(t)
}

fn run_hw(config: &Config, clock: &SystemClock, cmd: HwCommand) -> Result<ExitCode> {
    use shoumen::hw::{self, gpio, sim::World, thermometer};
    use std::time::{Duration, Instant};

    let world = World::new();
    match cmd {
        HwCommand::Probe => {
            if config.kiosk.simulated {
                println!("ok   simulated hardware: camera, MLX90614 and gate I/O twins (--sim)");
                return Ok(ExitCode::SUCCESS);
            }
            let findings = hw::probe::probe(&config.thermometer, &config.gpio);
            for f in &findings {
                println!("{}  {}", if f.ok { "ok  " } else { "FAIL" }, f.what);
            }
            Ok(if findings.iter().all(|f| f.ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        HwCommand::Thermometer { samples, count, calibrate } => {
            let mut t = config.thermometer.clone();
            if let Some(n) = samples {
                t.samples = n;
            }
            let store = open_store(config, clock).ok();
            if let Some(offset) = store.as_ref().and_then(|s| s.calibration_offset().ok().flatten()) {
                t.model.offset_c = offset;
            }
            if config.kiosk.simulated {
                world.lock().body_centi = 3660;
            }
            let mut readings = Vec::new();
            for i in 1..=count {
                let started = Instant::now();
                let result = if config.kiosk.simulated {
                    let mut sensor = hw::sim::SimThermometer::new(world.clone(), t.clone());
                    sensor.measure_raw()
                } else {
                    thermometer::open_mlx90614(&t)
                        .and_then(|mut s| thermometer::measure(&mut s, &mut thermometer::StdDelay, &t))
                };
                let ms = started.elapsed().as_millis();
                match result {
                    Ok(thermometer::Outcome::Body(m)) => {
                        println!(
                            "#{i}: body {:.2} °C  (skin {:.2} °C, ambient {:.2} °C, {} retries)  {ms} ms",
                            m.body_c, m.skin_c, m.ambient_c, m.retries
                        );
                        readings.push(m);
                    }
                    Ok(thermometer::Outcome::NoSubject { skin_c, ambient_c }) => println!(
                        "#{i}: nobody in front of the sensor (object {skin_c:.2} °C, ambient {ambient_c:.2} °C)  {ms} ms"
                    ),
                    Err(e) => println!("#{i}: FAULT: {e}  {ms} ms"),
                }
            }
            if let Some(reference) = calibrate {
                if readings.is_empty() {
                    bail!("no valid measurement to calibrate against; stand in front of the sensor and try again");
                }
                let mean = readings.iter().map(|m| m.body_c).sum::<f32>() / readings.len() as f32;
                let offset = t.model.offset_c + (reference - mean);
                let mut store = open_store(config, clock)?;
                store.set_calibration_offset(offset)?;
                println!("calibrated: reference {reference:.2} °C, measured {mean:.2} °C → offset {offset:+.2} °C stored");
            }
            Ok(ExitCode::SUCCESS)
        }
        HwCommand::Relay { pulse, reason } => {
            // A relay pulse is a gate opening: it is recorded like any manual open.
            let mut store = open_store(config, clock)?;
            let mut state = GateState::new(config.policy.clone(), store.lists()?, store.presence()?);
            state.policy.relay_pulse_ms = pulse;
            let pins: Box<dyn gpio::Pins> = if config.kiosk.simulated {
                Box::new(hw::sim::SimPins::new(world.clone()))
            } else {
                Box::new(gpio::RppalPins::open(&config.gpio)?)
            };
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (tx, _rx) = std::sync::mpsc::channel();
            let (mut io, thread) = gpio::spawn_io(pins, config.gpio.clone(), tx, stop.clone())?;
            let effects = shoumen::gate::step(&mut state, shoumen::gate::Event::ManualOpen { reason }, clock.now());
            let (measure, _) = std::sync::mpsc::channel::<shoumen::app::SensorRequest>();
            let mut executor = shoumen::app::Executor {
                entries: &mut store,
                relay: &mut io.clone(),
                indicator: &mut io.clone(),
                view: &mut shoumen::app::LogView,
                measure: &measure,
            };
            executor.apply(effects);
            let started = Instant::now();
            let mut was_open = false;
            while started.elapsed() < Duration::from_millis(u64::from(pulse) + 300) {
                was_open |= world.lock().relay_unlocked;
                std::thread::sleep(Duration::from_millis(10));
            }
            shoumen::hw::GateRelay::lock(&mut io);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = thread.join();
            if config.kiosk.simulated {
                println!(
                    "simulated relay: unlocked {} for {pulse} ms, now locked; recorded as entry #{}",
                    if was_open { "once" } else { "never" },
                    store.head_seq()?
                );
            } else {
                println!("relay pulsed for {pulse} ms and locked again; recorded as entry #{}", store.head_seq()?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open_store(config: &Config, clock: &SystemClock) -> Result<Store> {
    let dir = &config.kiosk.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let mut store = Store::open(&config.db_path(), clock.boot_id())?;
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
        shoumen::demo::refresh_lists(&mut store, &config.kiosk.data_dir, clock.now())?;
    }
    Ok(store)
}

/// `shoumen sync --now`: rounds until the backlog is gone, with a progress line.
fn sync_now(config: &Config, clock: &SystemClock) -> Result<ExitCode> {
    let mut store = open_store(config, clock)?;
    let creds = store.sync_credentials()?.ok_or(shoumen::sync::SyncError::NotEnrolled)?;
    let client = shoumen::sync::Client::new(creds, &Default::default())?;
    let start_acked = store.acked_seq()?;
    let started = std::time::Instant::now();
    let mut err = std::io::stderr().lock();
    let mut progress = |acked: u64, head: u64| {
        let total = head.saturating_sub(start_acked).max(1);
        let done = acked.saturating_sub(start_acked);
        let width = 30;
        let filled = (done * width / total) as usize;
        let _ = write!(
            err,
            "\r[{}{}] {done}/{total} entries",
            "#".repeat(filled),
            "-".repeat(width as usize - filled.min(width as usize))
        );
        let _ = err.flush();
    };
    let report = shoumen::sync::sync_once(&mut store, &client, clock, &[], &mut progress)?;
    eprintln!();
    println!(
        "synced in {:.1} s: {} new on the server, acknowledged up to #{}, {} waiting; lists {}; clock skew {:+.1} s",
        started.elapsed().as_secs_f64(),
        report.pushed,
        report.acked,
        report.queue,
        if report.lists_updated { "updated" } else { "current" },
        report.skew_ms as f64 / 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

fn open_db(db: Option<PathBuf>, config: Option<&Path>, clock: &SystemClock) -> Result<Store> {
    let path = match db {
        Some(p) => p,
        None => Config::load(config)?.db_path(),
    };
    if !path.exists() {
        bail!("no entry store at {}; pass --db or --config", path.display());
    }
    Ok(Store::open(&path, clock.boot_id())?)
}

fn debug_append(db: &Path, count: u64, ack_every: u64, clock: &SystemClock) -> Result<ExitCode> {
    let mut store = Store::open(db, clock.boot_id())?;
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let now = clock.now();
        let draft = EntryDraft {
            wall_ms: now.wall_ms,
            mono_ms: now.mono_ms,
            clock_synced: now.clock_synced,
            kind: EntryKind::Scan,
            direction: Direction::In,
            pass_id: Some(shoumen_protocol::PassId(i.to_be_bytes())),
            role: None,
            decision: Decision::Allow,
            reason: "ok",
            temperature: None,
            note: None,
        };
        let seq = store.append(&draft)?.seq;
        writeln!(out, "committed {seq}")?;
        if seq % ack_every == 0 {
            store.set_acked(seq)?;
            writeln!(out, "acked {seq}")?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
