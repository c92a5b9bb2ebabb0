//! The gate's state machine: `step(state, event, now) -> effects`.
//!
//! Nothing here reads a clock, touches a file or a device, or spawns a
//! thread: time, readings and lists arrive as arguments, and everything the
//! gate should do leaves as [`Effect`]s, in the order they must happen.
//! A `Record` effect always precedes the `OpenGate` and `Show` effects of the
//! same decision, so the caller can commit the entry before anything moves.

use std::collections::{HashMap, VecDeque};

use shoumen_protocol::{
    pass, Decision, Direction, EntryKind, ListSnapshot, PassClaims, PassId, Reason, Role, TempRecord, TrustList,
};

use shoumen_protocol::time::TimeTrust;

use super::policy::{AntiPassback, FallbackPolicy, GateDirection, Policy, TemperatureRecording};
use super::watch::Watch;

/// The time as the core sees it; the caller reckons it (the kiosk's
/// `clock::reckon`: never below the floor, the server's signed time when it
/// has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Unix milliseconds: the time decided by and recorded.
    pub wall_ms: i64,
    /// Milliseconds since boot; all timeouts use this.
    pub mono_ms: u64,
    /// How far the kiosk vouches for `wall_ms`. `Uncertain` changes the
    /// time-bound checks (ARCHITECTURE.md, "Trusted time").
    pub trust: TimeTrust,
    /// The time is at least this (unix ms), whatever the trust.
    pub floor_ms: i64,
}

impl Now {
    /// A time the kiosk vouches for (tests, tools, simulations).
    pub fn vouched(wall_ms: i64, mono_ms: u64) -> Now {
        Now { wall_ms, mono_ms, trust: TimeTrust::Server, floor_ms: wall_ms }
    }

    pub fn wall_s(&self) -> i64 {
        self.wall_ms.div_euclid(1000)
    }

    pub fn vouched_for(&self) -> bool {
        self.trust.vouched()
    }
}

/// The trust and list data the decisions are made against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lists {
    pub trust: TrustList,
    pub revocations: Option<ListSnapshot>,
    pub quarantine: Option<ListSnapshot>,
    /// Home quarantine a returnee declared that nobody confirmed yet: not
    /// enforced, but the guard is told when the household goes out.
    pub unconfirmed: Option<ListSnapshot>,
    /// When the kiosk last got fresh lists (unix ms); `None` = never.
    pub synced_at_ms: Option<i64>,
}

impl Lists {
    /// Age of the lists in seconds, or `None` if there never were any.
    pub fn age_s(&self, now: Now) -> Option<i64> {
        self.synced_at_ms.map(|t| (now.wall_ms - t).max(0) / 1000)
    }

    fn expired(&self, now: Now) -> bool {
        [&self.revocations, &self.quarantine].iter().any(|l| l.as_ref().is_none_or(|l| now.wall_s() >= l.expires_at))
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

/// Where a pass was last let through, for anti-passback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Presence {
    pub direction: Direction,
    /// Wall clock of the allowed entry (unix ms), at whichever gate.
    pub at_ms: i64,
}

/// Everything that can happen to the gate.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The scanner decoded a QR code. `direction` is set by a camera that
    /// only sees one way (the inward camera of a "both" kiosk reads "out").
    PassRead {
        text: String,
        direction: Option<Direction>,
    },
    /// 进门 or 出门 tapped on a "both" kiosk.
    ChooseDirection(Direction),
    Temperature(TempReading),
    /// A guard opens the gate from the console; the reason is required.
    ManualOpen {
        reason: String,
    },
    /// The request-to-exit button inside the gate.
    ExitButton,
    /// Someone stepped in front of (or away from) the kiosk.
    Presence(bool),
    /// The door contact raised an alarm.
    Door(DoorAlarm),
    /// A guard lets the next pass through despite anti-passback.
    PassbackOverride,
    /// The guard console shows its lock screen: a duty pass read in the
    /// next few seconds opens the console instead of signing in or out.
    /// The console repeats it every second while it shows.
    ConsoleWaiting,
    /// The console was opened with the PIN (nobody's duty pass).
    ConsoleOpenedByPin,
    /// The console locked (by hand or after inactivity).
    ConsoleLocked,
    /// An alarm was acknowledged on the console: its kind and detail.
    AlarmAcknowledged {
        alarm: String,
    },
    /// A setting was changed on the console: which, and to what.
    SettingChanged {
        setting: String,
    },
    ListsUpdated(Box<Lists>),
    /// A sync round reached the server at `at_ms`, bringing the newest
    /// presence of passes from every gate of the community.
    Synced {
        at_ms: i64,
        presence: Vec<(PassId, Presence)>,
    },
    /// A device's state as the kiosk sees it now: `fault` says what is wrong.
    DeviceHealth {
        device: &'static str,
        fault: Option<String>,
    },
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
    pub reason: Reason,
    pub temperature: Option<TempRecord>,
    pub note: Option<String>,
}

/// What the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Screen {
    /// Waiting for a pass. `lists_age_s` is set when the lists are old
    /// enough to warn about.
    Scan {
        lists_age_s: Option<i64>,
    },
    /// Pass accepted so far; step up to the thermometer.
    Measuring {
        attempt: u8,
    },
    /// The first reading was a fever: measure once more.
    Remeasure {
        centi: i32,
    },
    Result(ResultView),
    /// A "both" kiosk has a pass and asks: 进门 or 出门?
    ChooseDirection,
    /// A guard action was refused (e.g. manual open without a reason).
    GuardError {
        reason: &'static str,
    },
    /// A duty pass opened the guard console for its holder.
    ConsoleOpen {
        by: PassId,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResultView {
    pub decision: Decision,
    pub reason: Reason,
    pub role: Option<Role>,
    /// Shown on the welcome screen.
    pub unit: Option<String>,
    pub temperature_centi: Option<i32>,
    /// Set when the lists are old enough to warn about.
    pub lists_age_s: Option<i64>,
    pub needs_assistance: bool,
    /// After a fever: measure again after this many minutes.
    pub remeasure_after_min: Option<u32>,
    /// A passback refusal: the rule that refused, for the words on screen.
    pub passback: Option<AntiPassback>,
    /// A timed passback refusal: how long until the pass works again.
    pub retry_after_s: Option<i64>,
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
    Fever {
        pass_id: PassId,
        centi: i32,
    },
    QuarantineExit {
        pass_id: PassId,
    },
    ThermometerFault(String),
    ListsTooOld {
        age_s: Option<i64>,
    },
    Door(DoorAlarm),
    /// A device or the store failed outside the gate core's view.
    DeviceFault {
        device: &'static str,
        message: String,
    },
    /// The same pass was refused again and again.
    RepeatedRefusals {
        pass_id: PassId,
        count: u32,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Commit this entry durably before executing any later effect.
    Record(EntryDraft),
    OpenGate {
        pulse_ms: u32,
    },
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
    direction: Direction,
    attempt: u8,
    started_mono_ms: u64,
    first_fever_centi: Option<i32>,
    override_used: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Idle,
    /// A "both" kiosk waits for 进门 or 出门 since `since_mono_ms`.
    Choosing {
        claims: Box<PassClaims>,
        since_mono_ms: u64,
    },
    Measuring(Box<Pending>),
    /// Showing a result until `until_mono_ms`.
    Showing {
        until_mono_ms: u64,
    },
}

/// The gate's whole state. Rebuilt at start-up from the store.
#[derive(Clone, Debug)]
pub struct GateState {
    pub policy: Policy,
    pub lists: Lists,
    /// Last allowed direction per pass, for anti-passback.
    pub presence: HashMap<PassId, Presence>,
    phase: Phase,
    /// The last pass text decided and when: the camera keeps reading the
    /// same code while the person is still in front of it.
    last_read: Option<(String, u64)>,
    override_until_mono_ms: Option<u64>,
    /// 进门/出门 tapped before the pass was shown, until when it holds.
    chosen: Option<(Direction, u64)>,
    /// What the alarms keep an eye on: refusals, faults, list age.
    watch: Watch,
    /// While the time is uncertain: the newest phone code taken per pass
    /// (unix s), so that each is used once.
    codes_seen: HashMap<PassId, i64>,
    /// Exit-button presses (unix ms) not yet counted for a pass, newest
    /// last, for `passback_exit_credit`.
    exit_presses: VecDeque<i64>,
    early: Early,
    /// Who is signed in for duty at this gate (their duty pass), since
    /// when (unix ms): the console shows them, and their next scan signs
    /// them out. Rebuilt from the log at start ([`GateState::on_duty_from`]).
    pub on_duty: HashMap<PassId, OnDuty>,
    /// The last duty sign-in or sign-out here (pass, mono ms): the camera
    /// still sees the phone a moment later, which must not undo it.
    duty_last: Option<(PassId, u64)>,
    /// Who has the guard console open, and whether it waits for a pass.
    pub console: Console,
}

/// The guard console as the gate core sees it: every manual opening,
/// acknowledgement and setting change is recorded with `by`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Console {
    /// Until when (mono ms) a duty pass read opens the console.
    waiting_until_mono_ms: Option<u64>,
    /// The duty pass the console was opened with; `None` while locked or
    /// opened by the PIN.
    pub by: Option<PassId>,
}

impl Console {
    /// Names on `d` whoever has the console open: their duty pass, or
    /// nobody's for the PIN.
    fn sign(&self, d: &mut EntryDraft) {
        d.pass_id = self.by;
        d.role = self.by.map(|_| Role::Duty);
    }
}

/// How long one [`Event::ConsoleWaiting`] holds: the console repeats it
/// every second, so a console left some other way stops waiting soon.
pub const CONSOLE_WAITING_MS: u64 = 3_000;

/// A volunteer signed in for duty at this gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnDuty {
    pub since_ms: i64,
}

pub use shoumen_protocol::DUTY_FORGOTTEN_AFTER_MS;

/// A duty pass read again this soon after it signed in or out changes
/// nothing (the camera still sees the phone held up a moment ago).
pub const DUTY_SETTLE_MS: u64 = 60_000;

/// A measurement asked for when someone stepped up, before their pass was
/// read (`measure_on_presence`). The thermometer answers requests in order,
/// so the next reading after an early request is that request's.
#[derive(Clone, Debug, Default, PartialEq)]
struct Early {
    /// An early request's reading has not come back yet.
    in_flight: bool,
    /// The reading in flight, or taken, is of the person now at the kiosk:
    /// cleared when they step away or their result is shown.
    theirs: bool,
    /// The reading, and when it came (mono ms).
    taken: Option<(i32, u64)>,
}

/// An early reading older than this is not used: the person may have moved.
const EARLY_MAX_AGE_MS: u64 = 3_000;

/// Exit-button presses kept for `passback_exit_credit`: a day's rush hour
/// at one gate, bounded so a stuck button cannot grow the state.
const EXIT_PRESSES_KEPT: usize = 512;

impl GateState {
    pub fn new(policy: Policy, lists: Lists, presence: HashMap<PassId, Presence>) -> GateState {
        GateState {
            policy,
            lists,
            presence,
            phase: Phase::Idle,
            last_read: None,
            override_until_mono_ms: None,
            chosen: None,
            watch: Watch::default(),
            codes_seen: HashMap::new(),
            exit_presses: VecDeque::new(),
            early: Early::default(),
            on_duty: HashMap::new(),
            duty_last: None,
            console: Console::default(),
        }
    }

    /// Who is on duty, from the log's duty entries in order: (pass, signed
    /// in?, when). Sign-ins older than [`DUTY_FORGOTTEN_AFTER_MS`] at
    /// `now_ms` are left out.
    pub fn on_duty_from(&mut self, entries: impl IntoIterator<Item = (PassId, bool, i64)>, now_ms: i64) {
        self.on_duty.clear();
        for (pass_id, signed_in, at_ms) in entries {
            if signed_in {
                self.on_duty.insert(pass_id, OnDuty { since_ms: at_ms });
            } else {
                self.on_duty.remove(&pass_id);
            }
        }
        self.on_duty.retain(|_, d| now_ms - d.since_ms < DUTY_FORGOTTEN_AFTER_MS);
    }

    /// True while a pass waits for its temperature.
    pub fn is_measuring(&self) -> bool {
        matches!(self.phase, Phase::Measuring(_))
    }

    /// True while a pass waits for a temperature or a direction.
    fn is_busy(&self) -> bool {
        matches!(self.phase, Phase::Measuring(_) | Phase::Choosing { .. })
    }

    /// The anti-passback rule in force now: `strict` falls back to `timed`
    /// while the kiosk has not reached the server for `strict_offline_s`.
    pub fn passback_mode(&self, now: Now) -> AntiPassback {
        match self.policy.anti_passback {
            AntiPassback::Strict if self.offline_too_long(now) => AntiPassback::Timed,
            mode => mode,
        }
    }

    fn offline_too_long(&self, now: Now) -> bool {
        self.lists.synced_at_ms.is_none_or(|t| now.wall_ms - t > self.policy.strict_offline_s.saturating_mul(1000))
    }

    /// The direction an entry is recorded with when the person has not said:
    /// the gate's own, or "in" for a "both" kiosk.
    fn default_direction(&self) -> Direction {
        self.policy.direction.fixed().unwrap_or(Direction::In)
    }
}

/// Advances the gate by one event.
pub fn step(state: &mut GateState, event: Event, now: Now) -> Vec<Effect> {
    match event {
        Event::PassRead { text, direction } => on_pass_read(state, text, direction, now),
        Event::ChooseDirection(direction) => on_choose_direction(state, direction, now),
        Event::Temperature(reading) => on_reading(state, reading, now),
        Event::ManualOpen { reason } => on_manual_open(state, reason, now),
        Event::ExitButton => {
            // Only presses within the window can count for a pass.
            let oldest = now.wall_ms - state.policy.passback_window_s.saturating_mul(1000);
            while state.exit_presses.front().is_some_and(|&t| t < oldest)
                || state.exit_presses.len() >= EXIT_PRESSES_KEPT
            {
                state.exit_presses.pop_front();
            }
            state.exit_presses.push_back(now.wall_ms);
            let draft = draft(now, EntryKind::ExitButton, Direction::Out, Decision::Allow, Reason::ExitButton);
            if state.is_busy() {
                // Someone outside is mid-check: open for the one inside
                // without taking their screen or their pending pass.
                return vec![Effect::Record(draft), Effect::OpenGate { pulse_ms: state.policy.relay_pulse_ms }];
            }
            let view = ResultView::bare(Decision::Allow, Reason::ExitButton);
            finish(state, draft, view, now)
        }
        // Someone stepped up while we wait for a temperature: measure now.
        Event::Presence(true) if state.is_measuring() => vec![Effect::Measure],
        Event::Presence(true) => measure_early(state),
        Event::Presence(false) => {
            if !state.is_busy() {
                state.early.theirs = false;
                state.early.taken = None;
            }
            Vec::new()
        }
        Event::Door(alarm) => {
            let reason = match alarm {
                DoorAlarm::ForcedOpen => Reason::DoorForcedOpen,
                DoorAlarm::HeldOpen => Reason::DoorHeldOpen,
            };
            let mut effects = alarm_entry(state, reason, None, None, now);
            effects.extend([Effect::Alarm(Alarm::Door(alarm)), Effect::Sound(Sound::Alarm)]);
            effects
        }
        Event::PassbackOverride => {
            state.override_until_mono_ms = Some(now.mono_ms + state.policy.passback_override_ms);
            console_entry(state, Reason::SettingChanged, "passback_override".into(), now)
        }
        Event::ConsoleWaiting => {
            state.console.waiting_until_mono_ms = Some(now.mono_ms + CONSOLE_WAITING_MS);
            Vec::new()
        }
        Event::ConsoleOpenedByPin => {
            state.console = Console::default();
            console_entry(state, Reason::ConsoleOpened, "pin".into(), now)
        }
        Event::ConsoleLocked => {
            state.console = Console::default();
            Vec::new()
        }
        Event::AlarmAcknowledged { alarm } => console_entry(state, Reason::AlarmAcknowledged, alarm, now),
        Event::SettingChanged { setting } => console_entry(state, Reason::SettingChanged, setting, now),
        Event::ListsUpdated(lists) => {
            state.lists = *lists;
            Vec::new()
        }
        Event::Synced { at_ms, presence } => {
            state.lists.synced_at_ms = Some(state.lists.synced_at_ms.map_or(at_ms, |t| t.max(at_ms)));
            merge_presence(&mut state.presence, presence);
            Vec::new()
        }
        Event::DeviceHealth { device, fault } => {
            state.watch.device(device, fault, now.mono_ms);
            Vec::new()
        }
        Event::Tick => on_tick(state, now),
    }
}

/// Keeps the newer of two presences of a pass, by the protocol's one rule.
fn merge_presence(have: &mut HashMap<PassId, Presence>, incoming: Vec<(PassId, Presence)>) {
    for (id, p) in incoming {
        note_presence(have, id, p);
    }
}

fn note_presence(have: &mut HashMap<PassId, Presence>, id: PassId, p: Presence) {
    if have.get(&id).is_none_or(|old| shoumen_protocol::sync::presence_replaces(old.at_ms, p.at_ms)) {
        have.insert(id, p);
    }
}

fn on_pass_read(state: &mut GateState, text: String, camera: Option<Direction>, now: Now) -> Vec<Effect> {
    if state.is_busy() {
        return Vec::new();
    }
    if let Some((last, at)) = &state.last_read {
        if *last == text && now.mono_ms < at + state.policy.result_screen_ms {
            return Vec::new();
        }
    }
    state.last_read = Some((text.clone(), now.mono_ms));
    // Whatever this read turns out to be, the console's wait is over.
    let console_waiting = state.console.waiting_until_mono_ms.take().is_some_and(|until| now.mono_ms < until);
    let chosen = state.chosen.take().filter(|(_, until)| now.mono_ms < *until).map(|(d, _)| d);
    let direction = state.policy.direction.fixed().or(camera).or(chosen);

    let record_as = direction.unwrap_or(state.default_direction());
    let (claims, only_by_the_clock) = match verify_pass(state, &text, now) {
        Ok(Verified::Valid(claims)) => (claims, false),
        Ok(Verified::OnlyByTheClock(claims)) => (claims, true),
        Err(e) => {
            let mut d =
                draft(now, EntryKind::Scan, direction.unwrap_or(state.default_direction()), Decision::Deny, e.code());
            if let pass::PassError::NotYetValid { .. }
            | pass::PassError::Expired { .. }
            | pass::PassError::CodeExpired { .. }
            | pass::PassError::CodeRequired = e
            {
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
    let now_s = now.wall_s();
    if state.lists.revocations.as_ref().is_some_and(|l| l.contains_active(&claims.pass_id, now_s)) {
        return refuse(state, &claims, record_as, Decision::Deny, Reason::Revoked, now);
    }
    // The guard decides only what the clock alone refuses: a withdrawn
    // pass stays refused whatever the time.
    if only_by_the_clock {
        return refuse(state, &claims, record_as, Decision::Guard, Reason::TimeUncertain, now);
    }
    // A volunteer's duty pass signs them in or out; it opens nothing, so
    // stale lists do not stop it (an offline kiosk still records duty).
    if claims.role == Role::Duty {
        if console_waiting {
            return on_console_pass(state, &claims, now);
        }
        return on_duty_pass(state, &claims, now);
    }
    if lists_too_old(state, now) && state.policy.on_stale_lists == FallbackPolicy::CallGuard {
        let age_s = state.lists.age_s(now);
        let mut effects = refuse(state, &claims, record_as, Decision::Guard, Reason::ListsTooOld, now);
        effects.push(Effect::Alarm(Alarm::ListsTooOld { age_s }));
        return effects;
    }
    match direction {
        Some(direction) => decide(state, claims, direction, now),
        None => {
            state.phase = Phase::Choosing { claims: Box::new(claims), since_mono_ms: now.mono_ms };
            vec![Effect::Show(Screen::ChooseDirection)]
        }
    }
}

/// A pass whose signatures verified, by what its time checks say.
enum Verified {
    Valid(PassClaims),
    /// Refused only by a clock the kiosk cannot vouch for: the guard decides.
    OnlyByTheClock(PassClaims),
}

/// The signatures, then the time checks: against the time when the kiosk
/// vouches for it; when it cannot (ARCHITECTURE.md, "Trusted time"), only
/// what the floor proves is refused outright, a phone code counts once,
/// and what the clock alone would refuse goes to the guard.
fn verify_pass(state: &mut GateState, text: &str, now: Now) -> Result<Verified, pass::PassError> {
    let leeway = state.policy.clock_leeway_s;
    if now.vouched_for() {
        state.codes_seen.clear();
        return pass::verify(text, &state.lists.trust, now.wall_s(), leeway).map(Verified::Valid);
    }
    let (claims, code_time) = pass::open(text, &state.lists.trust)?;
    let (t, floor) = (now.wall_s(), now.floor_ms.div_euclid(1000));
    if floor - leeway >= claims.expires_at {
        return Err(pass::PassError::Expired { expires_at: claims.expires_at });
    }
    match code_time {
        Some(made_at) if made_at < floor - shoumen_protocol::holder::CODE_WINDOW_S => {
            return Err(pass::PassError::CodeExpired { made_at, now: t });
        }
        // Used once: the same code again, or an older one, is a copy.
        Some(made_at) if state.codes_seen.get(&claims.pass_id).is_some_and(|&seen| made_at <= seen) => {
            return Err(pass::PassError::CodeExpired { made_at, now: t });
        }
        Some(made_at) => {
            state.codes_seen.insert(claims.pass_id, made_at);
        }
        None if claims.flags.has(shoumen_protocol::PassFlags::PHONE) => return Err(pass::PassError::CodeRequired),
        None => {}
    }
    if t + leeway < claims.not_before || t - leeway >= claims.expires_at {
        return Ok(Verified::OnlyByTheClock(claims));
    }
    Ok(Verified::Valid(claims))
}

/// 进门 or 出门: answers the question for a pass waiting on the screen, or
/// holds the choice for the next pass.
fn on_choose_direction(state: &mut GateState, direction: Direction, now: Now) -> Vec<Effect> {
    if state.policy.direction != GateDirection::Both {
        return Vec::new();
    }
    match std::mem::replace(&mut state.phase, Phase::Idle) {
        Phase::Choosing { claims, .. } => decide(state, *claims, direction, now),
        phase => {
            state.phase = phase;
            state.chosen = Some((direction, now.mono_ms + state.policy.choose_direction_ms));
            Vec::new()
        }
    }
}

/// The checks that depend on the direction: home quarantine, anti-passback,
/// then the temperature (going in) or the door.
fn decide(state: &mut GateState, claims: PassClaims, direction: Direction, now: Now) -> Vec<Effect> {
    let now_s = now.wall_s();
    let quarantined = state.lists.quarantine.as_ref().is_some_and(|l| l.contains_active(&claims.pass_id, now_s));
    if quarantined && direction == Direction::Out {
        let mut effects = refuse(state, &claims, direction, Decision::Deny, Reason::QuarantineNoExit, now);
        effects.push(Effect::Alarm(Alarm::QuarantineExit { pass_id: claims.pass_id }));
        return effects;
    }
    let mut override_used = false;
    if let Some(retry_after_s) = passback_blocks(state, &claims.pass_id, direction, now) {
        if state.override_until_mono_ms.is_some_and(|t| now.mono_ms < t) {
            override_used = true;
        } else {
            let mode = state.passback_mode(now);
            let mut effects = refuse(state, &claims, direction, Decision::Deny, Reason::Passback, now);
            for e in &mut effects {
                if let Effect::Show(Screen::Result(v)) = e {
                    v.passback = Some(mode);
                    v.retry_after_s = retry_after_s;
                }
            }
            return effects;
        }
    }
    let pending =
        Pending { claims, direction, attempt: 1, started_mono_ms: now.mono_ms, first_fever_centi: None, override_used };
    if !state.policy.measures(direction) {
        return allow(state, pending, None, now);
    }
    state.phase = Phase::Measuring(Box::new(pending));
    let measuring = Effect::Show(Screen::Measuring { attempt: 1 });
    let early = std::mem::take(&mut state.early.taken).filter(|(_, at)| now.mono_ms <= at + EARLY_MAX_AGE_MS);
    match early {
        // Taken while the pass was read: decide now.
        Some((centi, _)) if state.early.theirs => on_temperature(state, TempReading::Body(centi), now),
        // Being taken: its reading decides when it comes.
        _ if state.early.in_flight && state.early.theirs => vec![measuring],
        _ => vec![Effect::Measure, measuring],
    }
}

/// Someone stepped up: measure now, while their pass is read, unless a
/// measurement is still on its way (its reading belongs to someone before).
fn measure_early(state: &mut GateState) -> Vec<Effect> {
    let policy = &state.policy;
    if !(policy.measure_on_presence && policy.require_temperature) || state.early.in_flight {
        return Vec::new();
    }
    state.early = Early { in_flight: true, theirs: true, taken: None };
    vec![Effect::Measure]
}

/// A reading from the thermometer: an early request's (kept for the pass
/// about to be read, or dropped if its person left), or the measurement's.
fn on_reading(state: &mut GateState, reading: TempReading, now: Now) -> Vec<Effect> {
    if !std::mem::take(&mut state.early.in_flight) {
        return on_temperature(state, reading, now);
    }
    match (state.is_measuring(), state.early.theirs, reading) {
        // The pass was decided while this was taken: it is their reading.
        (true, true, reading) => on_temperature(state, reading, now),
        (false, true, TempReading::Body(centi)) => {
            state.early.taken = Some((centi, now.mono_ms));
            Vec::new()
        }
        // No one there, a fault, or someone who has gone: the measurement
        // after the pass is read decides.
        _ => Vec::new(),
    }
}

/// Whether anti-passback refuses `pass_id` going `direction` now:
/// `Some(retry_after_s)` if it does (`None` inside: no end in strict mode).
fn passback_blocks(state: &mut GateState, pass_id: &PassId, direction: Direction, now: Now) -> Option<Option<i64>> {
    let last = *state.presence.get(pass_id).filter(|p| p.direction == direction)?;
    match state.passback_mode(now) {
        AntiPassback::Off => None,
        AntiPassback::Timed => {
            let window_ms = state.policy.passback_window_s.saturating_mul(1000);
            // Either side of now: a gate with a wrong clock must not lock anyone out.
            if (now.wall_ms - last.at_ms).abs() >= window_ms || exit_credit(state, last.at_ms) {
                return None;
            }
            let left_ms = (last.at_ms + window_ms - now.wall_ms).clamp(0, window_ms);
            Some(Some((left_ms + 999) / 1000))
        }
        AntiPassback::Strict => Some(None),
    }
}

/// With `passback_exit_credit`: takes the oldest exit-button press made
/// after the pass came in at `came_in_ms`, if any: someone went out.
fn exit_credit(state: &mut GateState, came_in_ms: i64) -> bool {
    if !state.policy.passback_exit_credit {
        return false;
    }
    match state.exit_presses.iter().position(|&t| t > came_in_ms) {
        Some(i) => {
            state.exit_presses.remove(i);
            true
        }
        None => false,
    }
}

/// A refusal of a verified pass: the entry, the screen, and an alarm if
/// the same pass keeps being refused.
fn refuse(
    state: &mut GateState,
    claims: &PassClaims,
    direction: Direction,
    decision: Decision,
    reason: Reason,
    now: Now,
) -> Vec<Effect> {
    let d = draft_for(now, direction, claims, decision, reason);
    let view = ResultView::for_pass(decision, reason, claims);
    finish(state, d, view, now)
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
                    retag_allow(&mut effects, Reason::AllowedWithoutTemperature);
                    effects.push(Effect::Alarm(Alarm::ThermometerFault(what)));
                    effects
                }
                FallbackPolicy::CallGuard => {
                    let mut effects = refuse(
                        state,
                        &pending.claims,
                        pending.direction,
                        Decision::Guard,
                        Reason::ThermometerFault,
                        now,
                    );
                    effects.push(Effect::Alarm(Alarm::ThermometerFault(what)));
                    effects
                }
            }
        }
    }
}

fn on_tick(state: &mut GateState, now: Now) -> Vec<Effect> {
    let mut effects = match &state.phase {
        Phase::Measuring(p) if now.mono_ms >= p.started_mono_ms + state.policy.measure_timeout_ms => {
            let pending = take_pending(state);
            if let Some(centi) = pending.first_fever_centi {
                // They walked away after a fever reading: that is still a fever.
                return fever(state, pending, centi, now);
            }
            refuse(state, &pending.claims, pending.direction, Decision::Deny, Reason::MeasureTimeout, now)
        }
        // Nobody said which way: nothing was decided, nothing is recorded.
        Phase::Choosing { since_mono_ms, .. } if now.mono_ms >= since_mono_ms + state.policy.choose_direction_ms => {
            state.phase = Phase::Idle;
            vec![Effect::Show(Screen::Scan { lists_age_s: lists_warning(state, now) })]
        }
        Phase::Showing { until_mono_ms } if now.mono_ms >= *until_mono_ms => {
            state.phase = Phase::Idle;
            vec![Effect::Show(Screen::Scan { lists_age_s: lists_warning(state, now) })]
        }
        _ => Vec::new(),
    };
    effects.extend(watch_alarms(state, now));
    effects
}

/// Alarms that come from time passing: a device fault that lasts, lists
/// that grew too old.
fn watch_alarms(state: &mut GateState, now: Now) -> Vec<Effect> {
    let mut effects = Vec::new();
    let after_ms = state.policy.device_fault_alarm_s.saturating_mul(1000);
    for (device, message) in state.watch.lasting_faults(now.mono_ms, after_ms) {
        let note = format!("{device}: {message}");
        effects.extend(alarm_entry(state, Reason::DeviceFault, None, Some(note), now));
        effects.push(Effect::Alarm(Alarm::DeviceFault { device, message }));
    }
    if state.watch.lists_went_stale(lists_too_old(state, now)) {
        let age_s = state.lists.age_s(now);
        effects.extend(alarm_entry(state, Reason::ListsTooOld, None, None, now));
        effects.push(Effect::Alarm(Alarm::ListsTooOld { age_s }));
    }
    effects
}

fn on_manual_open(state: &mut GateState, reason: String, now: Now) -> Vec<Effect> {
    let reason = reason.trim();
    if reason.is_empty() {
        return vec![Effect::Show(Screen::GuardError { reason: "reason_required" })];
    }
    let mut d = draft(now, EntryKind::Manual, state.default_direction(), Decision::Allow, Reason::ManualOpen);
    d.note = Some(reason.chars().take(200).collect());
    // Whoever opened the console opened the gate (nobody's pass: the PIN).
    state.console.sign(&mut d);
    finish(state, d, ResultView::bare(Decision::Allow, Reason::ManualOpen), now)
}

fn take_pending(state: &mut GateState) -> Pending {
    match std::mem::replace(&mut state.phase, Phase::Idle) {
        Phase::Measuring(p) => *p,
        // Callers only take the pending pass while measuring.
        _ => unreachable!("take_pending outside the measuring phase"),
    }
}

fn allow(state: &mut GateState, pending: Pending, centi: Option<i32>, now: Now) -> Vec<Effect> {
    let quarantined =
        state.lists.quarantine.as_ref().is_some_and(|l| l.contains_active(&pending.claims.pass_id, now.wall_s()));
    let unconfirmed = pending.direction == Direction::Out
        && state.lists.unconfirmed.as_ref().is_some_and(|l| l.contains_active(&pending.claims.pass_id, now.wall_s()));
    let reason = if quarantined {
        Reason::QuarantineReturn
    } else if unconfirmed {
        Reason::QuarantineUnconfirmed
    } else if pending.override_used {
        Reason::PassbackOverride
    } else {
        Reason::Ok
    };
    if pending.override_used {
        state.override_until_mono_ms = None;
    }
    let mut d = draft_for(now, pending.direction, &pending.claims, Decision::Allow, reason);
    d.temperature = centi.map(|c| temp_record(&state.policy, c));
    let mut view = ResultView::for_pass(Decision::Allow, reason, &pending.claims);
    view.temperature_centi = centi;
    note_presence(
        &mut state.presence,
        pending.claims.pass_id,
        Presence { direction: pending.direction, at_ms: now.wall_ms },
    );
    finish(state, d, view, now)
}

fn fever(state: &mut GateState, pending: Pending, centi: i32, now: Now) -> Vec<Effect> {
    let mut d = draft_for(now, pending.direction, &pending.claims, Decision::Guard, Reason::Fever);
    d.temperature = Some(temp_record(&state.policy, centi));
    let mut view = ResultView::for_pass(Decision::Guard, Reason::Fever, &pending.claims);
    view.temperature_centi = Some(centi);
    view.remeasure_after_min = Some(state.policy.fever_remeasure_after_min);
    let mut effects = finish(state, d, view, now);
    effects.push(Effect::Alarm(Alarm::Fever { pass_id: pending.claims.pass_id, centi }));
    effects
}

/// A duty pass read: signs its holder in for duty at this gate, or out if
/// they are on duty here. Recorded like any entry; never opens the gate.
fn on_duty_pass(state: &mut GateState, claims: &PassClaims, now: Now) -> Vec<Effect> {
    // The result of the first read was shown; no result without a record.
    if state.duty_last.is_some_and(|(id, at)| id == claims.pass_id && now.mono_ms < at + DUTY_SETTLE_MS) {
        return Vec::new();
    }
    state.duty_last = Some((claims.pass_id, now.mono_ms));
    let reason = match state.on_duty.remove(&claims.pass_id) {
        Some(_) => Reason::DutyEnd,
        None => {
            state.on_duty.insert(claims.pass_id, OnDuty { since_ms: now.wall_ms });
            Reason::DutyStart
        }
    };
    let d = EntryDraft {
        kind: EntryKind::Duty,
        ..draft_for(now, state.default_direction(), claims, Decision::Allow, reason)
    };
    let mut view = ResultView::for_pass(Decision::Allow, reason, claims);
    view.lists_age_s = lists_warning(state, now);
    state.phase = Phase::Showing { until_mono_ms: now.mono_ms + state.policy.result_screen_ms };
    vec![Effect::Record(d), Effect::Show(Screen::Result(view)), Effect::Sound(Sound::Ok)]
}

/// A duty pass read while the console waits: the console opens for its
/// holder, who is signed in for duty here first if they were not.
fn on_console_pass(state: &mut GateState, claims: &PassClaims, now: Now) -> Vec<Effect> {
    state.duty_last = Some((claims.pass_id, now.mono_ms));
    let mut effects = Vec::new();
    let direction = state.default_direction();
    if let std::collections::hash_map::Entry::Vacant(v) = state.on_duty.entry(claims.pass_id) {
        v.insert(OnDuty { since_ms: now.wall_ms });
        effects.push(Effect::Record(EntryDraft {
            kind: EntryKind::Duty,
            ..draft_for(now, direction, claims, Decision::Allow, Reason::DutyStart)
        }));
    }
    state.console = Console { waiting_until_mono_ms: None, by: Some(claims.pass_id) };
    effects.extend(console_entry(state, Reason::ConsoleOpened, String::new(), now));
    effects.extend([Effect::Show(Screen::ConsoleOpen { by: claims.pass_id }), Effect::Sound(Sound::Ok)]);
    effects
}

/// An entry for something done on the console, naming who has it open.
fn console_entry(state: &GateState, reason: Reason, note: String, now: Now) -> Vec<Effect> {
    let mut d = draft(now, EntryKind::Duty, state.default_direction(), Decision::Allow, reason);
    state.console.sign(&mut d);
    d.note = (!note.is_empty()).then(|| note.chars().take(200).collect());
    vec![Effect::Record(d)]
}

/// Record, then open (if allowed), then show and sound: the order the caller
/// executes them in. A refused pass that keeps coming back adds an alarm.
fn finish(state: &mut GateState, draft: EntryDraft, mut view: ResultView, now: Now) -> Vec<Effect> {
    view.lists_age_s = lists_warning(state, now);
    let allowed = draft.decision == Decision::Allow;
    let sound = match draft.decision {
        Decision::Allow => Sound::Ok,
        Decision::Deny => Sound::Deny,
        Decision::Guard => Sound::Alarm,
    };
    let refused_pass = draft.pass_id.filter(|_| !allowed && draft.kind == EntryKind::Scan);
    if draft.kind == EntryKind::Scan {
        // Their turn is over: a reading still to come is not the next person's.
        state.early.theirs = false;
        state.early.taken = None;
    }
    let mut effects = vec![Effect::Record(draft)];
    if allowed {
        effects.push(Effect::OpenGate { pulse_ms: state.policy.relay_pulse_ms });
    }
    effects.push(Effect::Show(Screen::Result(view)));
    effects.push(Effect::Sound(sound));
    state.phase = Phase::Showing { until_mono_ms: now.mono_ms + state.policy.result_screen_ms };
    if let Some(pass_id) = refused_pass {
        let (limit, window_ms) =
            (state.policy.repeated_refusals, state.policy.repeated_refusals_window_s.saturating_mul(1000));
        if let Some(count) = state.watch.refused(pass_id, now.mono_ms, limit, window_ms) {
            effects.extend(alarm_entry(
                state,
                Reason::RepeatedRefusals,
                Some(pass_id),
                Some(format!("{count} refusals")),
                now,
            ));
            effects.push(Effect::Alarm(Alarm::RepeatedRefusals { pass_id, count }));
        }
    }
    effects
}

/// An alarm as an entry of the log: chained and synced like any other, so
/// the committee hears of it and nobody can quietly remove it.
fn alarm_entry(
    state: &GateState,
    reason: Reason,
    pass_id: Option<PassId>,
    note: Option<String>,
    now: Now,
) -> Vec<Effect> {
    let mut d = draft(now, EntryKind::Alarm, state.default_direction(), Decision::Guard, reason);
    d.pass_id = pass_id;
    d.note = note.map(|n| n.chars().take(200).collect());
    vec![Effect::Record(d)]
}

fn retag_allow(effects: &mut [Effect], reason: Reason) {
    for e in effects {
        match e {
            Effect::Record(d) => d.reason = reason,
            Effect::Show(Screen::Result(v)) => v.reason = reason,
            _ => {}
        }
    }
}

fn lists_too_old(state: &GateState, now: Now) -> bool {
    state.lists.expired(now) || state.lists.age_s(now).is_none_or(|age| age > state.policy.lists_max_age_s)
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

fn draft(now: Now, kind: EntryKind, direction: Direction, decision: Decision, reason: Reason) -> EntryDraft {
    EntryDraft {
        wall_ms: now.wall_ms,
        mono_ms: now.mono_ms,
        clock_synced: now.vouched_for(),
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

fn draft_for(now: Now, direction: Direction, claims: &PassClaims, decision: Decision, reason: Reason) -> EntryDraft {
    EntryDraft {
        pass_id: Some(claims.pass_id),
        role: Some(claims.role),
        ..draft(now, EntryKind::Scan, direction, decision, reason)
    }
}

impl ResultView {
    /// A result with nothing but its decision and reason; the rest empty.
    pub fn bare(decision: Decision, reason: Reason) -> ResultView {
        ResultView {
            decision,
            reason,
            role: None,
            unit: None,
            temperature_centi: None,
            lists_age_s: None,
            needs_assistance: false,
            remeasure_after_min: None,
            passback: None,
            retry_after_s: None,
        }
    }

    fn for_pass(decision: Decision, reason: Reason, claims: &PassClaims) -> ResultView {
        ResultView {
            role: Some(claims.role),
            unit: (!claims.unit.is_empty()).then(|| claims.unit.clone()),
            needs_assistance: claims.flags.has(shoumen_protocol::PassFlags::NEEDS_ASSISTANCE),
            ..ResultView::bare(decision, reason)
        }
    }
}
