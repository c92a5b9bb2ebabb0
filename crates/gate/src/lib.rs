//! The gate core: policy and state machine. Pure: no I/O, no clock reads,
//! no threads (see ARCHITECTURE.md, invariant 2).

mod advice;
mod core;
mod policy;
mod watch;

pub use self::advice::{next_step, NextStep};
pub use self::core::{
    step, Alarm, Console, DoorAlarm, Effect, EntryDraft, Event, GateState, Lists, Now, OnDuty, Presence, ResultView,
    Screen, Sound, TempReading, CONSOLE_WAITING_MS, DUTY_FORGOTTEN_AFTER_MS, DUTY_SETTLE_MS,
};
pub use self::policy::{AntiPassback, FallbackPolicy, GateDirection, Policy, TemperatureRecording};

#[cfg(test)]
mod tests;
