//! The gate policy's knobs. One struct, no bool parameters elsewhere.

use serde::{Deserialize, Deserializer, Serialize};
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

/// Which way this gate lets people through (docs/deployment.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateDirection {
    In,
    Out,
    /// One kiosk for both ways: the person taps 进门 or 出门, or an inward
    /// camera's reads count as "out".
    Both,
}

impl GateDirection {
    /// The direction of this gate, if it has only one.
    pub fn fixed(self) -> Option<Direction> {
        match self {
            GateDirection::In => Some(Direction::In),
            GateDirection::Out => Some(Direction::Out),
            GateDirection::Both => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GateDirection::In => "in",
            GateDirection::Out => "out",
            GateDirection::Both => "both",
        }
    }
}

impl From<Direction> for GateDirection {
    fn from(d: Direction) -> GateDirection {
        match d {
            Direction::In => GateDirection::In,
            Direction::Out => GateDirection::Out,
        }
    }
}

/// How a pass that goes the same way twice is treated (docs/deployment.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AntiPassback {
    Off,
    /// Refused for `passback_window_s` after an allowed pass the same way,
    /// at any of the community's gates; never locks a resident out.
    Timed,
    /// In must be followed by out: only where every exit has a reader.
    Strict,
}

impl<'de> Deserialize<'de> for AntiPassback {
    /// Also reads the old `anti_passback = true | false`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Old(bool),
            Mode(String),
        }
        match Raw::deserialize(d)? {
            Raw::Old(old) => {
                let mode = if old { AntiPassback::Strict } else { AntiPassback::Off };
                tracing::warn!(
                    "policy.anti_passback = {old} is the old form: it now reads as \"{}\"; write anti_passback = \"off\", \"timed\" (the default) or \"strict\"",
                    mode.as_str()
                );
                Ok(mode)
            }
            Raw::Mode(m) => match m.as_str() {
                "off" => Ok(AntiPassback::Off),
                "timed" => Ok(AntiPassback::Timed),
                "strict" => Ok(AntiPassback::Strict),
                other => Err(serde::de::Error::custom(format!(
                    "anti_passback = {other:?}: expected \"off\", \"timed\" or \"strict\""
                ))),
            },
        }
    }
}

impl AntiPassback {
    pub fn as_str(self) -> &'static str {
        match self {
            AntiPassback::Off => "off",
            AntiPassback::Timed => "timed",
            AntiPassback::Strict => "strict",
        }
    }
}

/// Everything the gate core decides by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Which way this gate lets people through: "in", "out" or "both".
    pub direction: GateDirection,
    /// With `direction = "both"`: how long a tapped 进门/出门 waits for a
    /// pass, and a pass for a tap.
    pub choose_direction_ms: u64,
    /// Fever threshold in °C (China's screening threshold is 37.3 °C).
    pub fever_threshold_c: f32,
    /// Ask for a second measurement before calling a fever.
    pub remeasure_on_fever: bool,
    /// Measure temperature before opening.
    pub require_temperature: bool,
    /// Start measuring when the presence sensor sees someone step up, so
    /// the temperature is taken while the pass is read and checked.
    pub measure_on_presence: bool,
    /// Also measure people going out (screening is for those coming in).
    pub temperature_on_exit: bool,
    /// After a fever, the screen asks the person to wait aside and measure
    /// again after this many minutes.
    pub fever_remeasure_after_min: u32,
    /// When the thermometer is faulty.
    pub on_thermometer_fault: FallbackPolicy,
    /// Give up on a measurement after this long without a valid reading.
    pub measure_timeout_ms: u64,
    pub anti_passback: AntiPassback,
    /// `timed`: the same pass the same way is refused this long after an
    /// allowed pass. Sized to a card handed back over the fence, not to a
    /// trip out and back (docs/deployment.md, "Quick returns").
    pub passback_window_s: i64,
    /// `timed`: an exit-button press after a pass came in counts, once, as
    /// that pass going out. Layout C cannot tell who pressed it, so at rush
    /// hour this lets most hand-backs through (docs/deployment.md).
    pub passback_exit_credit: bool,
    /// `strict` needs presence from every gate: after this long without
    /// reaching the server the kiosk falls back to `timed`.
    pub strict_offline_s: i64,
    /// The same pass refused this many times …
    pub repeated_refusals: u32,
    /// … within this many seconds raises an alarm.
    pub repeated_refusals_window_s: u64,
    /// A camera or thermometer fault lasting this long raises an alarm.
    pub device_fault_alarm_s: u64,
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
            direction: GateDirection::In,
            choose_direction_ms: 15_000,
            fever_threshold_c: 37.3,
            remeasure_on_fever: true,
            require_temperature: true,
            measure_on_presence: true,
            temperature_on_exit: false,
            fever_remeasure_after_min: 5,
            on_thermometer_fault: FallbackPolicy::CallGuard,
            measure_timeout_ms: 10_000,
            anti_passback: AntiPassback::Timed,
            passback_window_s: 120,
            passback_exit_credit: false,
            strict_offline_s: 900,
            repeated_refusals: 3,
            repeated_refusals_window_s: 600,
            device_fault_alarm_s: 60,
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

    /// Whether a person going `direction` has their temperature taken.
    pub fn measures(&self, direction: Direction) -> bool {
        self.require_temperature && (direction == Direction::In || self.temperature_on_exit)
    }
}
