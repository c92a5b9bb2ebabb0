//! Gate I/O: the lock relay, green and red LEDs, buzzer, presence sensor,
//! door contact and exit button.
//!
//! [`GateIo`] holds all the timing (relay pulse, debounce, door alarms,
//! buzzer patterns) and is driven by an explicit clock, so it is tested with
//! a fake one. [`Pins`] is the only thing that touches hardware: rppal on
//! the Pi ([`RppalPins`]), the simulated world otherwise.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::gate::{DoorAlarm, Event, Sound};

use super::{GateRelay, HwError, Indicator};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    Relay,
    Green,
    Red,
    Buzzer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    Presence,
    Door,
    Exit,
}

/// Logical pin access: `true` means active (relay unlocked, LED lit,
/// someone present, door open, button pressed), whatever the wiring's levels.
pub trait Pins: Send {
    fn set(&mut self, output: Output, active: bool);
    fn get(&mut self, input: Input) -> bool;
}

/// Pin numbers (BCM) and levels. Defaults match docs/hardware.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IoConfig {
    pub relay_pin: u8,
    /// Most opto-isolated relay boards switch on a low input.
    pub relay_active_high: bool,
    pub green_pin: u8,
    pub red_pin: u8,
    pub buzzer_pin: u8,
    pub outputs_active_high: bool,
    pub presence_pin: u8,
    pub presence_active_high: bool,
    pub door_pin: u8,
    /// A reed contact to ground reads high (pull-up) when the door opens.
    pub door_open_high: bool,
    pub exit_pin: u8,
    /// A push button to ground reads low when pressed.
    pub exit_active_high: bool,
    pub debounce_ms: u64,
    /// The door may stay open this long after a grant before it alarms.
    pub door_held_open_ms: u64,
    /// The door may open this long after the relay locked again without
    /// counting as forced (people are slow to push).
    pub door_grace_ms: u64,
}

impl Default for IoConfig {
    fn default() -> Self {
        IoConfig {
            relay_pin: 17,
            relay_active_high: false,
            green_pin: 27,
            red_pin: 22,
            buzzer_pin: 23,
            outputs_active_high: true,
            presence_pin: 24,
            presence_active_high: true,
            door_pin: 25,
            door_open_high: true,
            exit_pin: 5,
            exit_active_high: false,
            debounce_ms: 30,
            door_held_open_ms: 30_000,
            door_grace_ms: 5_000,
        }
    }
}

/// What the I/O logic reports to the gate core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoEvent {
    Presence(bool),
    ExitButton,
    Door(DoorAlarm),
}

impl From<IoEvent> for Event {
    fn from(e: IoEvent) -> Event {
        match e {
            IoEvent::Presence(p) => Event::Presence(p),
            IoEvent::ExitButton => Event::ExitButton,
            IoEvent::Door(a) => Event::Door(a),
        }
    }
}

/// An input that changes state only after holding the new level for the
/// debounce time.
#[derive(Clone, Debug)]
struct Debouncer {
    stable: bool,
    candidate: bool,
    since_ms: u64,
}

impl Debouncer {
    fn new() -> Self {
        Debouncer { stable: false, candidate: false, since_ms: 0 }
    }

    /// Returns the new stable state when it changes.
    fn update(&mut self, raw: bool, now_ms: u64, debounce_ms: u64) -> Option<bool> {
        if raw != self.candidate {
            self.candidate = raw;
            self.since_ms = now_ms;
        }
        if self.candidate != self.stable && now_ms.saturating_sub(self.since_ms) >= debounce_ms {
            self.stable = self.candidate;
            return Some(self.stable);
        }
        None
    }
}

/// A buzzer and LED pattern: (start, end) ms intervals of buzzing, and how
/// long the LED stays lit.
struct Pattern {
    buzz: &'static [(u64, u64)],
    led: Output,
    led_ms: u64,
}

fn pattern(sound: Sound) -> Pattern {
    match sound {
        Sound::Ok => Pattern { buzz: &[(0, 120)], led: Output::Green, led_ms: 2_000 },
        Sound::Deny => Pattern { buzz: &[(0, 100), (200, 300)], led: Output::Red, led_ms: 3_000 },
        Sound::Alarm => Pattern {
            buzz: &[(0, 400), (600, 1000), (1200, 1600), (1800, 2200), (2400, 2800)],
            led: Output::Red,
            led_ms: 5_000,
        },
    }
}

/// The I/O timing logic, driven by `tick(now)`.
pub struct GateIo {
    cfg: IoConfig,
    relay_until_ms: Option<u64>,
    /// Until when a door opening counts as granted.
    grant_until_ms: u64,
    door_open_since_ms: Option<u64>,
    held_alarm_sent: bool,
    inputs: [(Input, Debouncer); 3],
    signal: Option<(Sound, u64)>,
    outputs: [(Output, bool); 4],
}

impl GateIo {
    pub fn new(cfg: IoConfig) -> GateIo {
        GateIo {
            cfg,
            relay_until_ms: None,
            grant_until_ms: 0,
            door_open_since_ms: None,
            held_alarm_sent: false,
            inputs: [
                (Input::Presence, Debouncer::new()),
                (Input::Door, Debouncer::new()),
                (Input::Exit, Debouncer::new()),
            ],
            signal: None,
            outputs: [(Output::Relay, false), (Output::Green, false), (Output::Red, false), (Output::Buzzer, false)],
        }
    }

    /// Unlocks the gate for `ms`.
    pub fn pulse(&mut self, ms: u32, now_ms: u64) {
        let until = now_ms + u64::from(ms);
        self.relay_until_ms = Some(until);
        self.grant_until_ms = until + self.cfg.door_grace_ms;
    }

    pub fn signal(&mut self, sound: Sound, now_ms: u64) {
        self.signal = Some((sound, now_ms));
    }

    pub fn relay_unlocked(&self) -> bool {
        self.outputs[0].1
    }

    /// Reads inputs, updates outputs, and reports what changed.
    pub fn tick(&mut self, now_ms: u64, pins: &mut dyn Pins) -> Vec<IoEvent> {
        let mut events = Vec::new();
        for (input, deb) in &mut self.inputs {
            let raw = pins.get(*input);
            let Some(active) = deb.update(raw, now_ms, self.cfg.debounce_ms) else { continue };
            match (*input, active) {
                (Input::Presence, p) => events.push(IoEvent::Presence(p)),
                (Input::Exit, true) => events.push(IoEvent::ExitButton),
                (Input::Exit, false) => {}
                (Input::Door, true) => {
                    self.door_open_since_ms = Some(now_ms);
                    self.held_alarm_sent = false;
                    if now_ms > self.grant_until_ms {
                        events.push(IoEvent::Door(DoorAlarm::ForcedOpen));
                    }
                }
                (Input::Door, false) => self.door_open_since_ms = None,
            }
        }
        if let Some(since) = self.door_open_since_ms {
            if !self.held_alarm_sent && now_ms.saturating_sub(since) >= self.cfg.door_held_open_ms {
                self.held_alarm_sent = true;
                events.push(IoEvent::Door(DoorAlarm::HeldOpen));
            }
        }

        let relay = self.relay_until_ms.is_some_and(|t| now_ms < t);
        if !relay {
            self.relay_until_ms = None;
        }
        let (mut green, mut red, mut buzz) = (false, false, false);
        if let Some((sound, start)) = self.signal {
            let t = now_ms.saturating_sub(start);
            let p = pattern(sound);
            buzz = p.buzz.iter().any(|&(a, b)| t >= a && t < b);
            let lit = t < p.led_ms;
            match p.led {
                Output::Green => green = lit,
                _ => red = lit,
            }
            if t >= p.led_ms && p.buzz.last().is_none_or(|&(_, end)| t >= end) {
                self.signal = None;
            }
        }
        for (output, value) in
            [(Output::Relay, relay), (Output::Green, green), (Output::Red, red), (Output::Buzzer, buzz)]
        {
            let slot = self.outputs.iter_mut().find(|(o, _)| *o == output).map(|(_, v)| v);
            if let Some(current) = slot {
                if *current != value {
                    *current = value;
                    pins.set(output, value);
                }
            }
        }
        events
    }

    /// Everything off, relay locked.
    pub fn lock(&mut self, pins: &mut dyn Pins) {
        self.relay_until_ms = None;
        self.signal = None;
        for (output, value) in &mut self.outputs {
            *value = false;
            pins.set(*output, false);
        }
    }
}

/// Commands from the core to the I/O thread.
#[derive(Debug)]
enum IoCommand {
    Pulse(u32),
    Signal(Sound),
    Lock,
}

/// The core's handle on the I/O thread: it is the gate relay and the
/// indicator.
#[derive(Clone)]
pub struct IoHandle {
    tx: Sender<IoCommand>,
    alive: Arc<AtomicBool>,
}

impl IoHandle {
    /// False once the I/O thread has ended (it locks the relay as it goes).
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }
}

impl GateRelay for IoHandle {
    fn pulse(&mut self, ms: u32) -> Result<(), HwError> {
        self.tx.send(IoCommand::Pulse(ms)).map_err(|_| HwError::Relay("the gate I/O thread has stopped".into()))
    }

    fn lock(&mut self) {
        let _ = self.tx.send(IoCommand::Lock);
    }
}

impl Indicator for IoHandle {
    fn signal(&mut self, sound: Sound) {
        let _ = self.tx.send(IoCommand::Signal(sound));
    }
}

/// Set by the panic hook: every I/O thread locks its relay at once.
static PANIC_LOCK: AtomicBool = AtomicBool::new(false);

/// Makes any panic, in any thread, lock the relay before the process goes
/// down: a panic in the main thread ends the process without unwinding the
/// I/O thread, so its `Drop` alone would not run.
pub fn install_panic_lock() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A decoder panic caught by `isolate` costs one frame, nothing more.
        if crate::isolate::is_isolated() {
            previous(info);
            return;
        }
        PANIC_LOCK.store(true, Ordering::SeqCst);
        previous(info);
        // Give the I/O threads (polling every 5 ms) time to lock.
        std::thread::sleep(Duration::from_millis(30));
    }));
}

/// Starts the I/O thread: polls inputs every 5 ms, drives outputs, sends
/// input events to the core. The relay is locked when the thread ends.
pub fn spawn_io(
    mut pins: Box<dyn Pins>,
    cfg: IoConfig,
    events: Sender<Event>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<(IoHandle, JoinHandle<()>)> {
    let (tx, rx): (Sender<IoCommand>, Receiver<IoCommand>) = std::sync::mpsc::channel();
    let alive = Arc::new(AtomicBool::new(true));
    let alive_thread = alive.clone();
    let handle = std::thread::Builder::new().name("gate-io".into()).spawn(move || {
        // Cleared however the thread ends, panics included.
        struct Alive(Arc<AtomicBool>);
        impl Drop for Alive {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Relaxed);
            }
        }
        let _alive = Alive(alive_thread);
        let start = Instant::now();
        let mut io = GateIo::new(cfg);
        io.lock(pins.as_mut());
        let mut woken_by = None;
        while !stop.load(Ordering::Relaxed) {
            if PANIC_LOCK.load(Ordering::SeqCst) {
                io.lock(pins.as_mut());
                return;
            }
            let now = start.elapsed().as_millis() as u64;
            for command in woken_by.take().into_iter().chain(rx.try_iter()) {
                match command {
                    IoCommand::Pulse(ms) => {
                        io.pulse(ms, now);
                        tracing::trace!(target: crate::ports::STAGE, stage = "relay");
                    }
                    IoCommand::Signal(s) => io.signal(s, now),
                    IoCommand::Lock => io.lock(pins.as_mut()),
                }
            }
            for e in io.tick(now, pins.as_mut()) {
                if events.send(e.into()).is_err() {
                    io.lock(pins.as_mut());
                    return;
                }
            }
            // Poll the inputs every 5 ms, but open the moment the core asks.
            match rx.recv_timeout(Duration::from_millis(5)) {
                Ok(command) => woken_by = Some(command),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    io.lock(pins.as_mut());
                    return;
                }
            }
        }
        io.lock(pins.as_mut());
    })?;
    Ok((IoHandle { tx, alive }, handle))
}

#[derive(Debug, Error)]
pub enum GpioError {
    #[error("gate I/O: {0}")]
    Open(String),
}

/// The Pi's GPIO through rppal.
pub struct RppalPins {
    cfg: IoConfig,
    relay: rppal::gpio::OutputPin,
    green: rppal::gpio::OutputPin,
    red: rppal::gpio::OutputPin,
    buzzer: rppal::gpio::OutputPin,
    presence: rppal::gpio::InputPin,
    door: rppal::gpio::InputPin,
    exit: rppal::gpio::InputPin,
}

impl RppalPins {
    pub fn open(cfg: &IoConfig) -> Result<RppalPins, GpioError> {
        let gpio = rppal::gpio::Gpio::new().map_err(|e| GpioError::Open(explain_gpio(&e)))?;
        let pin = |n: u8| gpio.get(n).map_err(|e| GpioError::Open(format!("GPIO{n}: {}", explain_gpio(&e))));
        let out = |n: u8, active_high: bool| -> Result<rppal::gpio::OutputPin, GpioError> {
            // Start at the inactive level: never glitch the relay open.
            let mut p = if active_high { pin(n)?.into_output_low() } else { pin(n)?.into_output_high() };
            // On drop keep the pin an output at its inactive level (see Drop).
            p.set_reset_on_drop(false);
            Ok(p)
        };
        Ok(RppalPins {
            relay: out(cfg.relay_pin, cfg.relay_active_high)?,
            green: out(cfg.green_pin, cfg.outputs_active_high)?,
            red: out(cfg.red_pin, cfg.outputs_active_high)?,
            buzzer: out(cfg.buzzer_pin, cfg.outputs_active_high)?,
            presence: pin(cfg.presence_pin)?.into_input_pullup(),
            door: pin(cfg.door_pin)?.into_input_pullup(),
            exit: pin(cfg.exit_pin)?.into_input_pullup(),
            cfg: cfg.clone(),
        })
    }
}

impl Pins for RppalPins {
    fn set(&mut self, output: Output, active: bool) {
        let (pin, active_high) = match output {
            Output::Relay => (&mut self.relay, self.cfg.relay_active_high),
            Output::Green => (&mut self.green, self.cfg.outputs_active_high),
            Output::Red => (&mut self.red, self.cfg.outputs_active_high),
            Output::Buzzer => (&mut self.buzzer, self.cfg.outputs_active_high),
        };
        if active == active_high {
            pin.set_high()
        } else {
            pin.set_low()
        }
    }

    fn get(&mut self, input: Input) -> bool {
        let (pin, active_high) = match input {
            Input::Presence => (&self.presence, self.cfg.presence_active_high),
            Input::Door => (&self.door, self.cfg.door_open_high),
            Input::Exit => (&self.exit, self.cfg.exit_active_high),
        };
        pin.is_high() == active_high
    }
}

impl Drop for RppalPins {
    /// Exit, SIGTERM (the core loop returns) and panics (unwinding) all end
    /// here: the relay goes to its locked level. A SIGKILL or power cut cannot
    /// run code, so wire the relay input with a pull resistor to the locked
    /// level (docs/hardware.md).
    fn drop(&mut self) {
        self.set(Output::Relay, false);
    }
}

fn explain_gpio(e: &rppal::gpio::Error) -> String {
    match e {
        rppal::gpio::Error::UnknownModel => {
            "this is not a Raspberry Pi (unknown SoC); run with --sim to use simulated gate I/O".into()
        }
        rppal::gpio::Error::PermissionDenied(path) => format!(
            "no permission to open {path}: add the kiosk's user to the `gpio` group (`sudo adduser shoumen gpio`)"
        ),
        rppal::gpio::Error::PinUsed(n) => {
            format!("GPIO{n} is used by another program or driver; pick another pin in the config")
        }
        rppal::gpio::Error::PinNotAvailable(n) => format!("GPIO{n} does not exist on this Pi"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
