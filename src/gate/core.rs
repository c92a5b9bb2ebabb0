//! The gate's state machine: `step(state, event, now) -> effects`.
//!
//! Nothing here reads a clock, touches a file or a device, or spawns a
//! thread: time, readings and lists arrive as arguments, and everything the
//! gate should do leaves as [`Effect`]s, in the order they must happen.
//! A `Record` effect always precedes the `OpenGate` and `Show` effects of the
//! same decision, so the caller can commit the entry before anything moves.

use std::collections::HashMap;

use shoumen_protocol::{
    pass, Decision, Direction, EntryKind, ListSnapshot, PassClaims, PassId, Role, TempRecord,
    TrustList,
};

use super::policy::{FallbackPolicy, Policy, TemperatureRecording};

/// The time as the core sees it; the caller reads the clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Unix milliseconds.
    pub wall_ms: i64,
    /// Milliseconds since boot; all timeouts use this.
    pub mono_ms: u64,
    /// Whether the wall clock is synchronised (NTP), from the OS.
    pub clock_synced: bool,
}

impl Now {
    pub fn wall_s(&self) -> i64 {
        self.wall_ms.div_euclid(1000)
    }
}

/// The trust and list data the decisions are made against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lists {
    pub trust: TrustList,
    pub revocations: Option<ListSnapshot>,
    pub quarantine: Option<ListSnapshot>,
    /// When the kiosk last got fresh lists (unix ms); `None` = never.
    pub synced_at_ms: Option<i64>,
}

impl Lists {
    /// Age of the lists in seconds, or `None` if there never were any.
    pub fn age_s(&self, now: Now) -> Option<i64> {
        self.synced_at_ms.map(|t| (now.wall_ms - t).max(0) / 1000)
    }

    fn expired(&self, now: Now) -> bool {
        [&self.revocations, &self.quarantine]
            .iter()
            .any(|l| l.as_ref().is_none_or(|l| now.wall_s() >= l.expires_at))
    }
}

/// What the door contact reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorAlarm {
    /// Open longer than allowed after a grant.
    HeldOpen,
    /// Opened without a grant.
    ForcedOpen,
}

/// What a thermometer measurement produced, as the hardware layer reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum TempReading {
    /// Estimated body temperature in hundredths of a degree.
    Body(i32),
    /// Nobody in front of the sensor (object ≈ ambient).
    NoSubject,
    /// The sensor failed; the text says how.
    Fault(String),
}

/// Everything that can happen to the gate.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The scanner decoded a QR code.
    PassRead { text: String },
    Temperature(TempReading),
    /// A guard opens the gate from the console; the reason is required.
    ManualOpen { reason: String },
    /// The request-to-exit button inside the gate.
    ExitButton,
    /// Someone stepped in front of (or away from) the kiosk.
    Presence(bool),
    /// The door contact raised an alarm.
    Door(DoorAlarm),
    /// A guard lets the next pass through despite anti-passback.
    PassbackOverride,
    ListsUpdated(Box<Lists>),
    /// Time passes; drives timeouts.
    Tick,
}

/// A decision about to be recorded. The store adds device id, sequence
/// number, boot id and the hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryDraft {
    pub wall_ms: i64,
    pub mono_ms: u64,
    pub clock_synced: bool,
    pub kind: EntryKind,
    pub direction: Direction,
    pub pass_id: Option<PassId>,
    pub role: Option<Role>,
    pub decision: Decision,
    pub reason: &'static str,
    pub temperature: Option<TempRecord>,
    pub note: Option<String>,
}

/// What the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Screen {
    /// Waiting for a pass. `lists_age_s` is set when the lists are old
    /// enough to warn about.
    Scan { lists_age_s: Option<i64> },
    /// Pass accepted so far; step up to the thermometer.
    Measuring { attempt: u8 },
    /// The first reading was a fever: measure once more.
    Remeasure { centi: i32 },
    Result(ResultView),
    /// A guard action was refused (e.g. manual open without a reason).
    GuardError { reason: &'static str },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResultView {
    pub decision: Decision,
    pub reason: &'static str,
    pub role: Option<Role>,
    /// Shown on the welcome screen.
    pub unit: Option<String>,
    pub temperature_centi: Option<i32>,
    /// Set when the lists are old enough to warn about.
    pub lists_age_s: Option<i64>,
    pub needs_assistance: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sound {
    Ok,
    Deny,
    Alarm,
}

/// Something a guard must look at; the console lists them until acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub enum Alarm {
    Fever { pass_id: PassId, centi: i32 },
    QuarantineExit { pass_id: PassId },
    ThermometerFault(String),
    ListsTooOld { age_s: Option<i64> },
    Door(DoorAlarm),
    /// A device or the store failed outside the gate core's view.
    DeviceFault { device: &'static str, message: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Commit this entry durably before executing any later effect.
    Record(EntryDraft),
    OpenGate { pulse_ms: u32 },
    /// Start (or continue) a temperature measurement.
    Measure,
    Show(Screen),
    Sound(Sound),
    Alarm(Alarm),
}

/// A pass that passed every list check and waits for its temperature.
#[derive(Clone, Debug, PartialEq)]
struct Pending {
    claims: PassClaims,
    attempt: u8,
    started_mono_ms: u64,
    first_fever_centi: Option<i32>,
    override_used: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Idle,
    Measuring(Box<Pending>),
    /// Showing a result until `until_mono_ms`.
    Showing { until_mono_ms: u64 },
}

/// The gate's whole state. Rebuilt at start-up from the store.
#[derive(Clone, Debug)]
pub struct GateState {
    pub policy: Policy,
    pub lists: Lists,
    /// Last allowed direction per pass, for anti-passback.
    pub presence: HashMap<PassId, Direction>,
    phase: Phase,
    /// The last pass text decided and when: the camera keeps reading the
    /// same code while the person is still in front of it.
    last_read: Option<(String, u64)>,
    override_until_mono_ms: Option<u64>,
}

impl GateState {
    pub fn new(policy: Policy, lists: Lists, presence: HashMap<PassId, Direction>) -> GateState {
        GateState {
            policy,
            lists,
            presence,
            phase: Phase::Idle,
            last_read: None,
            override_until_mono_ms: None,
        }
    }

    /// True while a pass waits for its temperature.
    pub fn is_measuring(&self) -> bool {
        matches!(self.phase, Phase::Measuring(_))
    }
}

/// Advances the gate by one event.
pub fn step(state: &mut GateState, event: Event, now: Now) -> Vec<Effect> {
    match event {
        Event::PassRead { text } => on_pass_read(state, text, now),
        Event::Temperature(reading) => on_temperature(state, reading, now),
        Event::ManualOpen { reason } => on_manual_open(state, reason, now),
        Event::ExitButton => {
            let draft = draft(now, EntryKind::ExitButton, Direction::Out, Decision::Allow, "exit_button");
            let view = ResultView::bare(Decision::Allow, "exit_button");
            finish(state, draft, view, now)
        }
        // Someone stepped up while we wait for a temperature: measure now.
        Event::Presence(true) if state.is_measuring() => vec![Effect::Measure],
        Event::Presence(_) => Vec::new(),
        Event::Door(alarm) => vec![Effect::Alarm(Alarm::Door(alarm)), Effect::Sound(Sound::Alarm)],
        Event::PassbackOverride => {
            state.override_until_mono_ms = Some(now.mono_ms + state.policy.passback_override_ms);
            Vec::new()
        }
        Event::ListsUpdated(lists) => {
            state.lists = *lists;
            Vec::new()
        }
        Event::Tick => on_tick(state, now),
    }
}

fn on_pass_read(state: &mut GateState, text: String, now: Now) -> Vec<Effect> {
    if state.is_measuring() {
        return Vec::new();
    }
    if let Some((last, at)) = &state.last_read {
        if *last == text && now.mono_ms < at + state.policy.result_screen_ms {
            return Vec::new();
        }
    }
    state.last_read = Some((text.clone(), now.mono_ms));
    let policy = &state.policy;
    let direction = policy.direction;

    let claims = match pass::verify(&text, &state.lists.trust, now.wall_s(), policy.clock_leeway_s) {
        Ok(claims) => claims,
        Err(e) => {
            let mut d = draft(now, EntryKind::Scan, direction, Decision::Deny, e.code());
            if let pass::PassError::NotYetValid { .. } | pass::PassError::Expired { .. } = e {
                // The signature verified, so the id is authentic and worth logging.
                if let Ok(c) = pass::verify_signature(&text, &state.lists.trust) {
                    d.pass_id = Some(c.pass_id);
                    d.role = Some(c.role);
                }
            }
            let view = ResultView::bare(Decision::Deny, e.code());
            return finish(state, d, view, now);
        }
    };

    let deny = |state: &mut GateState, decision, reason| {
        let d = draft_for(now, direction, &claims, decision, reason);
        let view = ResultView::for_pass(decision, reason, &claims);
        finish(state, d, view, now)
    };
    let now_s = now.wall_s();
    if state.lists.revocations.as_ref().is_some_and(|l| l.contains_active(&claims.pass_id, now_s)) {
        return deny(state, Decision::Deny, "revoked");
    }
    if lists_too_old(state, now) && state.policy.on_stale_lists == FallbackPolicy::CallGuard {
        let age_s = state.lists.age_s(now);
        let mut effects = deny(state, Decision::Guard, "lists_too_old");
        effects.push(Effect::Alarm(Alarm::ListsTooOld { age_s }));
        return effects;
    }
    let quarantined = state.lists.quarantine.as_ref().is_some_and(|l| l.contains_active(&claims.pass_id, now_s));
    if quarantined && direction == Direction::Out {
        let mut effects = deny(state, Decision::Deny, "quarantine_no_exit");
        effects.push(Effect::Alarm(Alarm::QuarantineExit { pass_id: claims.pass_id }));
        return effects;
    }
    let mut override_used = false;
    if state.policy.anti_passback && state.presence.get(&claims.pass_id) == Some(&direction) {
        if state.override_until_mono_ms.is_some_and(|t| now.mono_ms < t) {
            override_used = true;
        } else {
            return deny(state, Decision::Deny, "passback");
        }
    }

    let pending = Pending { claims, attempt: 1, started_mono_ms: now.mono_ms, first_fever_centi: None, override_used };
    if state.policy.require_temperature {
        state.phase = Phase::Measuring(Box::new(pending));
        vec![Effect::Measure, Effect::Show(Screen::Measuring { attempt: 1 })]
    } else {
        allow(state, pending, None, now)
    }
}

fn on_temperature(state: &mut GateState, reading: TempReading, now: Now) -> Vec<Effect> {
    let Phase::Measuring(pending) = &mut state.phase else {
        return Vec::new();
    };
    match reading {
        TempReading::NoSubject => vec![Effect::Measure],
        TempReading::Body(centi) if centi < state.policy.fever_threshold_centi() => {
            let pending = take_pending(state);
            allow(state, pending, Some(centi), now)
        }
        TempReading::Body(centi) => {
            if state.policy.remeasure_on_fever && pending.attempt == 1 {
                pending.attempt = 2;
                pending.first_fever_centi = Some(centi);
                pending.started_mono_ms = now.mono_ms;
                vec![Effect::Show(Screen::Remeasure { centi }), Effect::Sound(Sound::Deny), Effect::Measure]
            } else {
                let pending = take_pending(state);
                fever(state, pending, centi, now)
            }
        }
        TempReading::Fault(what) => {
            let pending = take_pending(state);
            match state.policy.on_thermometer_fault {
                FallbackPolicy::Allow => {
                    let mut effects = allow(state, pending, None, now);
                    retag_allow(&mut effects, "allowed_without_temperature");
                    effects.push(Effect::Alarm(Alarm::ThermometerFault(what)));
                    effects
                }
                FallbackPolicy::CallGuard => {
                    let d = draft_for(now, state.policy.direction, &pending.claims, Decision::Guard, "thermometer_fault");
                    let view = ResultView::for_pass(Decision::Guard, "thermometer_fault", &pending.claims);
                    let mut effects = finish(state, d, view, now);
                    effects.push(Effect::Alarm(Alarm::ThermometerFault(what)));
                    effects
                }
            }
        }
    }
}

fn on_tick(state: &mut GateState, now: Now) -> Vec<Effect> {
    match &state.phase {
        Phase::Measuring(p) if now.mono_ms >= p.started_mono_ms + state.policy.measure_timeout_ms => {
            let pending = take_pending(state);
            if let Some(centi) = pending.first_fever_centi {
                // They walked away after a fever reading: that is still a fever.
                return fever(state, pending, centi, now);
            }
            let d = draft_for(now, state.policy.direction, &pending.claims, Decision::Deny, "measure_timeout");
            let view = ResultView::for_pass(Decision::Deny, "measure_timeout", &pending.claims);
            finish(state, d, view, now)
        }
        Phase::Showing { until_mono_ms } if now.mono_ms >= *until_mono_ms => {
            state.phase = Phase::Idle;
            vec![Effect::Show(Screen::Scan { lists_age_s: lists_warning(state, now) })]
        }
        _ => Vec::new(),
    }
}

fn on_manual_open(state: &mut GateState, reason: String, now: Now) -> Vec<Effect> {
    let reason = reason.trim();
    if reason.is_empty() {
        return vec![Effect::Show(Screen::GuardError { reason: "reason_required" })];
    }
    let mut d = draft(now, EntryKind::Manual, state.policy.direction, Decision::Allow, "manual_open");
    d.note = Some(reason.chars().take(200).collect());
    finish(state, d, ResultView::bare(Decision::Allow, "manual_open"), now)
}

fn take_pending(state: &mut GateState) -> Pending {
    match std::mem::replace(&mut state.phase, Phase::Idle) {
        Phase::Measuring(p) => *p,
        // Callers only take the pending pass while measuring.
        _ => unreachable!("take_pending outside the measuring phase"),
    }
}

fn allow(state: &mut GateState, pending: Pending, centi: Option<i32>, now: Now) -> Vec<Effect> {
    let quarantined = state
        .lists
        .quarantine
        .as_ref()
        .is_some_and(|l| l.contains_active(&pending.claims.pass_id, now.wall_s()));
    let reason = if quarantined {
        "quarantine_return"
    } else if pending.override_used {
        "passback_override"
    } else {
        "ok"
    };
    if pending.override_used {
        state.override_until_mono_ms = None;
    }
    let direction = state.policy.direction;
    let mut d = draft_for(now, direction, &pending.claims, Decision::Allow, reason);
    d.temperature = centi.map(|c| temp_record(&state.policy, c));
    let mut view = ResultView::for_pass(Decision::Allow, reason, &pending.claims);
    view.temperature_centi = centi;
    state.presence.insert(pending.claims.pass_id, direction);
    finish(state, d, view, now)
}

fn fever(state: &mut GateState, pending: Pending, centi: i32, now: Now) -> Vec<Effect> {
    let mut d = draft_for(now, state.policy.direction, &pending.claims, Decision::Guard, "fever");
    d.temperature = Some(temp_record(&state.policy, centi));
    let mut view = ResultView::for_pass(Decision::Guard, "fever", &pending.claims);
    view.temperature_centi = Some(centi);
    let mut effects = finish(state, d, view, now);
    effects.push(Effect::Alarm(Alarm::Fever { pass_id: pending.claims.pass_id, centi }));
    effects
}

/// Record, then open (if allowed), then show and sound: the order the caller
/// executes them in.
fn finish(state: &mut GateState, draft: EntryDraft, mut view: ResultView, now: Now) -> Vec<Effect> {
    view.lists_age_s = lists_warning(state, now);
    let allowed = draft.decision == Decision::Allow;
    let sound = match draft.decision {
        Decision::Allow => Sound::Ok,
        Decision::Deny => Sound::Deny,
        Decision::Guard => Sound::Alarm,
    };
    let mut effects = vec![Effect::Record(draft)];
    if allowed {
        effects.push(Effect::OpenGate { pulse_ms: state.policy.relay_pulse_ms });
    }
    effects.push(Effect::Show(Screen::Result(view)));
    effects.push(Effect::Sound(sound));
    state.phase = Phase::Showing { until_mono_ms: now.mono_ms + state.policy.result_screen_ms };
    effects
}

fn retag_allow(effects: &mut [Effect], reason: &'static str) {
    for e in effects {
        match e {
            Effect::Record(d) => d.reason = reason,
            Effect::Show(Screen::Result(v)) => v.reason = reason,
            _ => {}
        }
    }
}

fn lists_too_old(state: &GateState, now: Now) -> bool {
    state.lists.expired(now)
        || state.lists.age_s(now).is_none_or(|age| age > state.policy.lists_max_age_s)
}

fn lists_warning(state: &GateState, now: Now) -> Option<i64> {
    match state.lists.age_s(now) {
        Some(age) if age <= state.policy.lists_warn_after_s && !state.lists.expired(now) => None,
        age => Some(age.unwrap_or(i64::MAX)),
    }
}

fn temp_record(policy: &Policy, centi: i32) -> TempRecord {
    match policy.record_temperature {
        TemperatureRecording::Value => TempRecord::Centi(centi),
        TemperatureRecording::FeverOnly => TempRecord::Fever(centi >= policy.fever_threshold_centi()),
    }
}

fn draft(now: Now, kind: EntryKind, direction: Direction, decision: Decision, reason: &'static str) -> EntryDraft {
    EntryDraft {
        wall_ms: now.wall_ms,
        mono_ms: now.mono_ms,
        clock_synced: now.clock_synced,
        kind,
        direction,
        pass_id: None,
        role: None,
        decision,
        reason,
        temperature: None,
        note: None,
    }
}

fn draft_for(now: Now, direction: Direction, claims: &PassClaims, decision: Decision, reason: &'static str) -> EntryDraft {
    EntryDraft {
        pass_id: Some(claims.pass_id),
        role: Some(claims.role),
        ..draft(now, EntryKind::Scan, direction, decision, reason)
    }
}

impl ResultView {
    fn bare(decision: Decision, reason: &'static str) -> ResultView {
        ResultView {
            decision,
            reason,
            role: None,
            unit: None,
            temperature_centi: None,
            lists_age_s: None,
            needs_assistance: false,
        }
    }

    fn for_pass(decision: Decision, reason: &'static str, claims: &PassClaims) -> ResultView {
        ResultView {
            role: Some(claims.role),
            unit: (!claims.unit.is_empty()).then(|| claims.unit.clone()),
            needs_assistance: claims.flags.has(shoumen_protocol::PassFlags::NEEDS_ASSISTANCE),
            ..ResultView::bare(decision, reason)
        }
    }
}
