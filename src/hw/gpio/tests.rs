//! Timing tests with a fake clock: every `tick` gets an explicit time.

use std::collections::HashMap;

use super::*;

#[derive(Default)]
struct FakePins {
    inputs: HashMap<Input, bool>,
    outputs: HashMap<Output, bool>,
    /// (output, active) in the order they were written.
    writes: Vec<(Output, bool)>,
}

impl Pins for FakePins {
    fn set(&mut self, output: Output, active: bool) {
        self.outputs.insert(output, active);
        self.writes.push((output, active));
    }
    fn get(&mut self, input: Input) -> bool {
        self.inputs.get(&input).copied().unwrap_or(false)
    }
}

impl FakePins {
    fn on(&self, o: Output) -> bool {
        self.outputs.get(&o).copied().unwrap_or(false)
    }
}

/// Ticks every 5 ms from `from` to `to` (exclusive), collecting events.
fn run(io: &mut GateIo, pins: &mut FakePins, from: u64, to: u64) -> Vec<(u64, IoEvent)> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        out.extend(io.tick(t, pins).into_iter().map(|e| (t, e)));
        t += 5;
    }
    out
}

#[test]
fn relay_pulse_lasts_the_configured_time() {
    let mut io = GateIo::new(IoConfig::default());
    let mut pins = FakePins::default();
    io.pulse(3_000, 1_000);
    run(&mut io, &mut pins, 1_000, 1_005);
    assert!(pins.on(Output::Relay));
    run(&mut io, &mut pins, 1_005, 3_995);
    assert!(pins.on(Output::Relay), "still open just before 3 s");
    run(&mut io, &mut pins, 3_995, 4_005);
    assert!(!pins.on(Output::Relay), "locked again after 3 s");
    let relay_writes: Vec<_> = pins.writes.iter().filter(|(o, _)| *o == Output::Relay).collect();
    assert_eq!(relay_writes, [&(Output::Relay, true), &(Output::Relay, false)]);
}

#[test]
fn a_short_glitch_is_debounced_away() {
    let mut io = GateIo::new(IoConfig::default());
    let mut pins = FakePins::default();
    pins.inputs.insert(Input::Exit, true);
    let mut events = run(&mut io, &mut pins, 0, 20);
    pins.inputs.insert(Input::Exit, false);
    events.extend(run(&mut io, &mut pins, 20, 200));
    assert!(events.is_empty(), "a 20 ms blip is not a press: {events:?}");
    pins.inputs.insert(Input::Exit, true);
    let events = run(&mut io, &mut pins, 200, 300);
    assert_eq!(events, [(230, IoEvent::ExitButton)], "one press after 30 ms stable");
}

#[test]
fn presence_reports_arrival_and_departure() {
    let mut io = GateIo::new(IoConfig::default());
    let mut pins = FakePins::default();
    pins.inputs.insert(Input::Presence, true);
    let arrive = run(&mut io, &mut pins, 0, 100);
    pins.inputs.insert(Input::Presence, false);
    let leave = run(&mut io, &mut pins, 100, 200);
    assert_eq!(arrive.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(), [IoEvent::Presence(true)]);
    assert_eq!(leave.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(), [IoEvent::Presence(false)]);
}

#[test]
fn door_opened_without_a_grant_is_forced() {
    let mut io = GateIo::new(IoConfig::default());
    let mut pins = FakePins::default();
    run(&mut io, &mut pins, 0, 10_000);
    pins.inputs.insert(Input::Door, true);
    let events = run(&mut io, &mut pins, 10_000, 10_100);
    assert_eq!(events, [(10_030, IoEvent::Door(DoorAlarm::ForcedOpen))]);
}

#[test]
fn door_opened_after_a_grant_is_fine_until_held_too_long() {
    let cfg = IoConfig::default();
    let mut io = GateIo::new(cfg.clone());
    let mut pins = FakePins::default();
    io.pulse(3_000, 1_000);
    run(&mut io, &mut pins, 1_000, 2_000);
    pins.inputs.insert(Input::Door, true);
    let events = run(&mut io, &mut pins, 2_000, 2_000 + cfg.door_held_open_ms + 100);
    assert_eq!(events, [(2_030 + cfg.door_held_open_ms, IoEvent::Door(DoorAlarm::HeldOpen))]);
    // The alarm is raised once, not on every tick.
    assert!(run(&mut io, &mut pins, 40_000, 45_000).is_empty());
}

#[test]
fn door_may_open_within_the_grace_after_the_relay_locks() {
    let cfg = IoConfig::default();
    let mut io = GateIo::new(cfg.clone());
    let mut pins = FakePins::default();
    io.pulse(3_000, 0);
    run(&mut io, &mut pins, 0, 3_000 + cfg.door_grace_ms - 100);
    pins.inputs.insert(Input::Door, true);
    assert!(run(&mut io, &mut pins, 7_900, 8_000).is_empty());
}

#[test]
fn closing_and_reopening_late_is_forced() {
    let mut io = GateIo::new(IoConfig::default());
    let mut pins = FakePins::default();
    io.pulse(3_000, 0);
    pins.inputs.insert(Input::Door, true);
    run(&mut io, &mut pins, 0, 4_000);
    pins.inputs.insert(Input::Door, false);
    run(&mut io, &mut pins, 4_000, 20_000);
    pins.inputs.insert(Input::Door, true);
    let events = run(&mut io, &mut pins, 20_000, 20_100);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1, IoEvent::Door(DoorAlarm::ForcedOpen));
}

#[test]
fn buzzer_patterns_differ_and_end() {
    let count_beeps = |sound| {
        let mut io = GateIo::new(IoConfig::default());
        let mut pins = FakePins::default();
        io.signal(sound, 0);
        run(&mut io, &mut pins, 0, 10_000);
        assert!(!pins.on(Output::Buzzer) && !pins.on(Output::Green) && !pins.on(Output::Red), "{sound:?} ended");
        let beeps = pins.writes.iter().filter(|w| **w == (Output::Buzzer, true)).count();
        let green = pins.writes.contains(&(Output::Green, true));
        let red = pins.writes.contains(&(Output::Red, true));
        (beeps, green, red)
    };
    assert_eq!(count_beeps(Sound::Ok), (1, true, false));
    assert_eq!(count_beeps(Sound::Deny), (2, false, true));
    assert_eq!(count_beeps(Sound::Alarm), (5, false, true));
}

#[test]
fn lock_forces_everything_off() {
    let mut io = GateIo::new(IoConfig::default());
    let mut pins = FakePins::default();
    io.pulse(3_000, 0);
    io.signal(Sound::Alarm, 0);
    run(&mut io, &mut pins, 0, 50);
    assert!(pins.on(Output::Relay) && pins.on(Output::Buzzer));
    io.lock(&mut pins);
    assert!(!pins.on(Output::Relay) && !pins.on(Output::Buzzer) && !pins.on(Output::Red));
    run(&mut io, &mut pins, 50, 100);
    assert!(!pins.on(Output::Relay), "a lock cancels the pulse");
}

#[test]
fn the_io_thread_locks_the_relay_when_stopped() {
    use crate::hw::sim::{SimPins, World};
    let world = World::new();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, _rx) = std::sync::mpsc::channel();
    let (mut handle, thread) =
        spawn_io(Box::new(SimPins::new(world.clone())), IoConfig::default(), tx, stop.clone()).unwrap();
    handle.pulse(60_000).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !world.lock().relay_unlocked && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(world.lock().relay_unlocked);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    assert!(!world.lock().relay_unlocked, "relay left unlocked after shutdown");
    assert_eq!(world.lock().relay_opened, 1);
}
