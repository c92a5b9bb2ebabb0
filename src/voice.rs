//! Spoken prompts: which clip a screen calls for, in which language, and
//! when to stay quiet. The clips are Ogg Vorbis files made by
//! `scripts/make-voice.sh` under `assets/voice/<lang>/` and built into the
//! binary; a file of the same name in `<override_dir>/<lang>/` (`.ogg` or
//! `.wav`) replaces one, e.g. with a recording.
//!
//! Architecture invariant: speaking never blocks the core loop. The
//! speaker plays on its own thread, and a missing audio device is a health
//! item, never a reason to refuse anyone.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use shoumen_protocol::Reason;

use crate::gate::{Alarm, AntiPassback, DoorAlarm, ResultView, Screen};
use crate::hw::audio::{Clip, Speaker};

/// The languages clips exist in: the UI's language codes.
pub const LANGUAGES: [&str; 2] = ["zh_CN", "en"];

/// Defines the list of clips and builds each one in, for both languages.
macro_rules! clips {
    ($($name:literal),* $(,)?) => {
        /// Every clip, as named in `scripts/make-voice.sh`.
        pub const CLIPS: &[&str] = &[$($name),*];
        /// (name, zh_CN clip, en clip), built in.
        const EMBEDDED: &[(&str, &[u8], &[u8])] = &[$((
            $name,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/voice/zh_CN/", $name, ".ogg")).as_slice(),
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/voice/en/", $name, ".ogg")).as_slice(),
        )),*];
    };
}

clips!(
    "measuring",
    "remeasure",
    "choose_direction",
    "ok_temperature",
    "ok",
    "welcome_home",
    "gate_open",
    "no_temperature",
    "fever",
    "expired",
    "not_yet_valid",
    "code_expired",
    "revoked",
    "quarantine_no_exit",
    "passback",
    "passback_strict",
    "invalid_pass",
    "not_this_compound",
    "gate_fault",
    "guard_checks",
    "call_guard",
    "measure_timeout",
    "close_gate",
    "duty_start",
    "duty_end",
);

/// The clip a screen calls for; `None` for screens that stay silent.
pub fn clip_for(screen: &Screen) -> Option<&'static str> {
    match screen {
        Screen::Scan { .. } | Screen::GuardError { .. } | Screen::ConsoleOpen { .. } => None,
        Screen::Measuring { .. } => Some("measuring"),
        Screen::Remeasure { .. } => Some("remeasure"),
        Screen::ChooseDirection => Some("choose_direction"),
        Screen::Result(view) => Some(clip_for_result(view)),
    }
}

/// Every reason has its clip: adding a reason does not compile until it
/// says what the person hears.
fn clip_for_result(view: &ResultView) -> &'static str {
    use Reason::*;
    match view.reason {
        Ok if view.temperature_centi.is_some() => "ok_temperature",
        Ok | QuarantineUnconfirmed => "ok",
        QuarantineReturn => "welcome_home",
        DutyStart => "duty_start",
        DutyEnd => "duty_end",
        // Console records: never on a result screen.
        ConsoleOpened | AlarmAcknowledged | SettingChanged => "ok",
        ManualOpen | ExitButton | PassbackOverride => "gate_open",
        AllowedWithoutTemperature => "no_temperature",
        Fever => "fever",
        Expired => "expired",
        NotYetValid => "not_yet_valid",
        CodeExpired => "code_expired",
        Revoked => "revoked",
        QuarantineNoExit => "quarantine_no_exit",
        Passback if view.passback == Some(AntiPassback::Strict) => "passback_strict",
        Passback => "passback",
        MeasureTimeout => "measure_timeout",
        BadSignature | BadClaims => "invalid_pass",
        UnknownKey | UnknownIssuer | NotAPass => "not_this_compound",
        // What a person cannot fix alone: the guard checks by hand.
        ThermometerFault | StoreFault | DeviceFault => "gate_fault",
        TimeUncertain | ListsTooOld => "guard_checks",
        DoorForcedOpen | DoorHeldOpen | RepeatedRefusals => "call_guard",
    }
}

/// The clip an alarm calls for at the gate itself.
pub fn clip_for_alarm(alarm: &Alarm) -> Option<&'static str> {
    match alarm {
        Alarm::Door(DoorAlarm::HeldOpen) => Some("close_gate"),
        _ => None,
    }
}

/// `[voice]` in the config.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// Speak at all (the buzzer and LEDs work either way).
    pub enabled: bool,
    /// 0.0 (silent) to 1.0 (the clip as recorded).
    pub volume: f32,
    /// Quiet hours, local time "HH:MM": only the buzzer from `quiet_from`
    /// until `quiet_until` (may wrap past midnight). Equal times: never quiet.
    pub quiet_from: String,
    pub quiet_until: String,
    /// Recordings here replace the built-in clips: `<dir>/<lang>/<name>.ogg` or `.wav`.
    pub override_dir: PathBuf,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            enabled: true,
            volume: 0.8,
            quiet_from: "22:00".into(),
            quiet_until: "07:00".into(),
            override_dir: PathBuf::from("/etc/shoumen/voice"),
        }
    }
}

impl VoiceConfig {
    /// Checks the times; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, value) in [("quiet_from", &self.quiet_from), ("quiet_until", &self.quiet_until)] {
            parse_hhmm(value).ok_or_else(|| format!("voice.{key} = {value:?} must be a time like \"22:00\""))?;
        }
        if !(0.0..=1.0).contains(&self.volume) {
            return Err(format!("voice.volume = {} must be between 0.0 and 1.0", self.volume));
        }
        Ok(())
    }

    /// Whether `minute_of_day` (local) falls in the quiet hours.
    pub fn is_quiet(&self, minute_of_day: u32) -> bool {
        let (Some(from), Some(until)) = (parse_hhmm(&self.quiet_from), parse_hhmm(&self.quiet_until)) else {
            return false;
        };
        match from.cmp(&until) {
            std::cmp::Ordering::Equal => false,
            std::cmp::Ordering::Less => (from..until).contains(&minute_of_day),
            std::cmp::Ordering::Greater => minute_of_day >= from || minute_of_day < until,
        }
    }
}

/// "HH:MM" → minutes after midnight.
fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Says the prompts of the screens the core shows.
pub struct Voice {
    config: VoiceConfig,
    speaker: Box<dyn Speaker>,
    language: String,
}

impl Voice {
    pub fn new(config: VoiceConfig, speaker: Box<dyn Speaker>, language: &str) -> Voice {
        let mut voice = Voice { config, speaker, language: String::new() };
        voice.set_language(language);
        voice
    }

    /// Follows the screen's language ("zh_CN" or "en"); others fall back to zh_CN.
    pub fn set_language(&mut self, language: &str) {
        self.language = if LANGUAGES.contains(&language) { language.to_string() } else { "zh_CN".into() };
    }

    /// Speaks the prompt of `screen`, cutting off the one playing. Silent
    /// during quiet hours (local `minute_of_day`) and for silent screens.
    pub fn screen(&mut self, screen: &Screen, minute_of_day: Option<u32>) {
        if let Some(name) = clip_for(screen) {
            self.say(name, minute_of_day);
        }
    }

    pub fn alarm(&mut self, alarm: &Alarm, minute_of_day: Option<u32>) {
        if let Some(name) = clip_for_alarm(alarm) {
            self.say(name, minute_of_day);
        }
    }

    fn say(&mut self, name: &'static str, minute_of_day: Option<u32>) {
        if !self.config.enabled || minute_of_day.is_some_and(|m| self.config.is_quiet(m)) {
            return;
        }
        let Some(bytes) = self.clip_bytes(name) else { return };
        self.speaker.play(Clip { name, language: self.language.clone(), bytes, volume: self.config.volume });
    }

    /// An override file if there is one, else the built-in clip.
    fn clip_bytes(&self, name: &str) -> Option<Arc<[u8]>> {
        let dir = self.config.override_dir.join(&self.language);
        for ext in ["ogg", "wav"] {
            if let Ok(bytes) = std::fs::read(dir.join(format!("{name}.{ext}"))) {
                return Some(bytes.into());
            }
        }
        let (_, zh, en) = EMBEDDED.iter().find(|(n, _, _)| *n == name)?;
        Some(Arc::from(if self.language == "en" { *en } else { *zh }))
    }

    /// The speaker's state for the health list: `Err` says what is wrong.
    pub fn health(&self) -> Result<String, String> {
        if !self.config.enabled {
            return Ok("off".into());
        }
        self.speaker.health()
    }
}

#[cfg(test)]
mod tests;
