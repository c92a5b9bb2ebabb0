//! The gate's daily life against a real server: presence shared between
//! gates for strict anti-passback, quarantine exits refused and alerted,
//! every alarm kind turned into an alert and a webhook message, and a
//! kiosk that goes silent.

mod common;

use common::*;
use shoumen_gate::{step, AntiPassback, DoorAlarm, Effect, Event, GateDirection, GateState, Now, Policy, TempReading};
use shoumen_protocol::{Decision, Direction, Role};
use shoumen_server::db::now_ms;
use shoumen_server::records::community::{self, PassRequest};
use shoumen_server::webhook::{self, Webhook};

/// A kiosk with its gate core, enrolled with the test server.
struct Gate {
    k: Kiosk,
    state: GateState,
    /// Milliseconds added to the real clock: time passing in the test.
    offset_ms: i64,
}

impl Gate {
    fn new(dir: &std::path::Path, name: &str, server: &TestServer, policy: Policy) -> Gate {
        let mut k = Kiosk::new(dir, name);
        k.enroll(&server.url(), &server.token(name));
        k.sync().unwrap();
        let state = GateState::new(policy, k.store.lists().unwrap(), k.store.presence().unwrap());
        Gate { k, state, offset_ms: 0 }
    }

    fn now(&self) -> Now {
        let real = self.k.clock.now();
        Now { wall_ms: real.wall_ms + self.offset_ms, mono_ms: real.mono_ms + self.offset_ms as u64, ..real }
    }

    /// Steps the core and commits what it records, as the executor does;
    /// returns (decision, reason) of each entry.
    fn feed(&mut self, event: Event) -> Vec<(Decision, String)> {
        let now = self.now();
        let mut out = Vec::new();
        for e in step(&mut self.state, event, now) {
            if let Effect::Record(d) = e {
                out.push((d.decision, d.reason.to_string()));
                self.k.store.append(&d).unwrap();
            }
        }
        out
    }

    /// Shows a pass (and a normal temperature if asked for).
    fn show(&mut self, text: &str) -> Vec<(Decision, String)> {
        let mut out = self.feed(Event::PassRead { text: text.into(), direction: None });
        if self.state.is_measuring() {
            out.extend(self.feed(Event::Temperature(TempReading::Body(3650))));
        }
        // The next person: the result screen ends.
        self.offset_ms += 6_000;
        self.feed(Event::Tick);
        out
    }

    /// A sync round, its news given to the core as the sync thread does.
    fn sync(&mut self) -> Result<(), shoumen_client::sync::SyncError> {
        let report = self.k.sync()?;
        if report.lists_updated {
            self.state.lists = self.k.store.lists().unwrap();
        }
        let now = self.now();
        step(&mut self.state, Event::Synced { at_ms: report.reached_ms, presence: report.presence }, now);
        Ok(())
    }
}

fn issue(server: &TestServer, unit: &str) -> String {
    let community = server.db.call_blocking(|c| shoumen_server::db::community(c, COMMUNITY)).unwrap();
    let req = PassRequest {
        role: Role::Resident,
        unit: unit.into(),
        resident_id: None,
        valid_from: now_ms() / 1000 - 60,
        valid_s: 86_400 * 30,
        flags: 0,
        visitor_name: None,
        gate: None,
    };
    server.db.call_blocking(|c| Ok(community::issue_pass(c, &community, &req))).unwrap().unwrap().text
}

fn policy(direction: GateDirection, anti_passback: AntiPassback) -> Policy {
    Policy { direction, anti_passback, ..Policy::default() }
}

fn allowed(r: &[(Decision, String)]) -> bool {
    r.first().is_some_and(|(d, _)| *d == Decision::Allow)
}

#[test]
fn strict_presence_crosses_gates_through_the_server_and_falls_back_when_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let pass = issue(&server, "3-502");
    let mut north = Gate::new(dir.path(), "north", &server, policy(GateDirection::In, AntiPassback::Strict));
    let mut south = Gate::new(dir.path(), "south", &server, policy(GateDirection::Out, AntiPassback::Strict));

    assert!(allowed(&north.show(&pass)), "in at the north gate");
    north.sync().unwrap();
    south.sync().unwrap();
    assert!(allowed(&south.show(&pass)), "out at the south gate");
    south.sync().unwrap();
    north.sync().unwrap();
    assert!(allowed(&north.show(&pass)), "in again: the south gate's out reached the north gate");
    // In twice in a row is what strict refuses, even past the timed window.
    north.offset_ms += 11 * 60_000;
    north.sync().unwrap();
    assert_eq!(north.show(&pass), [(Decision::Deny, "passback".to_string())]);

    // The server goes away for an hour: both kiosks fall back to timed and say so.
    drop(server);
    for gate in [&mut north, &mut south] {
        assert!(gate.sync().is_err());
        gate.offset_ms += 60 * 60_000;
        assert_eq!(gate.state.passback_mode(gate.now()), AntiPassback::Timed);
    }
    assert!(allowed(&north.show(&pass)), "timed: the last in was over ten minutes ago");
}

#[test]
fn a_quarantine_exit_is_refused_and_alerted_on_the_page_and_to_the_wecom_group() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let receiver = Receiver::start(0);
    let hook = Webhook::new(&receiver.url, "wecom", "").unwrap();
    server.db.call_blocking(|c| webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let pass = issue(&server, "5-1201");
    server
        .db
        .call_blocking(|c| {
            Ok(community::add_quarantine(
                c,
                COMMUNITY,
                "5-1201",
                now_ms() / 1000 - 3600,
                now_ms() / 1000 + 86_400,
                "",
                now_ms(),
            ))
        })
        .unwrap()
        .unwrap();

    // Every layout with an out reader refuses it.
    let layouts: [(&str, Policy, Event); 3] = [
        (
            "out-kiosk",
            policy(GateDirection::Out, AntiPassback::Timed),
            Event::PassRead { text: pass.clone(), direction: None },
        ),
        ("both-buttons", policy(GateDirection::Both, AntiPassback::Timed), Event::ChooseDirection(Direction::Out)),
        (
            "both-inward",
            policy(GateDirection::Both, AntiPassback::Timed),
            Event::PassRead { text: pass.clone(), direction: Some(Direction::Out) },
        ),
    ];
    let mut gates = Vec::new();
    for (name, policy, event) in layouts {
        let mut gate = Gate::new(dir.path(), name, &server, policy);
        if matches!(event, Event::ChooseDirection(_)) {
            assert!(
                gate.feed(Event::PassRead { text: pass.clone(), direction: None }).is_empty(),
                "{name}: waits for 进门/出门"
            );
        }
        assert_eq!(gate.feed(event), [(Decision::Deny, "quarantine_no_exit".to_string())], "{name}");
        gate.sync().unwrap();
        gates.push(gate);
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'quarantine_exit'"), 3);
    // The same pass refused twice more in seconds at the out kiosk is the
    // same alert counted, not two more to acknowledge.
    for _ in 0..2 {
        gates[0].offset_ms += 6_000;
        gates[0].feed(Event::Tick);
        let again = gates[0].feed(Event::PassRead { text: pass.clone(), direction: None });
        assert_eq!(again[0], (Decision::Deny, "quarantine_no_exit".to_string()), "(then maybe its own alarm)");
    }
    gates[0].sync().unwrap();
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'quarantine_exit'"), 3);
    assert_eq!(server.count("SELECT MAX(count) FROM alerts WHERE kind = 'quarantine_exit'"), 3);
    let body = receiver.wait_for("隔离人员试图外出").expect("the WeCom group heard of it");
    let msg: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(msg["msgtype"], "text");
    assert!(msg["text"]["content"].as_str().unwrap().contains("门岗"), "{body}");
    assert!(body.contains("居家隔离中的 5-1201 住户试图外出"), "the message names the unit: {body}");

    let (b, _) = login(&server);
    let (_, page) = get(&b, &format!("{}/alerts", server.url()));
    assert!(page.contains("alert-quarantine_exit") && page.contains("Quarantined resident tried to go out"));
    assert!(page.contains("Unit 5-1201 is under home quarantine and tried to go out"), "{page}");
    assert!(!page.contains("seq "), "no sequence numbers: {page}");
    // Three gates, and the out kiosk's own alarm at the third refusal.
    assert!(page.contains("class=\"badge\">4<"), "the navigation counts open alerts");
}

/// Each alarm the gate raises reaches the server as an alert of its kind,
/// and the webhook as a message.
fn alarm_reaches_the_committee(kind: &str, raise: impl FnOnce(&mut Gate, &str)) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let receiver = Receiver::start(1);
    let hook = Webhook::new(&receiver.url, "json", "").unwrap();
    server.db.call_blocking(|c| webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let pass = issue(&server, "2-101");
    let mut gate = Gate::new(dir.path(), "east", &server, Policy::default());
    raise(&mut gate, &pass);
    gate.sync().unwrap();
    assert_eq!(server.count(&format!("SELECT COUNT(*) FROM alerts WHERE kind = '{kind}'")), 1, "{kind}");
    let body =
        receiver.wait_for(&format!("\"kind\":\"{kind}\"")).unwrap_or_else(|| panic!("no webhook message for {kind}"));
    assert!(body.contains("\"gate\":\"east\""), "{body}");
}

#[test]
fn a_door_forced_open_alerts_the_committee() {
    alarm_reaches_the_committee("door_forced_open", |g, _| {
        g.feed(Event::Door(DoorAlarm::ForcedOpen));
    });
}

#[test]
fn a_door_held_open_alerts_the_committee() {
    alarm_reaches_the_committee("door_held_open", |g, _| {
        g.feed(Event::Door(DoorAlarm::HeldOpen));
    });
}

#[test]
fn a_pass_refused_again_and_again_alerts_the_committee() {
    alarm_reaches_the_committee("repeated_refusals", |g, pass| {
        assert!(allowed(&g.show(pass)));
        for _ in 0..3 {
            g.offset_ms += 30_000;
            assert_eq!(g.show(pass)[0].1, "passback");
        }
    });
}

#[test]
fn a_lasting_device_fault_alerts_the_committee() {
    alarm_reaches_the_committee("device_fault", |g, _| {
        g.feed(Event::DeviceHealth { device: "thermometer", fault: Some("I2C NACK at 0x5a: check the wiring".into()) });
        g.offset_ms += 61_000;
        assert_eq!(g.feed(Event::Tick), [(Decision::Guard, "device_fault".to_string())]);
    });
}

#[test]
fn lists_past_their_age_limit_alert_the_committee() {
    alarm_reaches_the_committee("lists_too_old", |g, _| {
        g.offset_ms += 73 * 3_600_000;
        assert_eq!(g.feed(Event::Tick), [(Decision::Guard, "lists_too_old".to_string())]);
    });
}

#[test]
fn a_silent_kiosk_is_the_servers_own_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.silent_check_every = std::time::Duration::from_millis(100));
    let receiver = Receiver::start(0);
    let hook = Webhook::new(&receiver.url, "dingtalk", "SECtest").unwrap();
    server.db.call_blocking(|c| webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let gate = Gate::new(dir.path(), "west", &server, Policy::default());
    let device = gate.k.store.device_id().to_string();
    // Its last heartbeat was eleven minutes ago.
    let eleven = now_ms() - 11 * 60_000;
    server
        .db
        .call_blocking(move |c| {
            c.execute("UPDATE devices SET last_seen_ms = ?1 WHERE id = ?2", shoumen_server::vals![eleven, device])
        })
        .unwrap();
    let body = receiver.wait_for("门岗设备超过10分钟未联网").expect("the DingTalk group heard of it");
    assert!(body.contains("\"msgtype\":\"text\""));
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'kiosk_silent'"), 1, "once per silence");
}

#[test]
fn the_gates_page_marks_a_gate_whose_exit_is_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    for (name, direction) in [("front", GateDirection::In), ("back", GateDirection::Out)] {
        let mut gate = Gate::new(dir.path(), name, &server, policy(direction, AntiPassback::Timed));
        let layout = shoumen_protocol::sync::GateLayout { direction: direction.as_str().into(), inward_camera: false };
        gate.k.store.set_layout(&layout).unwrap();
        gate.sync().unwrap();
    }
    let (b, _) = login(&server);
    let (_, page) = get(&b, &format!("{}/gates", server.url()));
    assert_eq!(page.matches("exit-not-checked").count(), 1, "only the in-only gate");
}

#[test]
fn the_visitor_form_refuses_a_unit_under_home_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    issue(&server, "5-1201");
    server
        .db
        .call_blocking(|c| {
            Ok(community::add_quarantine(
                c,
                COMMUNITY,
                "5-1201",
                now_ms() / 1000 - 60,
                now_ms() / 1000 + 86_400,
                "",
                now_ms(),
            ))
        })
        .unwrap()
        .unwrap();
    let gate = Gate::new(dir.path(), "north", &server, Policy::default());
    let url = format!("{}/v/{}", server.url(), gate.k.store.device_id());
    let b = browser();
    let (_, form) = get(&b, &url);
    let (status, body, _) = post(&b, &url, &[("unit", "5-1201"), ("name", "Li"), ("csrf", &csrf(&form))]);
    assert_eq!(status, 400);
    assert!(body.contains("居家隔离"), "{body}");
    assert_eq!(server.count("SELECT COUNT(*) FROM passes WHERE role = 'visitor'"), 0);
}

#[test]
fn an_acknowledged_alert_keeps_who_and_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut gate = Gate::new(dir.path(), "north", &server, Policy::default());
    gate.feed(Event::Door(DoorAlarm::ForcedOpen));
    gate.sync().unwrap();
    let (b, csrf_token) = login(&server);
    let id = server.count("SELECT id FROM alerts WHERE kind = 'door_forced_open'");
    let (status, _, _) = post(
        &b,
        &format!("{}/alerts/{id}/ack", server.url()),
        &[("note", "guard checked: wind"), ("csrf", &csrf_token)],
    );
    assert_eq!(status, 303);
    let (_, page) = get(&b, &format!("{}/alerts", server.url()));
    assert!(page.contains("guard checked: wind") && page.contains(ADMIN), "{page}");
    assert!(!page.contains("class=\"badge\""), "nothing open any more");
}
