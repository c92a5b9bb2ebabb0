//! Data-table tests of the gate policy: one row per rule of the policy.

use std::collections::HashMap;

use shoumen_protocol::{
    holder, pass, testkit, Decision, Direction, EntryKind, HolderKey, ListItem, ListKind, ListSnapshot, PassClaims,
    PassFlags, PassId, Reason, Role, TempRecord, TrustList, TrustedKey,
};

use shoumen_protocol::time::TimeTrust;

use super::*;

const T0: i64 = testkit::VECTOR_NOW * 1000;

fn now(mono_ms: u64) -> Now {
    Now::vouched(T0 + mono_ms as i64, mono_ms)
}

fn list(kind: ListKind, ids: &[PassId]) -> ListSnapshot {
    ListSnapshot {
        kind,
        version: 1,
        issued_at: testkit::VECTOR_NOW - 60,
        expires_at: testkit::VECTOR_NOW + 7 * 86_400,
        items: ids.iter().map(|&pass_id| ListItem { pass_id, from: None, until: None, source: None }).collect(),
    }
}

fn id(n: u8) -> PassId {
    PassId([n; 8])
}

fn claims(n: u8) -> PassClaims {
    PassClaims { pass_id: id(n), ..testkit::resident_claims(testkit::VECTOR_NOW) }
}

fn text(c: &PassClaims) -> String {
    pass::issue(c, &testkit::key_from_byte(7)).unwrap()
}

/// Passes used by the table: 1 ok, 2 revoked, 3 quarantined, 4 expired,
/// 5 not yet valid, 6 signed by an unknown key, 7 visitor; a phone pass's
/// code 8 made now and 9 made 40 s ago, 10 the phone pass as a picture,
/// 11 the code of a quarantined phone pass, 12 a resident of a home whose
/// self-declared notice nobody confirmed; 13 the code of phone pass 8,
/// made 40 s ago.
fn pass_text(n: u8) -> String {
    let base = claims(n);
    let holder = ed25519_dalek::SigningKey::from_bytes(&[if n == 13 { 8 } else { n }; 32]);
    let phone = || PassClaims {
        flags: PassFlags(PassFlags::PHONE),
        holder: Some(HolderKey::Ed25519(holder.verifying_key().to_bytes())),
        pass_id: id(match n {
            11 => 3,
            13 => 8,
            n => n,
        }),
        ..claims(n)
    };
    let code = |age_s: i64| holder::make_code_ed25519(&text(&phone()), testkit::VECTOR_NOW - age_s, &holder).unwrap();
    match n {
        8 | 11 => code(0),
        9 | 13 => code(40),
        10 => text(&phone()),
        4 => text(&PassClaims { expires_at: testkit::VECTOR_NOW - 3_600, not_before: 0, ..base }),
        5 => text(&PassClaims {
            not_before: testkit::VECTOR_NOW + 86_400,
            expires_at: testkit::VECTOR_NOW + 2 * 86_400,
            ..base
        }),
        6 => pass::issue(&base, &testkit::key_from_byte(9)).unwrap(),
        7 => text(&PassClaims { role: Role::Visitor, unit: "".into(), ..base }),
        _ => text(&base),
    }
}

fn fresh_lists() -> Lists {
    Lists {
        trust: TrustList::new(vec![TrustedKey {
            issuer: testkit::resident_claims(0).issuer,
            key: testkit::key_from_byte(7).verifying_key(),
        }]),
        revocations: Some(list(ListKind::Revocations, &[id(2)])),
        quarantine: Some(list(ListKind::Quarantine, &[id(3)])),
        unconfirmed: Some(list(ListKind::Unconfirmed, &[id(12)])),
        synced_at_ms: Some(T0 - 60_000),
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Read(u8),
    /// Read by the inward camera of a "both" kiosk (going out).
    ReadOut(u8),
    /// 进门 or 出门 tapped.
    Choose(Direction),
    /// The door contact raises an alarm.
    Door(DoorAlarm),
    /// The camera reports a fault (or health with `None`).
    CameraFault(Option<&'static str>),
    /// °C × 100
    Temp(i32),
    NoSubject,
    Fault,
    Manual(&'static str),
    Exit,
    Override,
    /// The presence sensor: someone stepped up (or away).
    Present(bool),
    /// Advance the clock by this many ms and tick.
    Wait(u64),
}

#[derive(Debug)]
struct Outcome {
    /// (decision, reason) of every recorded entry, in order.
    records: Vec<(Decision, &'static str)>,
    opens: usize,
    alarms: Vec<Alarm>,
    screens: Vec<Screen>,
    drafts: Vec<EntryDraft>,
}

/// Presence given as (pass, direction) was let through a minute before T0.
fn run(policy: Policy, lists: Lists, presence: &[(u8, Direction)], steps: &[Step]) -> Outcome {
    let presence: HashMap<_, _> =
        presence.iter().map(|&(n, d)| (id(n), Presence { direction: d, at_ms: T0 - 60_000 })).collect();
    let mut state = GateState::new(policy, lists, presence);
    let mut out = Outcome { records: vec![], opens: 0, alarms: vec![], screens: vec![], drafts: vec![] };
    let mut t = 1_000u64;
    for s in steps {
        let event = match *s {
            Step::Read(n) => Event::PassRead { text: pass_text(n), direction: None },
            Step::ReadOut(n) => Event::PassRead { text: pass_text(n), direction: Some(Direction::Out) },
            Step::Choose(d) => Event::ChooseDirection(d),
            Step::Door(a) => Event::Door(a),
            Step::CameraFault(f) => Event::DeviceHealth { device: "camera", fault: f.map(String::from) },
            Step::Temp(c) => Event::Temperature(TempReading::Body(c)),
            Step::NoSubject => Event::Temperature(TempReading::NoSubject),
            Step::Fault => Event::Temperature(TempReading::Fault("I2C NACK at 0x5A".into())),
            Step::Manual(r) => Event::ManualOpen { reason: r.into() },
            Step::Exit => Event::ExitButton,
            Step::Override => Event::PassbackOverride,
            Step::Present(p) => Event::Presence(p),
            Step::Wait(ms) => {
                t += ms;
                Event::Tick
            }
        };
        t += 10;
        let effects = step(&mut state, event, now(t));
        assert_record_comes_first(&effects);
        for e in effects {
            match e {
                Effect::Record(d) => {
                    out.records.push((d.decision, d.reason.as_str()));
                    out.drafts.push(d);
                }
                Effect::OpenGate { .. } => out.opens += 1,
                Effect::Alarm(a) => out.alarms.push(a),
                Effect::Show(s) => out.screens.push(s),
                _ => {}
            }
        }
    }
    out
}

/// Invariant 1: no gate opening and no result shown without a record first.
fn assert_record_comes_first(effects: &[Effect]) {
    let record = effects.iter().position(|e| matches!(e, Effect::Record(_)));
    for (i, e) in effects.iter().enumerate() {
        if matches!(e, Effect::OpenGate { .. } | Effect::Show(Screen::Result(_))) {
            assert!(record.is_some_and(|r| r < i), "{e:?} before any Record in {effects:?}");
        }
    }
}

use Decision::{Allow, Deny, Guard};
use Step::*;

struct Row {
    name: &'static str,
    policy: fn(&mut Policy),
    lists: fn(&mut Lists),
    presence: &'static [(u8, Direction)],
    steps: &'static [Step],
    records: &'static [(Decision, &'static str)],
    opens: usize,
    alarm: Option<&'static str>,
}

fn same(_: &mut Policy) {}
fn fresh(_: &mut Lists) {}
fn out_gate(p: &mut Policy) {
    p.direction = GateDirection::Out;
}
fn both_gate(p: &mut Policy) {
    p.direction = GateDirection::Both;
}
fn strict(p: &mut Policy) {
    p.anti_passback = AntiPassback::Strict;
}
/// The kiosk reached the server just now.
fn reached_now(l: &mut Lists) {
    l.synced_at_ms = Some(T0);
}
/// Lists received twenty minutes ago: longer than `strict_offline_s`.
fn offline_20_min(l: &mut Lists) {
    l.synced_at_ms = Some(T0 - 20 * 60_000);
}
const MIN: u64 = 60_000;
const DAY: u64 = 86_400_000;
const NORMAL: i32 = 3650;
const FEVER: i32 = 3780;

#[rustfmt::skip]
const TABLE: &[Row] = &[
    Row { name: "valid pass, normal temperature: open and welcome",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "temperature exactly at the threshold is a fever",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(3730), Temp(3730)],
          records: &[(Guard, "fever")], opens: 0, alarm: Some("fever") },
    Row { name: "fever, then normal on the re-measure: open",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(FEVER), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "fever twice: see the guard and raise the alarm",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(FEVER), Temp(FEVER)],
          records: &[(Guard, "fever")], opens: 0, alarm: Some("fever") },
    Row { name: "fever without re-measure configured: at once",
          policy: |p| p.remeasure_on_fever = false, lists: fresh, presence: &[], steps: &[Read(1), Temp(FEVER)],
          records: &[(Guard, "fever")], opens: 0, alarm: Some("fever") },
    Row { name: "fever, then walking away: still recorded as fever",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(FEVER), Wait(20_000)],
          records: &[(Guard, "fever")], opens: 0, alarm: Some("fever") },
    Row { name: "nobody in front of the sensor keeps measuring, then times out",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), NoSubject, NoSubject, Wait(20_000)],
          records: &[(Deny, "measure_timeout")], opens: 0, alarm: None },
    Row { name: "revoked pass",
          policy: same, lists: fresh, presence: &[], steps: &[Read(2)],
          records: &[(Deny, "revoked")], opens: 0, alarm: None },
    Row { name: "expired pass",
          policy: same, lists: fresh, presence: &[], steps: &[Read(4)],
          records: &[(Deny, "expired")], opens: 0, alarm: None },
    Row { name: "pass not yet valid",
          policy: same, lists: fresh, presence: &[], steps: &[Read(5)],
          records: &[(Deny, "not_yet_valid")], opens: 0, alarm: None },
    Row { name: "a phone's code made now: open",
          policy: same, lists: fresh, presence: &[], steps: &[Read(8), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "a phone's code 40 s old (a screenshot): refused",
          policy: same, lists: fresh, presence: &[], steps: &[Read(9)],
          records: &[(Deny, "code_expired")], opens: 0, alarm: None },
    Row { name: "a phone pass shown as a static picture: refused",
          policy: same, lists: fresh, presence: &[], steps: &[Read(10)],
          records: &[(Deny, "code_expired")], opens: 0, alarm: None },
    Row { name: "a phone's code goes through the lists like a card: quarantined may not go out",
          policy: out_gate, lists: fresh, presence: &[], steps: &[Read(11)],
          records: &[(Deny, "quarantine_no_exit")], opens: 0, alarm: Some("quarantine") },
    Row { name: "pass signed by an unknown key",
          policy: same, lists: fresh, presence: &[], steps: &[Read(6)],
          records: &[(Deny, "unknown_key")], opens: 0, alarm: None },
    Row { name: "pass from a key of another community",
          policy: same, lists: |l| l.trust.keys[0].issuer = "other".into(), presence: &[], steps: &[Read(1)],
          records: &[(Deny, "unknown_issuer")], opens: 0, alarm: None },
    Row { name: "quarantined resident may not go out",
          policy: out_gate, lists: fresh, presence: &[], steps: &[Read(3)],
          records: &[(Deny, "quarantine_no_exit")], opens: 0, alarm: Some("quarantine") },
    Row { name: "quarantined resident may come in, flagged",
          policy: same, lists: fresh, presence: &[], steps: &[Read(3), Temp(NORMAL)],
          records: &[(Allow, "quarantine_return")], opens: 1, alarm: None },
    Row { name: "a self-declared notice nobody confirmed does not keep anyone in: out, the guard told",
          policy: out_gate, lists: fresh, presence: &[], steps: &[Read(12), Temp(NORMAL)],
          records: &[(Allow, "quarantine_unconfirmed")], opens: 1, alarm: None },
    Row { name: "a self-declared notice changes nothing coming in",
          policy: same, lists: fresh, presence: &[], steps: &[Read(12), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "quarantine window over: may go out",
          policy: out_gate, lists: |l| l.quarantine.as_mut().unwrap().items[0].until = Some(testkit::VECTOR_NOW - 1),
          presence: &[], steps: &[Read(3), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "anti-passback: in twice is refused",
          policy: same, lists: fresh, presence: &[(1, Direction::In)], steps: &[Read(1)],
          records: &[(Deny, "passback")], opens: 0, alarm: None },
    Row { name: "anti-passback: in, then the same pass in again after the cooldown",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(5_000), Read(1)],
          records: &[(Allow, "ok"), (Deny, "passback")], opens: 1, alarm: None },
    Row { name: "anti-passback: out after in is fine",
          policy: out_gate, lists: fresh, presence: &[(1, Direction::In)], steps: &[Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "anti-passback off",
          policy: |p| p.anti_passback = AntiPassback::Off, lists: fresh, presence: &[(1, Direction::In)], steps: &[Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "anti-passback: guard override lets the next pass through once",
          policy: same, lists: fresh, presence: &[(1, Direction::In)],
          steps: &[Override, Read(1), Temp(NORMAL), Wait(5_000), Read(1)],
          records: &[(Allow, "setting_changed"), (Allow, "passback_override"), (Deny, "passback")], opens: 1, alarm: None },
    Row { name: "anti-passback: an override expires",
          policy: |p| p.passback_window_s = 600, lists: fresh, presence: &[(1, Direction::In)], steps: &[Override, Wait(120_000), Read(1)],
          records: &[(Allow, "setting_changed"), (Deny, "passback")], opens: 0, alarm: None },
    Row { name: "the camera reading the same pass again is ignored",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Read(1), Read(1)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "lists older than the warning age: allowed, screen warns",
          policy: same, lists: |l| l.synced_at_ms = Some(T0 - 7 * 3_600_000), presence: &[], steps: &[Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "lists past the hard age: call the guard",
          policy: same, lists: |l| l.synced_at_ms = Some(T0 - 80 * 3_600_000), presence: &[], steps: &[Read(1)],
          records: &[(Guard, "lists_too_old")], opens: 0, alarm: Some("lists") },
    Row { name: "lists past their expiry: call the guard",
          policy: same, lists: |l| l.revocations.as_mut().unwrap().expires_at = testkit::VECTOR_NOW - 1, presence: &[], steps: &[Read(1)],
          records: &[(Guard, "lists_too_old")], opens: 0, alarm: Some("lists") },
    Row { name: "never had lists: call the guard",
          policy: same, lists: |l| { l.revocations = None; l.quarantine = None; l.synced_at_ms = None }, presence: &[], steps: &[Read(1)],
          records: &[(Guard, "lists_too_old")], opens: 0, alarm: Some("lists") },
    Row { name: "lists past the hard age, policy allows: open",
          policy: |p| p.on_stale_lists = FallbackPolicy::Allow, lists: |l| l.synced_at_ms = Some(T0 - 80 * 3_600_000),
          presence: &[], steps: &[Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "revocation is still checked when lists are too old",
          policy: same, lists: |l| l.synced_at_ms = Some(T0 - 80 * 3_600_000), presence: &[], steps: &[Read(2)],
          records: &[(Deny, "revoked")], opens: 0, alarm: None },
    Row { name: "thermometer fault: deny and call the guard",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Fault],
          records: &[(Guard, "thermometer_fault")], opens: 0, alarm: Some("thermometer") },
    Row { name: "thermometer fault, policy allows: open without temperature",
          policy: |p| p.on_thermometer_fault = FallbackPolicy::Allow, lists: fresh, presence: &[], steps: &[Read(1), Fault],
          records: &[(Allow, "allowed_without_temperature")], opens: 1, alarm: Some("thermometer") },
    Row { name: "no thermometer required: open on the pass alone",
          policy: |p| p.require_temperature = false, lists: fresh, presence: &[], steps: &[Read(7)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "manual open with a reason is recorded",
          policy: same, lists: fresh, presence: &[], steps: &[Manual("ambulance")],
          records: &[(Allow, "manual_open")], opens: 1, alarm: None },
    Row { name: "manual open without a reason is refused and not recorded",
          policy: same, lists: fresh, presence: &[], steps: &[Manual("   ")],
          records: &[], opens: 0, alarm: None },
    Row { name: "exit button opens and records",
          policy: same, lists: fresh, presence: &[], steps: &[Exit],
          records: &[(Allow, "exit_button")], opens: 1, alarm: None },
    Row { name: "the exit button pressed inside while someone outside is measured",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Exit, Temp(NORMAL)],
          records: &[(Allow, "exit_button"), (Allow, "ok")], opens: 2, alarm: None },

    // Measuring from the moment someone steps up (measure_on_presence).
    Row { name: "measured while the pass was read: decided as it is read",
          policy: same, lists: fresh, presence: &[], steps: &[Present(true), Temp(NORMAL), Read(1)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "a measurement still under way when the pass is read decides when it comes",
          policy: same, lists: fresh, presence: &[], steps: &[Present(true), Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "the reading of someone who stepped away is not used",
          policy: same, lists: fresh, presence: &[], steps: &[Present(true), Temp(NORMAL), Present(false), Read(1)],
          records: &[], opens: 0, alarm: None },
    Row { name: "a reading that comes after a refusal is not the next person's",
          policy: same, lists: fresh, presence: &[], steps: &[Present(true), Read(4), Temp(NORMAL), Wait(5_000), Read(1)],
          records: &[(Deny, "expired")], opens: 0, alarm: None },
    Row { name: "an early fever still asks to measure again",
          policy: same, lists: fresh, presence: &[], steps: &[Present(true), Temp(3800), Read(1), Temp(3800)],
          records: &[(Guard, "fever")], opens: 0, alarm: Some("fever") },
    Row { name: "an early fault is not used: the measurement after the read decides",
          policy: same, lists: fresh, presence: &[], steps: &[Present(true), Fault, Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "measure_on_presence off: a reading before the pass is ignored",
          policy: |p| p.measure_on_presence = false, lists: fresh, presence: &[], steps: &[Present(true), Temp(NORMAL), Read(1)],
          records: &[], opens: 0, alarm: None },

    // Timed anti-passback, the default: a window, never a lock-out.
    Row { name: "timed: in, out by the exit button, in again the next day",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(60_000), Exit, Wait(DAY), Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok"), (Allow, "exit_button"), (Allow, "ok")], opens: 3, alarm: None },
    Row { name: "timed: in again after the window without ever scanning out",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(3 * MIN), Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok"), (Allow, "ok")], opens: 2, alarm: None },
    Row { name: "timed: handed back over the fence within the window",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(40_000), Read(1)],
          records: &[(Allow, "ok"), (Deny, "passback")], opens: 1, alarm: None },
    // Quick returns (docs/deployment.md): out to a courier, back at once.
    Row { name: "quick return: out through an out kiosk, back in at once",
          policy: same, lists: fresh, presence: &[(1, Direction::Out)], steps: &[Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "quick return: read going out by the inward camera, back in at once",
          policy: both_gate, lists: fresh, presence: &[], steps: &[ReadOut(1), Wait(5_000), Read(1), Choose(Direction::In), Temp(NORMAL), Wait(5_000), Read(1), Choose(Direction::In)],
          records: &[(Allow, "ok"), (Allow, "ok"), (Deny, "passback")], opens: 2, alarm: None },
    Row { name: "quick return, layout C: out by the button, back after three minutes",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(20_000), Exit, Wait(3 * MIN), Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok"), (Allow, "exit_button"), (Allow, "ok")], opens: 3, alarm: None },
    Row { name: "quick return, layout C: out and back within the window is refused",
          policy: same, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(20_000), Exit, Wait(40_000), Read(1)],
          records: &[(Allow, "ok"), (Allow, "exit_button"), (Deny, "passback")], opens: 2, alarm: None },
    Row { name: "exit credit: out by the button and back within the window",
          policy: |p| p.passback_exit_credit = true, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(20_000), Exit, Wait(40_000), Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok"), (Allow, "exit_button"), (Allow, "ok")], opens: 3, alarm: None },
    Row { name: "exit credit: a press counts once (a hand-back after one exit)",
          policy: |p| p.passback_exit_credit = true, lists: fresh, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(10_000), Exit, Wait(10_000), Read(1), Temp(NORMAL), Wait(10_000), Read(1)],
          records: &[(Allow, "ok"), (Allow, "exit_button"), (Allow, "ok"), (Deny, "passback")], opens: 3, alarm: None },
    Row { name: "exit credit: a press before the pass came in does not count",
          policy: |p| p.passback_exit_credit = true, lists: fresh, presence: &[], steps: &[Exit, Wait(10_000), Read(1), Temp(NORMAL), Wait(30_000), Read(1)],
          records: &[(Allow, "exit_button"), (Allow, "ok"), (Deny, "passback")], opens: 2, alarm: None },
    Row { name: "timed: in at another gate a minute ago counts too",
          policy: same, lists: fresh, presence: &[(1, Direction::In)], steps: &[Read(1)],
          records: &[(Deny, "passback")], opens: 0, alarm: None },
    // Strict: in must be followed by out, while the server is reachable.
    Row { name: "strict: in twice, past the timed window, is refused",
          policy: strict, lists: reached_now, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(3 * MIN), Read(1)],
          records: &[(Allow, "ok"), (Deny, "passback")], opens: 1, alarm: None },
    Row { name: "strict, offline for longer than strict_offline_s: timed",
          policy: strict, lists: offline_20_min, presence: &[], steps: &[Read(1), Temp(NORMAL), Wait(3 * MIN), Read(1), Temp(NORMAL)],
          records: &[(Allow, "ok"), (Allow, "ok")], opens: 2, alarm: None },
    // A kiosk for both directions.
    Row { name: "both: a pass waits for 进门/出门, then goes out without a temperature",
          policy: both_gate, lists: fresh, presence: &[], steps: &[Read(1), Choose(Direction::Out)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "both: 进门 measures the temperature",
          policy: both_gate, lists: fresh, presence: &[], steps: &[Read(1), Choose(Direction::In), Temp(NORMAL)],
          records: &[(Allow, "ok")], opens: 1, alarm: None },
    Row { name: "both: nobody says which way, nothing is decided",
          policy: both_gate, lists: fresh, presence: &[], steps: &[Read(1), Wait(20_000)],
          records: &[], opens: 0, alarm: None },
    Row { name: "both: quarantined resident taps 出门",
          policy: both_gate, lists: fresh, presence: &[], steps: &[Read(3), Choose(Direction::Out)],
          records: &[(Deny, "quarantine_no_exit")], opens: 0, alarm: Some("quarantine") },
    Row { name: "both: 出门 tapped first, then the quarantined pass",
          policy: both_gate, lists: fresh, presence: &[], steps: &[Choose(Direction::Out), Read(3)],
          records: &[(Deny, "quarantine_no_exit")], opens: 0, alarm: Some("quarantine") },
    Row { name: "both: the inward camera reads a quarantined resident leaving",
          policy: both_gate, lists: fresh, presence: &[], steps: &[ReadOut(3)],
          records: &[(Deny, "quarantine_no_exit")], opens: 0, alarm: Some("quarantine") },
    Row { name: "both: a tap on another kiosk kind is ignored",
          policy: same, lists: fresh, presence: &[], steps: &[Choose(Direction::Out), Read(3), Temp(NORMAL)],
          records: &[(Allow, "quarantine_return")], opens: 1, alarm: None },
    // Alarms are entries.
    Row { name: "door forced open: an alarm entry, the buzzer, no opening",
          policy: same, lists: fresh, presence: &[], steps: &[Door(DoorAlarm::ForcedOpen)],
          records: &[(Guard, "door_forced_open")], opens: 0, alarm: Some("door") },
    Row { name: "door held open: an alarm entry",
          policy: same, lists: fresh, presence: &[], steps: &[Door(DoorAlarm::HeldOpen)],
          records: &[(Guard, "door_held_open")], opens: 0, alarm: Some("door") },
    Row { name: "the same pass refused three times within ten minutes",
          policy: same, lists: fresh, presence: &[], steps: &[Read(2), Wait(MIN), Read(2), Wait(MIN), Read(2)],
          records: &[(Deny, "revoked"), (Deny, "revoked"), (Deny, "revoked"), (Guard, "repeated_refusals")], opens: 0,
          alarm: Some("refusals") },
    Row { name: "three refusals spread over more than ten minutes: no alarm",
          policy: same, lists: fresh, presence: &[], steps: &[Read(2), Wait(6 * MIN), Read(2), Wait(6 * MIN), Read(2)],
          records: &[(Deny, "revoked"), (Deny, "revoked"), (Deny, "revoked")], opens: 0, alarm: None },
    Row { name: "a camera fault lasting over a minute",
          policy: same, lists: fresh, presence: &[], steps: &[CameraFault(Some("unplugged")), Wait(30_000), Wait(31_000), Wait(60_000)],
          records: &[(Guard, "device_fault")], opens: 0, alarm: Some("device") },
    Row { name: "a camera fault that clears within the minute",
          policy: same, lists: fresh, presence: &[], steps: &[CameraFault(Some("unplugged")), Wait(30_000), CameraFault(None), Wait(60_000)],
          records: &[], opens: 0, alarm: None },
    Row { name: "lists growing past their age limit raise one alarm",
          policy: same, lists: |l| l.synced_at_ms = Some(T0 - 72 * 3_600_000 + 30_000), presence: &[], steps: &[Wait(10_000), Wait(40_000), Wait(60_000)],
          records: &[(Guard, "lists_too_old")], opens: 0, alarm: Some("lists") },
];

fn alarm_kind(a: &Alarm) -> &'static str {
    match a {
        Alarm::Fever { .. } => "fever",
        Alarm::QuarantineExit { .. } => "quarantine",
        Alarm::ThermometerFault(_) => "thermometer",
        Alarm::ListsTooOld { .. } => "lists",
        Alarm::DeviceFault { .. } => "device",
        Alarm::Door(_) => "door",
        Alarm::RepeatedRefusals { .. } => "refusals",
    }
}

#[test]
fn policy_table() {
    for row in TABLE {
        let mut policy = Policy::default();
        (row.policy)(&mut policy);
        let mut lists = fresh_lists();
        (row.lists)(&mut lists);
        let out = run(policy, lists, row.presence, row.steps);
        assert_eq!(out.records, row.records, "{}", row.name);
        assert_eq!(out.opens, row.opens, "{}: gate openings", row.name);
        let alarms: Vec<_> = out.alarms.iter().map(alarm_kind).collect();
        assert_eq!(alarms, row.alarm.into_iter().collect::<Vec<_>>(), "{}: alarms", row.name);
    }
}

#[test]
fn a_timed_refusal_says_when_to_try_again_and_a_strict_one_to_go_out_first() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Read(1), Temp(NORMAL), Wait(40_000), Read(1)]);
    let Some(Screen::Result(v)) = out.screens.last() else { panic!("{:?}", out.screens) };
    assert_eq!((v.reason, v.passback), (Reason::Passback, Some(AntiPassback::Timed)));
    // 120 s window, 40 s and a few steps later.
    assert!(v.retry_after_s.is_some_and(|s| (79..=80).contains(&s)), "{v:?}");
    assert_eq!(next_step(v), NextStep::WaitAndRetry);

    let mut lists = fresh_lists();
    lists.synced_at_ms = Some(T0);
    let out = run(
        Policy { anti_passback: AntiPassback::Strict, ..Policy::default() },
        lists,
        &[(1, Direction::In)],
        &[Read(1)],
    );
    let Some(Screen::Result(v)) = out.screens.last() else { panic!("{:?}", out.screens) };
    assert_eq!((v.passback, v.retry_after_s), (Some(AntiPassback::Strict), None));
    assert_eq!(next_step(v), NextStep::GoOutFirst);
}

#[test]
fn every_refusal_in_the_table_says_what_to_do_next() {
    let mut seen = std::collections::BTreeSet::new();
    for row in TABLE {
        let mut policy = Policy::default();
        (row.policy)(&mut policy);
        let mut lists = fresh_lists();
        (row.lists)(&mut lists);
        for screen in run(policy, lists, row.presence, row.steps).screens {
            let Screen::Result(v) = screen else { continue };
            let next = next_step(&v);
            if v.decision == Allow {
                assert!(matches!(next, NextStep::GoAhead | NextStep::GoHome), "{}: {v:?} → {next:?}", row.name);
            } else {
                assert_ne!(next, NextStep::GoAhead, "{}: a refusal that says go ahead: {v:?}", row.name);
                seen.insert(next.as_str());
            }
        }
    }
    // The table reaches every kind of refusal advice but the visitor's.
    assert!(seen.len() >= 7, "{seen:?}");
}

#[test]
fn a_measurement_under_way_when_the_pass_is_read_is_not_asked_for_twice() {
    let mut state = GateState::new(Policy::default(), fresh_lists(), HashMap::new());
    let measures = |effects: &[Effect]| effects.iter().filter(|e| matches!(e, Effect::Measure)).count();
    assert_eq!(measures(&step(&mut state, Event::Presence(true), now(1_000))), 1);
    let read = step(&mut state, Event::PassRead { text: pass_text(1), direction: None }, now(1_100));
    assert_eq!(measures(&read), 0, "{read:?}");
    assert_eq!(read, [Effect::Show(Screen::Measuring { attempt: 1 })]);
    let done = step(&mut state, Event::Temperature(TempReading::Body(NORMAL)), now(1_450));
    assert!(done.iter().any(|e| matches!(e, Effect::OpenGate { .. })), "{done:?}");
}

#[test]
fn garbage_text_is_denied_as_not_a_pass() {
    let mut state = GateState::new(Policy::default(), fresh_lists(), HashMap::new());
    for text in ["https://example.com", "", "SM1:", "SM1:%%%%", "SM1:ZZZZZZ"] {
        let effects = step(&mut state, Event::PassRead { text: text.into(), direction: None }, now(1_000));
        let Some(Effect::Record(d)) = effects.first() else { panic!("{text:?}: no record") };
        assert_eq!((d.decision, d.reason.as_str()), (Deny, "not_a_pass"), "{text:?}");
        assert!(!effects.iter().any(|e| matches!(e, Effect::OpenGate { .. })));
        step(&mut state, Event::Tick, now(60_000));
    }
}

#[test]
fn welcome_shows_the_unit_and_temperature() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Read(1), Temp(3655)]);
    let Some(Screen::Result(view)) = out.screens.last() else { panic!("{:?}", out.screens) };
    assert_eq!(view.unit.as_deref(), Some("3-502"));
    assert_eq!(view.temperature_centi, Some(3655));
    assert_eq!(view.lists_age_s, None);
    assert_eq!(out.drafts[0].temperature, Some(TempRecord::Centi(3655)));
    assert_eq!(out.drafts[0].pass_id, Some(id(1)));
}

#[test]
fn first_fever_asks_to_remeasure() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Read(1), Temp(3790)]);
    assert!(out.records.is_empty());
    assert_eq!(out.screens.last(), Some(&Screen::Remeasure { centi: 3790 }));
}

#[test]
fn old_lists_warn_on_the_result_screen() {
    let mut lists = fresh_lists();
    lists.synced_at_ms = Some(T0 - 7 * 3_600_000);
    let out = run(Policy::default(), lists, &[], &[Read(1), Temp(NORMAL)]);
    let Some(Screen::Result(view)) = out.screens.last() else { panic!() };
    assert!(view.lists_age_s.is_some_and(|age| age >= 7 * 3600), "{view:?}");
}

#[test]
fn fever_only_recording_keeps_no_value() {
    let policy = Policy { record_temperature: TemperatureRecording::FeverOnly, ..Policy::default() };
    let out = run(policy, fresh_lists(), &[], &[Read(1), Temp(3650), Wait(5_000), Read(7), Temp(3900), Temp(3900)]);
    let temps: Vec<_> = out.drafts.iter().map(|d| d.temperature).collect();
    assert_eq!(temps, [Some(TempRecord::Fever(false)), Some(TempRecord::Fever(true))]);
}

#[test]
fn manual_open_keeps_the_guards_reason() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Manual("  delivery truck  ")]);
    assert_eq!(out.drafts[0].note.as_deref(), Some("delivery truck"));
    assert_eq!(out.drafts[0].kind, shoumen_protocol::EntryKind::Manual);
}

#[test]
fn result_screen_returns_to_scan() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Read(1), Temp(NORMAL), Wait(5_000)]);
    assert_eq!(out.screens.last(), Some(&Screen::Scan { lists_age_s: None }));
}

#[test]
fn expired_pass_entry_keeps_the_authentic_pass_id() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Read(4)]);
    assert_eq!(out.drafts[0].pass_id, Some(id(4)));
    let out = run(Policy::default(), fresh_lists(), &[], &[Read(6)]);
    assert_eq!(out.drafts[0].pass_id, None, "an unverified id must not be trusted");
}

#[test]
fn temperature_without_a_pass_is_ignored() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Temp(NORMAL), Fault, Temp(FEVER)]);
    assert!(out.records.is_empty() && out.alarms.is_empty() && out.opens == 0);
}

#[test]
fn door_alarms_are_recorded_sound_and_reach_the_console_without_opening() {
    let mut state = GateState::new(Policy::default(), fresh_lists(), HashMap::new());
    let effects = step(&mut state, Event::Door(DoorAlarm::ForcedOpen), now(1_000));
    let [Effect::Record(d), Effect::Alarm(Alarm::Door(DoorAlarm::ForcedOpen)), Effect::Sound(Sound::Alarm)] =
        effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (d.kind, d.decision, d.reason.as_str()),
        (shoumen_protocol::EntryKind::Alarm, Guard, "door_forced_open")
    );
}

#[test]
fn the_fever_screen_says_what_happens_next() {
    let out = run(Policy::default(), fresh_lists(), &[], &[Read(1), Temp(FEVER), Temp(FEVER)]);
    let Some(Screen::Result(view)) = out.screens.iter().rev().find(|s| matches!(s, Screen::Result(_))) else {
        panic!()
    };
    assert_eq!((view.reason.as_str(), view.remeasure_after_min), ("fever", Some(5)));
}

#[test]
fn presence_from_other_gates_merges_by_time() {
    let mut state = GateState::new(
        Policy { anti_passback: AntiPassback::Strict, ..Policy::default() },
        fresh_lists(),
        HashMap::new(),
    );
    let at = |ms: i64, direction| Presence { direction, at_ms: T0 + ms };
    // Our own in, then the south gate's out is newer: in again is fine.
    state.presence.insert(id(1), at(0, Direction::In));
    step(
        &mut state,
        Event::Synced { at_ms: T0 + 5_000, presence: vec![(id(1), at(3_000, Direction::Out))] },
        now(5_000),
    );
    assert_eq!(state.presence[&id(1)].direction, Direction::Out);
    // An older report arriving late changes nothing.
    step(
        &mut state,
        Event::Synced { at_ms: T0 + 6_000, presence: vec![(id(1), at(1_000, Direction::In))] },
        now(6_000),
    );
    assert_eq!(state.presence[&id(1)].direction, Direction::Out);
    assert_eq!(state.lists.synced_at_ms, Some(T0 + 6_000), "reaching the server counts as fresh contact");
}

#[test]
fn strict_says_when_it_has_fallen_back_to_timed() {
    let mut lists = fresh_lists();
    lists.synced_at_ms = Some(T0);
    let state =
        GateState::new(Policy { anti_passback: AntiPassback::Strict, ..Policy::default() }, lists, HashMap::new());
    assert_eq!(state.passback_mode(now(10 * MIN)), AntiPassback::Strict);
    assert_eq!(state.passback_mode(now(16 * MIN)), AntiPassback::Timed);
}

#[test]
fn a_gate_clock_far_ahead_does_not_lock_a_resident_out() {
    // Another gate's clock ran a day fast: its "in" is dated tomorrow.
    let mut state = GateState::new(Policy::default(), fresh_lists(), HashMap::new());
    state.presence.insert(id(1), Presence { direction: Direction::In, at_ms: T0 + 86_400_000 });
    let effects = step(&mut state, Event::PassRead { text: pass_text(1), direction: None }, now(1_000));
    assert_eq!(effects.last(), Some(&Effect::Show(Screen::Measuring { attempt: 1 })));
}

#[test]
fn a_both_kiosk_asks_which_way() {
    let policy = Policy { direction: GateDirection::Both, ..Policy::default() };
    let out = run(policy, fresh_lists(), &[], &[Read(1)]);
    assert_eq!(out.screens, [Screen::ChooseDirection]);
    assert!(out.records.is_empty());
}

#[test]
fn presence_while_measuring_asks_for_a_measurement() {
    let policy = Policy { measure_on_presence: false, ..Policy::default() };
    let mut state = GateState::new(policy, fresh_lists(), HashMap::new());
    assert!(step(&mut state, Event::Presence(true), now(1_000)).is_empty());
    step(&mut state, Event::PassRead { text: pass_text(1), direction: None }, now(1_100));
    assert_eq!(step(&mut state, Event::Presence(true), now(1_200)), [Effect::Measure]);
}

/// What one read decides, (decision, reason, the draft's time and flag),
/// with the kiosk unable to vouch for its clock: it reads `wall_ms`, and
/// knows only that the time is at least `floor_ms`.
fn read_uncertain(state: &mut GateState, n: u8, wall_ms: i64, floor_ms: i64, mono_ms: u64) -> Option<EntryDraft> {
    let now = Now { wall_ms, mono_ms, trust: TimeTrust::Uncertain, floor_ms };
    let effects = step(state, Event::PassRead { text: pass_text(n), direction: None }, now);
    assert_record_comes_first(&effects);
    effects.into_iter().find_map(|e| match e {
        Effect::Record(d) => Some(d),
        _ => None,
    })
}

#[test]
fn with_the_time_uncertain_only_what_the_floor_proves_is_refused_and_the_guard_decides_the_rest() {
    let policy = Policy { require_temperature: false, ..Policy::default() };
    let (minute, day, year) = (60_000, 86_400_000, 365 * 86_400_000);
    // (what, pass, the clock read, the floor, decision, reason)
    let rows: &[(&str, u8, i64, i64, Decision, &str)] = &[
        ("a valid pass, clock 10 min behind", 1, T0 - 10 * minute, T0 - 60 * minute, Allow, "ok"),
        (
            "valid a year, clock 5 years ahead: expired only by the clock",
            1,
            T0 + 5 * year,
            T0 - 60 * minute,
            Guard,
            "time_uncertain",
        ),
        ("valid from tomorrow, by a clock that may be behind", 5, T0, T0 - 60 * minute, Guard, "time_uncertain"),
        ("expired an hour ago, and the floor proves it", 4, T0, T0, Deny, "expired"),
        ("expired by a clock that may be ahead", 4, T0 + 5 * year, T0 - 2 * 60 * minute, Guard, "time_uncertain"),
        ("a phone's code made now, clock 10 min behind", 8, T0 - 10 * minute, T0 - 60 * minute, Allow, "ok"),
        ("a phone's code 40 s old: cannot be told from a fresh one", 9, T0 - 10 * minute, T0 - day, Allow, "ok"),
        ("a phone's code made before the floor", 9, T0, T0 + minute, Deny, "code_expired"),
        ("a phone pass as a picture", 10, T0, T0 - 60 * minute, Deny, "code_expired"),
        (
            "withdrawn, and expired only by the clock: still withdrawn",
            2,
            T0 + 5 * year,
            T0 - 60 * minute,
            Deny,
            "revoked",
        ),
    ];
    for &(what, n, wall, floor, decision, reason) in rows {
        let mut state = GateState::new(policy.clone(), fresh_lists(), HashMap::new());
        let d = read_uncertain(&mut state, n, wall.max(floor), floor, 1_000).expect(what);
        assert_eq!((d.decision, d.reason.as_str()), (decision, reason), "{what}");
        assert!(!d.clock_synced, "{what}: an entry on uncertain time is flagged");
        assert!(d.wall_ms >= floor, "{what}: dated below the floor");
    }
    // A code is taken once while the time is uncertain: the same code again,
    // or an older one of the same pass, is a copy.
    let mut state = GateState::new(policy, fresh_lists(), HashMap::new());
    let (wall, floor) = (T0 - 10 * minute, T0 - 60 * minute);
    assert_eq!(read_uncertain(&mut state, 8, wall, floor, 1_000).unwrap().reason, Reason::Ok);
    let again = read_uncertain(&mut state, 8, wall, floor, 60_000).unwrap();
    assert_eq!((again.decision, again.reason), (Deny, Reason::CodeExpired));
    let older = read_uncertain(&mut state, 13, wall, floor, 120_000).unwrap();
    assert_eq!(older.reason, Reason::CodeExpired, "an older code of a pass already seen");
}

/// A volunteer's duty pass (issue 32), a phone pass of role duty: its
/// code, made `at_s`.
fn duty_code(n: u8, at_s: i64) -> String {
    let holder = ed25519_dalek::SigningKey::from_bytes(&[n; 32]);
    let duty = PassClaims {
        role: Role::Duty,
        unit: "volunteer 3".into(),
        flags: PassFlags(PassFlags::PHONE),
        holder: Some(HolderKey::Ed25519(holder.verifying_key().to_bytes())),
        ..claims(n)
    };
    holder::make_code_ed25519(&text(&duty), at_s, &holder).unwrap()
}

/// A duty pass signs its holder in, then out, at an offline kiosk: each a
/// chained entry of kind duty that opens nothing; the camera seeing the
/// phone again a moment later undoes nothing; a photo of the code, or a
/// withdrawn duty pass, is refused as any phone pass is; who is on duty
/// is rebuilt from the log after a restart.
#[test]
fn a_duty_pass_signs_in_and_out_and_opens_nothing() {
    let mut lists = fresh_lists();
    offline_20_min(&mut lists);
    lists.revocations = Some(list(ListKind::Revocations, &[id(2), id(31)]));
    let policy = Policy { on_stale_lists: FallbackPolicy::CallGuard, ..Policy::default() };
    let mut state = GateState::new(policy, lists, HashMap::new());
    let mut read = |text: String, mono_ms: u64| {
        let effects = step(&mut state, Event::PassRead { text, direction: None }, now(mono_ms));
        assert_record_comes_first(&effects);
        assert!(!effects.iter().any(|e| matches!(e, Effect::OpenGate { .. })), "a duty pass opened the gate");
        let drafts: Vec<EntryDraft> =
            effects.iter().filter_map(|e| if let Effect::Record(d) = e { Some(d.clone()) } else { None }).collect();
        (drafts, effects)
    };
    let vector = testkit::VECTOR_NOW;
    let (signed_in, _) = read(duty_code(30, vector), 1_000);
    assert_eq!(signed_in.len(), 1);
    let d = &signed_in[0];
    assert_eq!((d.kind, d.decision, d.reason, d.role), (EntryKind::Duty, Allow, Reason::DutyStart, Some(Role::Duty)));
    assert_eq!(d.pass_id, Some(id(30)));
    // Still in front of the camera: a new code 20 s later records nothing.
    let (_, effects) = read(duty_code(30, vector + 20), 21_000);
    assert!(effects.is_empty(), "{effects:?}");
    // At the end of the shift: signed out.
    let (signed_out, _) = read(duty_code(30, vector + 4 * 3600), 4 * 3_600_000);
    assert_eq!(signed_out.iter().map(|d| d.reason).collect::<Vec<_>>(), [Reason::DutyEnd]);
    // A photo of a code, and a withdrawn duty pass.
    let (photo, _) = read(duty_code(30, vector + 4 * 3600 - 40), 4 * 3_600_000 + 90_000);
    assert_eq!(photo.iter().map(|d| (d.kind, d.reason)).collect::<Vec<_>>(), [(EntryKind::Scan, Reason::CodeExpired)]);
    let (withdrawn, _) = read(duty_code(31, vector + 4 * 3600 + 100), 4 * 3_600_000 + 100_000);
    assert_eq!(withdrawn.iter().map(|d| d.reason).collect::<Vec<_>>(), [Reason::Revoked]);
    assert!(state.on_duty.is_empty());

    // After a restart, from the log: 30 signed in and out, 32 still on
    // duty, 33 signed in a day ago and never out (forgotten).
    let mut state = GateState::new(Policy::default(), fresh_lists(), HashMap::new());
    state.on_duty_from(
        [
            (id(33), true, T0 - 86_400_000),
            (id(30), true, T0 - 3_600_000),
            (id(32), true, T0 - 1_800_000),
            (id(30), false, T0 - 60_000),
        ],
        T0,
    );
    assert_eq!(state.on_duty.keys().collect::<Vec<_>>(), [&id(32)]);
    assert_eq!(state.on_duty[&id(32)], OnDuty { since_ms: T0 - 1_800_000 });
}

/// The console opened with a duty pass records who did what on it: the
/// opening (signing its holder in first), a manual opening, an alarm
/// acknowledged, a setting changed. The PIN is nobody's pass; a console no
/// longer waiting lets the same pass sign out as usual.
#[test]
fn a_duty_pass_opens_the_console_and_names_who_opened_the_gate() {
    let mut lists = fresh_lists();
    offline_20_min(&mut lists);
    let mut state = GateState::new(Policy::default(), lists, HashMap::new());
    let vector = testkit::VECTOR_NOW;
    let drafts = |state: &mut GateState, event: Event, mono_ms: u64| {
        let effects = step(state, event, now(mono_ms));
        assert_record_comes_first(&effects);
        let opened = effects.iter().filter(|e| matches!(e, Effect::OpenGate { .. })).count();
        let shown: Vec<Screen> =
            effects.iter().filter_map(|e| if let Effect::Show(s) = e { Some(s.clone()) } else { None }).collect();
        let d: Vec<(EntryKind, Reason, Option<PassId>, Option<String>)> = effects
            .iter()
            .filter_map(|e| {
                if let Effect::Record(d) = e {
                    Some((d.kind, d.reason, d.pass_id, d.note.clone()))
                } else {
                    None
                }
            })
            .collect();
        (d, opened, shown)
    };
    let read = |n: u8, at_s: i64| Event::PassRead { text: duty_code(n, at_s), direction: None };

    // Someone else's duty code photographed: refused, and the console stays shut.
    step(&mut state, Event::ConsoleWaiting, now(1_000));
    let (d, _, _) = drafts(&mut state, read(30, vector - 60), 1_500);
    assert_eq!(d.iter().map(|d| d.1).collect::<Vec<_>>(), [Reason::CodeExpired]);
    assert_eq!(state.console.by, None);

    // The volunteer's own phone on the waiting console: signed in, console opened.
    step(&mut state, Event::Tick, now(20_000));
    step(&mut state, Event::ConsoleWaiting, now(20_000));
    let (d, opened, shown) = drafts(&mut state, read(30, vector + 20), 20_500);
    assert_eq!(opened, 0);
    assert_eq!(
        d.iter().map(|d| (d.0, d.1, d.2)).collect::<Vec<_>>(),
        [(EntryKind::Duty, Reason::DutyStart, Some(id(30))), (EntryKind::Duty, Reason::ConsoleOpened, Some(id(30)))]
    );
    assert_eq!(shown, [Screen::ConsoleOpen { by: id(30) }]);
    assert!(state.on_duty.contains_key(&id(30)));

    // What they do on it carries their pass.
    let (d, opened, _) = drafts(&mut state, Event::ManualOpen { reason: "ambulance".into() }, 30_000);
    assert_eq!((opened, d[0].1, d[0].2, d[0].3.as_deref()), (1, Reason::ManualOpen, Some(id(30)), Some("ambulance")));
    let (d, ..) = drafts(&mut state, Event::AlarmAcknowledged { alarm: "door_held_open".into() }, 40_000);
    assert_eq!((d[0].0, d[0].1, d[0].2), (EntryKind::Duty, Reason::AlarmAcknowledged, Some(id(30))));
    let (d, ..) = drafts(&mut state, Event::SettingChanged { setting: "calibration +0.20".into() }, 41_000);
    assert_eq!((d[0].1, d[0].2, d[0].3.as_deref()), (Reason::SettingChanged, Some(id(30)), Some("calibration +0.20")));

    // Locked, then opened with the PIN: nobody's pass on what follows.
    step(&mut state, Event::ConsoleLocked, now(50_000));
    let (d, ..) = drafts(&mut state, Event::ConsoleOpenedByPin, 51_000);
    assert_eq!((d[0].1, d[0].2, d[0].3.as_deref()), (Reason::ConsoleOpened, None, Some("pin")));
    let (d, ..) = drafts(&mut state, Event::ManualOpen { reason: "delivery".into() }, 52_000);
    assert_eq!((d[0].1, d[0].2), (Reason::ManualOpen, None));
    step(&mut state, Event::ConsoleLocked, now(60_000));

    // The console stopped waiting (left without a word): the pass signs out.
    step(&mut state, Event::ConsoleWaiting, now(100_000));
    let (d, _, shown) = drafts(&mut state, read(30, vector + 100), 100_000 + CONSOLE_WAITING_MS + 1);
    assert_eq!(d.iter().map(|d| d.1).collect::<Vec<_>>(), [Reason::DutyEnd]);
    assert!(matches!(shown[..], [Screen::Result(_)]));
    assert_eq!(state.console.by, None);
}
