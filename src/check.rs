//! `shoumen check`: run pass texts or QR images through the real gate core,
//! against the kiosk's store and lists, without a camera or a display.

use std::path::Path;

use serde::Serialize;
use shoumen_protocol::{Decision, Direction, EntryKind, Role};

use crate::gate::{step, Effect, Event, GateState, Now, Screen, TempReading};
use crate::store::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Readings fed to the thermometer step, in order; the last one repeats.
    pub temps_centi: Vec<i32>,
    /// Overrides the configured gate direction.
    pub direction: Option<Direction>,
    /// Commit the entries to the store, as the kiosk would.
    pub record: bool,
}

/// The outcome for one input, as `--json` prints it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CheckResult {
    pub input: String,
    pub decision: Decision,
    /// A stable snake_case reason code.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    /// The entry's sequence number when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Why the input could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the kiosk decided the time by: "server", "ntp" or "uncertain"
    /// (ARCHITECTURE.md, "Trusted time").
    pub clock: &'static str,
}

impl CheckResult {
    fn new(input: &str, now: Now) -> CheckResult {
        CheckResult {
            clock: now.trust.as_str(),
            input: input.to_string(),
            decision: Decision::Deny,
            reason: String::new(),
            pass_id: None,
            role: None,
            unit: None,
            temperature_c: None,
            seq: None,
            error: None,
        }
    }
}

/// What an input holds: a QR image, a text file with a pass, or pass text.
pub fn read_input(input: &str) -> Result<String, String> {
    let path = Path::new(input);
    if !path.is_file() {
        return Ok(input.to_string());
    }
    let is_image = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["png", "jpg", "jpeg", "webp", "gif", "bmp"].contains(&e.to_ascii_lowercase().as_str()));
    if is_image {
        let outcome = crate::scan::decode_file(path).map_err(|e| e.to_string())?;
        let code = outcome.codes.into_iter().next().ok_or_else(|| format!("no QR code found in {input}"))?;
        String::from_utf8(code.payload().to_vec()).map_err(|_| format!("the QR code in {input} is not text"))
    } else {
        std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| format!("cannot read {input}: {e}"))
    }
}

/// Runs each input through the gate, one person after another.
pub fn check(
    state: &mut GateState,
    mut store: Option<&mut Store>,
    start: Now,
    inputs: &[String],
    opts: &CheckOptions,
) -> Result<Vec<CheckResult>, StoreError> {
    if let Some(direction) = opts.direction {
        state.policy.direction = direction.into();
    }
    // A kiosk for both ways asks the person; here the answer is "in".
    let read_direction = state.policy.direction.fixed().is_none().then_some(Direction::In);
    let mut now = start;
    let mut results = Vec::new();
    for input in inputs {
        // Each input is the next person: let the previous result screen end.
        now.mono_ms += state.policy.result_screen_ms + 1000;
        step(state, Event::Tick, now);
        let text = match read_input(input) {
            Ok(text) => text,
            Err(error) => {
                results.push(CheckResult {
                    reason: "unreadable".into(),
                    error: Some(error),
                    ..CheckResult::new(input, now)
                });
                continue;
            }
        };
        let mut effects = step(state, Event::PassRead { text, direction: read_direction }, now);
        let mut temps = opts.temps_centi.iter().copied();
        let mut last = opts.temps_centi.last().copied().unwrap_or(3660);
        for _ in 0..4 {
            if !state.is_measuring() {
                break;
            }
            now.mono_ms += 500;
            let centi = temps.next().unwrap_or(last);
            last = centi;
            effects.extend(step(state, Event::Temperature(TempReading::Body(centi)), now));
        }
        if state.is_measuring() {
            now.mono_ms += state.policy.measure_timeout_ms;
            effects.extend(step(state, Event::Tick, now));
        }
        let mut result = CheckResult::new(input, now);
        for effect in effects {
            match effect {
                Effect::Record(draft) => {
                    let seq = match store.as_deref_mut() {
                        Some(store) => Some(store.append(&draft)?.seq),
                        None => None,
                    };
                    // An alarm entry that follows (repeated refusals) is not the decision.
                    if draft.kind != EntryKind::Alarm {
                        result.decision = draft.decision;
                        result.reason = draft.reason.to_string();
                        result.pass_id = draft.pass_id.map(|p| p.to_hex());
                        result.role = draft.role;
                        result.seq = seq;
                    }
                }
                Effect::Show(Screen::Result(view)) => {
                    result.unit = view.unit;
                    result.temperature_c = view.temperature_centi.map(|c| f64::from(c) / 100.0);
                }
                _ => {}
            }
        }
        results.push(result);
    }
    Ok(results)
}
