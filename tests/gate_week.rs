//! A week at a compound with the default configuration: two "in" kiosks
//! (north and south) and an exit button at each, 50 residents going out by
//! the button once or twice a day and coming back through either kiosk.
//! Presence travels between the kiosks the way sync carries it: through the
//! server, a little later.
//!
//! With timed anti-passback (the default) nobody is ever refused for
//! passback, and a pass handed back over the fence within two minutes is.

use std::collections::HashMap;

use shoumen::gate::{step, AntiPassback, Effect, Event, GateState, Lists, Now, Policy, Presence, TempReading};
use shoumen_protocol::{
    pass, Decision, ListKind, ListSnapshot, PassClaims, PassFlags, PassId, Role, TrustList, TrustedKey,
};

const T0_MS: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// How long an entry takes to reach the other kiosk through the server.
const SYNC_DELAY: i64 = 30_000;

struct Kiosk {
    state: GateState,
    /// Presence this kiosk has made, waiting to reach the other one.
    outbox: Vec<(i64, PassId, Presence)>,
    refusals: Vec<(&'static str, PassId)>,
    opened: u32,
}

struct Compound {
    kiosks: [Kiosk; 2],
    passes: Vec<(PassId, String)>,
}

fn key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[7; 32])
}

fn lists(synced_at_ms: i64) -> Lists {
    let list = |kind| ListSnapshot {
        kind,
        version: 1,
        issued_at: T0_MS / 1000,
        expires_at: T0_MS / 1000 + 30 * 86_400,
        items: vec![],
    };
    Lists {
        trust: TrustList::new(vec![TrustedKey { issuer: "lotus-gdn".into(), key: key().verifying_key() }]),
        revocations: Some(list(ListKind::Revocations)),
        quarantine: Some(list(ListKind::Quarantine)),
        unconfirmed: None,
        synced_at_ms: Some(synced_at_ms),
    }
}

impl Compound {
    fn new(anti_passback: AntiPassback) -> Compound {
        let passes = (0..50u32)
            .map(|i| {
                let claims = PassClaims {
                    issuer: "lotus-gdn".into(),
                    pass_id: PassId([i as u8, 0, 0, 0, 0, 0, 0, 1]),
                    issued_at: T0_MS / 1000 - 86_400,
                    not_before: T0_MS / 1000 - 86_400,
                    expires_at: T0_MS / 1000 + 365 * 86_400,
                    role: Role::Resident,
                    unit: format!("{}-{}", 1 + i / 10, 101 + i % 10),
                    flags: PassFlags::default(),
                    holder: None,
                };
                (claims.pass_id, pass::issue(&claims, &key()).unwrap())
            })
            .collect();
        let kiosk = || Kiosk {
            state: GateState::new(Policy { anti_passback, ..Policy::default() }, lists(T0_MS), HashMap::new()),
            outbox: Vec::new(),
            refusals: Vec::new(),
            opened: 0,
        };
        Compound { kiosks: [kiosk(), kiosk()], passes }
    }

    fn now(t: i64) -> Now {
        Now::vouched(t, (t - T0_MS) as u64 + 1_000)
    }

    /// Delivers what each kiosk let through to the other once the sync
    /// delay has passed, and a sync round to both (they stay online).
    fn sync(&mut self, t: i64) {
        for from in 0..2 {
            let due: Vec<_> = self.kiosks[from]
                .outbox
                .iter()
                .filter(|(at, ..)| *at + SYNC_DELAY <= t)
                .map(|(_, id, p)| (*id, *p))
                .collect();
            self.kiosks[from].outbox.retain(|(at, ..)| *at + SYNC_DELAY > t);
            step(&mut self.kiosks[1 - from].state, Event::Synced { at_ms: t, presence: due }, Self::now(t));
        }
        step(&mut self.kiosks[0].state, Event::Tick, Self::now(t));
        step(&mut self.kiosks[1].state, Event::Tick, Self::now(t));
    }

    fn feed(&mut self, gate: usize, event: Event, t: i64) {
        let effects = step(&mut self.kiosks[gate].state, event, Self::now(t));
        for e in effects {
            match e {
                Effect::Record(d) if d.decision == Decision::Allow => {
                    if let Some(id) = d.pass_id {
                        self.kiosks[gate].outbox.push((t, id, Presence { direction: d.direction, at_ms: d.wall_ms }));
                    }
                }
                Effect::Record(d) => {
                    self.kiosks[gate].refusals.push((d.reason.as_str(), d.pass_id.unwrap_or(PassId([0; 8]))))
                }
                Effect::OpenGate { .. } => self.kiosks[gate].opened += 1,
                _ => {}
            }
        }
    }

    /// A resident shows their pass at a kiosk and has a normal temperature.
    fn scan_in(&mut self, gate: usize, resident: usize, t: i64) {
        self.sync(t);
        let text = self.passes[resident].1.clone();
        self.feed(gate, Event::PassRead { text, direction: None }, t);
        self.feed(gate, Event::Temperature(TempReading::Body(3650)), t + 500);
        // The result screen ends before the next person.
        self.sync(t + 6_000);
    }

    fn exit_button(&mut self, gate: usize, t: i64) {
        self.sync(t);
        self.feed(gate, Event::ExitButton, t);
        self.sync(t + 6_000);
    }

    fn passback_refusals(&self) -> usize {
        self.kiosks.iter().map(|k| k.refusals.iter().filter(|(r, _)| *r == "passback").count()).sum()
    }
}

/// A seeded little generator, so the week is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Everyone comes home on day 0; then for seven days each resident goes
/// out by an exit button once or twice and comes back through either kiosk.
fn play_week(c: &mut Compound) {
    let mut rng = Rng(42);
    let mut trips: Vec<(i64, usize, bool, usize)> = Vec::new(); // (time, resident, going out?, gate)
    for r in 0..c.passes.len() {
        trips.push((T0_MS + r as i64 * MIN, r, false, r % 2));
        for day in 1..=7 {
            let outings = 1 + rng.next(2);
            let mut t = T0_MS + day * DAY + 7 * HOUR + rng.next(60) as i64 * MIN;
            for _ in 0..outings {
                trips.push((t, r, true, rng.next(2) as usize));
                t += 30 * MIN + rng.next(5 * 60) as i64 * MIN;
                trips.push((t, r, false, rng.next(2) as usize));
                t += HOUR + rng.next(60) as i64 * MIN;
            }
        }
    }
    trips.sort();
    for (t, r, out, gate) in trips {
        if out {
            c.exit_button(gate, t);
        } else {
            c.scan_in(gate, r, t);
        }
    }
}

#[test]
fn a_week_with_the_default_config_refuses_no_resident_for_passback() {
    let mut c = Compound::new(Policy::default().anti_passback);
    play_week(&mut c);
    let entries: u32 = c.kiosks.iter().map(|k| k.opened).sum();
    println!(
        "a week at two in-kiosks: {entries} openings, refusals {:?}",
        c.kiosks.iter().map(|k| k.refusals.len()).collect::<Vec<_>>()
    );
    assert!(entries > 50 * 7 * 2, "the week played out ({entries} openings)");
    assert_eq!(c.passback_refusals(), 0, "a resident was refused for passback");
    assert!(
        c.kiosks.iter().all(|k| k.refusals.is_empty()),
        "{:?}",
        c.kiosks.iter().map(|k| &k.refusals).collect::<Vec<_>>()
    );
}

#[test]
fn strict_at_gates_with_exit_buttons_would_lock_residents_out() {
    // Why timed is the default: strict needs every exit to have a reader.
    let mut c = Compound::new(AntiPassback::Strict);
    play_week(&mut c);
    assert!(c.passback_refusals() > 300, "strict refused only {}", c.passback_refusals());
}

#[test]
fn a_pass_handed_back_over_the_fence_is_refused_at_either_kiosk() {
    let mut c = Compound::new(Policy::default().anti_passback);
    let t = T0_MS + HOUR;
    c.scan_in(0, 7, t);
    // Handed back through the fence: a second person uses it at the south
    // gate, once the sync has carried the entry there.
    c.scan_in(1, 7, t + 45_000);
    // And once more at the north gate.
    c.scan_in(0, 7, t + 90_000);
    let id = c.passes[7].0;
    assert_eq!(c.kiosks[1].refusals, [("passback", id)]);
    assert_eq!(c.kiosks[0].refusals, [("passback", id)]);
    // After the window it is the resident's own pass again.
    c.scan_in(1, 7, t + 3 * MIN);
    assert_eq!(c.passback_refusals(), 2);
    assert_eq!(c.kiosks[0].opened + c.kiosks[1].opened, 2);
}
