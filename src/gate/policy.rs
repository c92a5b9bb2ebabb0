//! The gate policy's knobs. One struct, no bool parameters elsewhere.

use serde::{Deserialize, Serialize};
use shoumen_protocol::Direction;

/// What to do when a rule cannot be checked (thermometer broken, lists too old).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackPolicy {
    /// Refuse and ask the person to call the guard (the default).
    CallGuard,
    /// Let the person through and record that the check was skipped.
    Allow,
}

/// How much of a temperature the log keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemperatureRecording {
    /// The estimated body temperature, to 0.01 °C.
    Value,
    /// Only whether it was at or above the fever threshold.
    FeverOnly,
}

/// Everything the gate core decides by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Which way this gate lets people through.
    pub direction: Direction,
    /// Fever threshold in °C (China's screening threshold is 37.3 °C).
    pub fever_threshold_c: f32,
    /// Ask for a second measurement before calling a fever.
    pub remeasure_on_fever: bool,
    /// Measure temperature before opening.
    pub require_temperature: bool,
    /// When the thermometer is faulty.
    pub on_thermometer_fault: FallbackPolicy,
    /// Give up on a measurement after this long without a valid reading.
    pub measure_timeout_ms: u64,
    /// Refuse a pass that went through this gate's direction before it went
    /// the other way.
    pub anti_passback: bool,
    /// Lists older than this make the screen warn.
    pub lists_warn_after_s: i64,
    /// Lists older than this (or past their expiry) trigger `on_stale_lists`.
    pub lists_max_age_s: i64,
    pub on_stale_lists: FallbackPolicy,
    /// How long the relay holds the lock open.
    pub relay_pulse_ms: u32,
    /// How long the result stays on screen; also how long re-reads of the same
    /// pass are ignored, since the camera keeps seeing it.
    pub result_screen_ms: u64,
    /// Clock tolerance for a pass's validity window: the Pi has no RTC.
    pub clock_leeway_s: i64,
    pub record_temperature: TemperatureRecording,
    /// How long a guard's anti-passback override stays armed.
    pub passback_override_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            direction: Direction::In,
            fever_threshold_c: 37.3,
            remeasure_on_fever: true,
            require_temperature: true,
            on_thermometer_fault: FallbackPolicy::CallGuard,
            measure_timeout_ms: 10_000,
            anti_passback: true,
            lists_warn_after_s: 6 * 3600,
            lists_max_age_s: 72 * 3600,
            on_stale_lists: FallbackPolicy::CallGuard,
            relay_pulse_ms: 3_000,
            result_screen_ms: 4_000,
            clock_leeway_s: 300,
            record_temperature: TemperatureRecording::Value,
            passback_override_ms: 60_000,
        }
    }
}

impl Policy {
    /// The fever threshold in hundredths of a degree.
    pub fn fever_threshold_centi(&self) -> i32 {
        (self.fever_threshold_c * 100.0).round() as i32
    }
}
