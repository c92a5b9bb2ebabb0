//! `shoumen hw`: check and exercise the hardware, real or (`--sim`) simulated.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use shoumen::app::{Executor, LogView};
use shoumen::check::read_input;
use shoumen::config::Config;
use shoumen::gate::{step, Effect, Event, GateState, Now};
use shoumen::hw::{self, gpio, sim::World, thermometer, GateRelay};
use shoumen::ports::SensorRequest;
use shoumen::store::Store;
use shoumen_protocol::{pass, Reason, Role};

use super::Context;

#[derive(clap::Subcommand)]
pub enum Command {
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
        /// The duty pass of whoever calibrates (see `relay --by`).
        #[arg(long, value_name = "PASS", requires = "calibrate")]
        by: Option<String>,
    },
    /// Unlock the gate relay for MS milliseconds (recorded as a manual open).
    Relay {
        #[arg(long, value_name = "MS")]
        pulse: u32,
        /// Why (recorded in the entry log).
        #[arg(long, default_value = "hardware test")]
        reason: String,
        /// The duty pass of whoever opens the gate (its QR image, a text
        /// file holding it, or its text): it opens the console as at the
        /// touchscreen's lock screen, so a photo of someone's code or a
        /// withdrawn pass is refused, and the opening is recorded in its
        /// holder's name (signing them in for duty here if they were not).
        #[arg(long, value_name = "PASS")]
        by: Option<String>,
    },
}

pub fn run(cmd: &Command, cx: &Context) -> Result<ExitCode> {
    // Hardware commands are about the real devices unless --sim says otherwise.
    let mut config = Config::load(cx.config.as_deref())?;
    config.kiosk.simulated = cx.sim;
    match cmd {
        Command::Probe => probe(&config),
        Command::Thermometer { samples, count, calibrate, by } => {
            measure(&config, cx, *samples, *count, calibrate.map(|c| (c, by.as_deref())))
        }
        Command::Relay { pulse, reason, by } => relay(&config, cx, *pulse, reason, by.as_deref()),
    }
}

fn probe(config: &Config) -> Result<ExitCode> {
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

/// With `calibrate`, the reference temperature and the duty pass of who
/// calibrates.
fn measure(
    config: &Config,
    cx: &Context,
    samples: Option<u8>,
    count: u32,
    calibrate: Option<(f32, Option<&str>)>,
) -> Result<ExitCode> {
    let mut t = config.thermometer.clone();
    if let Some(n) = samples {
        t.samples = n;
    }
    if let Some(offset) = cx.store(config).ok().and_then(|s| s.calibration_offset().ok().flatten()) {
        t.model.offset_c = offset;
    }
    let world = World::new();
    world.lock().body_centi = 3660;
    let mut sensor = hw::open_thermometer(config.kiosk.simulated, &t, &world);
    let mut readings = Vec::new();
    for i in 1..=count {
        let started = Instant::now();
        let result = sensor.measure_outcome();
        let ms = started.elapsed().as_millis();
        match result {
            Ok(thermometer::Outcome::Body(m)) => {
                println!(
                    "#{i}: body {:.2} °C  (skin {:.2} °C, ambient {:.2} °C, {} retries)  {ms} ms",
                    m.body_c, m.skin_c, m.ambient_c, m.retries
                );
                readings.push(m);
            }
            Ok(thermometer::Outcome::NoSubject { skin_c, ambient_c }) => {
                println!(
                    "#{i}: nobody in front of the sensor (object {skin_c:.2} °C, ambient {ambient_c:.2} °C)  {ms} ms"
                )
            }
            Err(e) => println!("#{i}: FAULT: {e}  {ms} ms"),
        }
    }
    if let Some((reference, by)) = calibrate {
        if readings.is_empty() {
            bail!("no valid measurement to calibrate against; stand in front of the sensor and try again");
        }
        let mean = readings.iter().map(|m| m.body_c).sum::<f32>() / readings.len() as f32;
        let offset = t.model.offset_c + (reference - mean);
        let (mut store, mut state, now) = console(config, cx, by)?;
        store.set_calibration_offset(offset)?;
        // A setting changed at the kiosk, recorded as the console records it.
        for effect in step(&mut state, Event::SettingChanged { setting: format!("calibration {offset:+.2}") }, now) {
            if let Effect::Record(draft) = effect {
                println!("recorded as entry #{}", store.append(&draft)?.seq);
            }
        }
        println!("calibrated: reference {reference:.2} °C, measured {mean:.2} °C → offset {offset:+.2} °C stored");
    }
    Ok(ExitCode::SUCCESS)
}

/// The store and the gate core as the kiosk has them, with the console
/// opened by the duty pass `by` if one is given.
fn console(config: &Config, cx: &Context, by: Option<&str>) -> Result<(Store, GateState, Now)> {
    let mut store = cx.store(config)?;
    let now = cx.clock.now();
    let mut state = shoumen::app::kiosk::gate_state(config, &store, now.wall_ms)?;
    if let Some(by) = by {
        open_console(&mut state, &mut store, by, now)?;
    }
    Ok((store, state, now))
}

/// Opens the console as the duty pass `input` opens it at the lock screen:
/// the gate core verifies the pass and records what it did; a refusal is
/// recorded too, and is the error.
fn open_console(state: &mut GateState, store: &mut Store, input: &str, now: Now) -> Result<()> {
    let text = read_input(input).map_err(anyhow::Error::msg)?;
    // Any other pass would go through the gate as at the camera: refused
    // here before the core sees it, as nobody stands at the gate.
    match pass::verify_signature(&text, &state.lists.trust) {
        Ok(claims) if claims.role == Role::Duty => {}
        Ok(claims) => {
            bail!("{input} is a {} pass; the console opens only for a volunteer's duty pass", claims.role.as_str())
        }
        Err(e) => bail!("{input} is not a pass of this kiosk's community ({})", e.code()),
    }
    let mut effects = step(state, Event::ConsoleWaiting, now);
    effects.extend(step(state, Event::PassRead { text, direction: None }, now));
    let mut refused = None;
    for effect in effects {
        if let Effect::Record(draft) = effect {
            let seq = store.append(&draft)?.seq;
            println!("{}: {} ({}), recorded as entry #{seq}", input, draft.decision.as_str(), draft.reason);
            if draft.reason != Reason::DutyStart && draft.reason != Reason::ConsoleOpened {
                refused = Some(draft.reason);
            }
        }
    }
    match (refused, state.console.by) {
        (None, Some(by)) => {
            println!("console opened by duty pass {}: what is done now is recorded in their name", by.to_hex());
            Ok(())
        }
        (reason, _) => {
            bail!("the console stays locked: {input} was refused ({})", reason.map_or("not read", |r| r.as_str()))
        }
    }
}

/// A relay pulse is a gate opening: it is recorded like any manual open,
/// in the name of the duty pass `by` if one is given.
fn relay(config: &Config, cx: &Context, pulse: u32, reason: &str, by: Option<&str>) -> Result<ExitCode> {
    let (mut store, mut state, now) = console(config, cx, by)?;
    state.policy.relay_pulse_ms = pulse;
    let world = World::new();
    let pins = hw::open_pins(config.kiosk.simulated, &config.gpio, &world)?;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, _rx) = std::sync::mpsc::channel();
    let (mut io, thread) = gpio::spawn_io(pins, config.gpio.clone(), tx, stop.clone())?;
    let effects = step(&mut state, Event::ManualOpen { reason: reason.to_string() }, now);
    let (measure, _) = std::sync::mpsc::channel::<SensorRequest>();
    Executor {
        entries: &mut store,
        relay: &mut io.clone(),
        indicator: &mut io.clone(),
        view: &mut LogView,
        measure: &measure,
        voice: None,
    }
    .apply(effects);
    let started = Instant::now();
    let mut was_open = false;
    while started.elapsed() < Duration::from_millis(u64::from(pulse) + 300) {
        was_open |= world.lock().relay_unlocked;
        std::thread::sleep(Duration::from_millis(10));
    }
    io.lock();
    step(&mut state, Event::ConsoleLocked, now);
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    if config.kiosk.simulated {
        let times = if was_open { "once" } else { "never" };
        println!(
            "simulated relay: unlocked {times} for {pulse} ms, now locked; recorded as entry #{}",
            store.head_seq()?
        );
    } else {
        println!("relay pulsed for {pulse} ms and locked again; recorded as entry #{}", store.head_seq()?);
    }
    Ok(ExitCode::SUCCESS)
}
