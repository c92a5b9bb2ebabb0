use std::sync::mpsc;

use shoumen_protocol::{Direction, EntryKind, Reason};

use super::*;
use crate::gate::{ResultView, Sound};

/// Records relay pulses and signals instead of driving pins.
#[derive(Default)]
struct Outputs {
    pulses: Vec<u32>,
    sounds: Vec<Sound>,
}

impl GateRelay for Outputs {
    fn pulse(&mut self, ms: u32) -> Result<(), HwError> {
        self.pulses.push(ms);
        Ok(())
    }
    fn lock(&mut self) {}
}

impl Indicator for Outputs {
    fn signal(&mut self, sound: Sound) {
        self.sounds.push(sound);
    }
}

struct FailingSink;

impl EntrySink for FailingSink {
    fn append(&mut self, _: &EntryDraft) -> Result<Entry, StoreError> {
        Err(StoreError::DiskFull)
    }
}

#[derive(Default)]
struct Recorder {
    screens: Vec<Screen>,
    alarms: Vec<Alarm>,
}

impl View for Recorder {
    fn show(&mut self, screen: &Screen) {
        self.screens.push(screen.clone());
    }
    fn alarm(&mut self, alarm: &Alarm) {
        self.alarms.push(alarm.clone());
    }
}

fn allow_effects() -> Vec<Effect> {
    let draft = EntryDraft {
        wall_ms: 1,
        mono_ms: 1,
        clock_synced: true,
        kind: EntryKind::Manual,
        direction: Direction::In,
        pass_id: None,
        role: None,
        decision: Decision::Allow,
        reason: Reason::ManualOpen,
        temperature: None,
        note: Some("ambulance".into()),
    };
    vec![
        Effect::Record(draft),
        Effect::OpenGate { pulse_ms: 3000 },
        Effect::Show(Screen::Result(ResultView::bare(Decision::Allow, Reason::ManualOpen))),
        Effect::Sound(Sound::Ok),
    ]
}

#[test]
fn a_failed_record_keeps_the_gate_closed_and_calls_the_guard() {
    let (tx, _rx) = mpsc::channel();
    let mut view = Recorder::default();
    let (mut relay, mut indicator) = (Outputs::default(), Outputs::default());
    let mut exec = Executor {
        entries: &mut FailingSink,
        relay: &mut relay,
        indicator: &mut indicator,
        view: &mut view,
        measure: &tx,
        voice: None,
    };
    exec.apply(allow_effects());
    assert!(relay.pulses.is_empty(), "the gate opened without a record");
    let Some(Screen::Result(v)) = view.screens.last() else { panic!("{:?}", view.screens) };
    assert_eq!((v.decision, v.reason.as_str()), (Decision::Guard, "store_fault"));
    assert!(matches!(&view.alarms[0], Alarm::DeviceFault { device: "store", message } if message.contains("full")));
}

#[test]
fn a_committed_record_opens_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("k.db"), "b").unwrap();
    let (tx, _rx) = mpsc::channel();
    let mut view = Recorder::default();
    let (mut relay, mut indicator) = (Outputs::default(), Outputs::default());
    let mut exec = Executor {
        entries: &mut store,
        relay: &mut relay,
        indicator: &mut indicator,
        view: &mut view,
        measure: &tx,
        voice: None,
    };
    exec.apply(allow_effects());
    assert_eq!(relay.pulses, [3000]);
    assert_eq!(indicator.sounds, [Sound::Ok]);
    assert_eq!(store.head_seq().unwrap(), 1);
    assert_eq!(store.entry(1).unwrap().unwrap().note.as_deref(), Some("ambulance"));
}

/// The events that hold an update back (someone is at the gate), and the
/// ones that do not (the gate alone: an empty sensor, a fault, a person
/// walking away, the console's lock screen repeating).
#[test]
fn an_update_waits_for_a_pass_a_forehead_a_tap_the_exit_button_or_a_guard() {
    use crate::gate::{Event, TempReading};
    use core_loop::someone_at_gate;
    let pass = Event::PassRead { text: "x".into(), direction: None };
    for e in [
        pass,
        Event::ChooseDirection(Direction::In),
        Event::Temperature(TempReading::Body(3650)),
        Event::ManualOpen { reason: "delivery".into() },
        Event::ExitButton,
        Event::Presence(true),
        Event::PassbackOverride,
        Event::ConsoleOpenedByPin,
    ] {
        assert!(someone_at_gate(&e), "{e:?}");
    }
    for e in [
        Event::Temperature(TempReading::NoSubject),
        Event::Temperature(TempReading::Fault("no answer".into())),
        Event::Presence(false),
        Event::ConsoleWaiting,
        Event::ConsoleLocked,
    ] {
        assert!(!someone_at_gate(&e), "{e:?}");
    }
}
