//! The gate core: policy and state machine. Pure: no I/O, no clock reads,
//! no threads (see ARCHITECTURE.md, invariant 2).

mod advice;
mod core;
mod policy;
mod watch;

pub use self::advice::{next_step, NextStep};
pub use self::core::{
    step, Alarm, DoorAlarm, Effect, EntryDraft, Event, GateState, Lists, Now, Presence, ResultView, Screen, Sound,
    TempReading,
};
pub use self::policy::{AntiPassback, FallbackPolicy, GateDirection, Policy, TemperatureRecording};

#[cfg(test)]
mod tests;
