//! `shoumen hw`: check and exercise the hardware, real or (`--sim`) simulated.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use shoumen::app::{Executor, LogView};
use shoumen::config::Config;
use shoumen::gate::{step, Event, GateState};
use shoumen::hw::{self, gpio, sim::World, thermometer, GateRelay};
use shoumen::ports::SensorRequest;

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

pub fn run(cmd: &Command, cx: &Context) -> Result<ExitCode> {
    // Hardware commands are about the real devices unless --sim says otherwise.
    let mut config = Config::load(cx.config.as_deref())?;
    config.kiosk.simulated = cx.sim;
    match cmd {
        Command::Probe => probe(&config),
        Command::Thermometer { samples, count, calibrate } => measure(&config, cx, *samples, *count, *calibrate),
        Command::Relay { pulse, reason } => relay(&config, cx, *pulse, reason),
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

fn measure(config: &Config, cx: &Context, samples: Option<u8>, count: u32, calibrate: Option<f32>) -> Result<ExitCode> {
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
    if let Some(reference) = calibrate {
        if readings.is_empty() {
            bail!("no valid measurement to calibrate against; stand in front of the sensor and try again");
        }
        let mean = readings.iter().map(|m| m.body_c).sum::<f32>() / readings.len() as f32;
        let offset = t.model.offset_c + (reference - mean);
        cx.store(config)?.set_calibration_offset(offset)?;
        println!("calibrated: reference {reference:.2} °C, measured {mean:.2} °C → offset {offset:+.2} °C stored");
    }
    Ok(ExitCode::SUCCESS)
}

/// A relay pulse is a gate opening: it is recorded like any manual open.
fn relay(config: &Config, cx: &Context, pulse: u32, reason: &str) -> Result<ExitCode> {
    let mut store = cx.store(config)?;
    let mut state = GateState::new(config.policy.clone(), store.lists()?, store.presence()?);
    state.policy.relay_pulse_ms = pulse;
    let world = World::new();
    let pins = hw::open_pins(config.kiosk.simulated, &config.gpio, &world)?;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, _rx) = std::sync::mpsc::channel();
    let (mut io, thread) = gpio::spawn_io(pins, config.gpio.clone(), tx, stop.clone())?;
    let effects = step(&mut state, Event::ManualOpen { reason: reason.to_string() }, cx.clock.now());
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
