//! UI tests with Slint's testing backend: the real window, adapters and
//! controller, the real gate core and store; buttons are pressed by their
//! accessible labels. The camera and thermometer threads are replaced by the
//! test, which plays their part synchronously.

use std::sync::mpsc::{self, Receiver};
use std::sync::Once;

use i_slint_backend_testing::ElementHandle;
use shoumen::app::Executor;
use shoumen::demo::DemoCommunity;
use shoumen::gate::{step, Event, GateState, Now, Policy, Sound, TempReading};
use shoumen::hw::sim::World;
use shoumen::hw::{GateRelay, HwError, Indicator};
use shoumen::ports::{DemoControls, SensorRequest};
use shoumen::store::Store;
use shoumen::ui::pages::guard::{pin_hash, GuardConfig};
use shoumen::ui::pages::{self, Wiring};
use shoumen::ui::{AppState, AppWindow, GuardAdapter, Page, Poster, ResultAdapter, SlintView, Verdict};
use shoumen_protocol::{holder, pass, HolderKey, PassClaims, PassFlags, PassId, Role};
use slint::{ComponentHandle, Model};

#[derive(Default)]
struct Outputs {
    pulses: Vec<u32>,
}

impl GateRelay for Outputs {
    fn pulse(&mut self, ms: u32) -> Result<(), HwError> {
        self.pulses.push(ms);
        Ok(())
    }
    fn lock(&mut self) {}
}

impl Indicator for Outputs {
    fn signal(&mut self, _: Sound) {}
}

struct Kiosk {
    ui: AppWindow,
    _controller: pages::Controller,
    view: SlintView,
    state: GateState,
    store: Store,
    _dir: tempfile::TempDir,
    events: Receiver<Event>,
    sensor: Receiver<SensorRequest>,
    /// What the console asked of the core loop.
    commands: Receiver<shoumen::ports::Command>,
    world: World,
    relay: Outputs,
    clock_ms: u64,
    community: DemoCommunity,
}

impl Kiosk {
    fn new() -> Kiosk {
        Kiosk::with_policy(Policy::default())
    }

    fn with_policy(policy: Policy) -> Kiosk {
        // Slint's platform is per thread, and each test runs on its own.
        thread_local!(static INIT: Once = const { Once::new() });
        INIT.with(|once| once.call_once(i_slint_backend_testing::init_no_event_loop));
        let now = Now::vouched(1_790_000_000_000, 1_000);
        let community = DemoCommunity::generate(now.wall_s());
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("kiosk.db"), "ui-test").unwrap();
        community.install(&mut store, now.wall_ms).unwrap();
        let state = GateState::new(policy, store.lists().unwrap(), store.presence().unwrap());
        let (event_tx, events) = mpsc::channel();
        let (sensor_tx, sensor) = mpsc::channel();
        let (command_tx, commands) = mpsc::channel();
        let world = World::new();
        let ui = AppWindow::new().unwrap();
        let controller = pages::setup(
            &ui,
            &Wiring {
                events: event_tx,
                sensor: sensor_tx,
                commands: command_tx,
                demo: Some(std::rc::Rc::new(world.clone()) as std::rc::Rc<dyn DemoControls>),
                demo_passes: community.passes.iter().map(|p| (p.name.to_string(), p.text.clone())).collect(),
                guard: GuardConfig {
                    pin_sha256: Some(pin_hash("2580")),
                    lock_after: std::time::Duration::from_secs(60),
                    max_failures: 5,
                    block_for: std::time::Duration::from_secs(60),
                },
                gate_name: "East Gate".into(),
                direction: "in".into(),
                visitor_url: "https://example.org/visit".into(),
                committee_phone: "021-5555 0123".into(),
                language: "en".into(),
                clock: shoumen::clock::SystemClock::new(),
            },
        );
        Kiosk {
            ui,
            _controller: controller,
            view: SlintView::new(Poster::queue()),
            commands,
            state,
            store,
            _dir: dir,
            events,
            sensor,
            world,
            relay: Outputs::default(),
            clock_ms: 1_000,
            community,
        }
    }

    fn now(&self) -> Now {
        Now::vouched(1_790_000_000_000 + self.clock_ms as i64, self.clock_ms)
    }

    fn feed(&mut self, event: Event) {
        self.clock_ms += 100;
        let now = self.now();
        let effects = step(&mut self.state, event, now);
        let (measure, requests) = mpsc::channel();
        let mut outputs = Outputs::default();
        Executor {
            entries: &mut self.store,
            relay: &mut self.relay,
            indicator: &mut outputs,
            view: &mut self.view,
            measure: &measure,
            voice: None,
        }
        .apply(effects);
        // The thermometer thread's part: answer each request from the world.
        for _ in requests.try_iter() {
            let body = self.world.lock().body_centi;
            self.feed(Event::Temperature(TempReading::Body(body)));
        }
    }

    /// Runs what the UI asked of the core, then shows the result.
    fn settle(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.feed(event);
        }
        while let Ok(request) = self.sensor.try_recv() {
            assert!(matches!(request, SensorRequest::Calibrate { .. }));
        }
        self.view.poster.pump(&self.ui);
    }

    /// The camera thread's part: read whatever is held up to it.
    fn camera_sees(&mut self) {
        let shown = self.world.lock().shown.clone();
        self.feed(Event::PassRead { text: shown.expect("a pass is held up"), direction: None });
        self.view.poster.pump(&self.ui);
    }

    fn wait(&mut self, ms: u64) {
        self.clock_ms += ms;
        self.feed(Event::Tick);
        self.view.poster.pump(&self.ui);
    }

    fn press(&mut self, label: &str) {
        let button = ElementHandle::find_by_accessible_label(&self.ui, label)
            .next()
            .unwrap_or_else(|| panic!("no element labelled {label:?} on page {:?}", self.page()));
        button.invoke_accessible_default_action();
        self.settle();
    }

    fn has(&self, label: &str) -> bool {
        ElementHandle::find_by_accessible_label(&self.ui, label).next().is_some()
    }

    fn page(&self) -> Page {
        self.ui.global::<AppState>().get_page()
    }

    fn unlock(&mut self) {
        self.press("Guard");
        for d in ["2", "5", "8", "0"] {
            self.press(d);
        }
        self.press("Enter");
        assert!(self.ui.global::<GuardAdapter>().get_unlocked());
    }
}

#[test]
fn a_demo_pass_opens_the_gate_then_the_scan_page_returns() {
    let mut k = Kiosk::new();
    assert_eq!(k.page(), Page::Scan);
    k.press("Demo");
    k.press("Resident");
    k.camera_sees();
    assert_eq!(k.page(), Page::Result);
    let result = k.ui.global::<ResultAdapter>();
    assert_eq!(result.get_verdict(), Verdict::Allow);
    assert_eq!(result.get_unit(), "3-502");
    assert_eq!(k.relay.pulses, [3000], "the relay opened once");
    assert_eq!(k.store.head_seq().unwrap(), 1, "the entry was recorded");
    k.wait(5_000);
    assert_eq!(k.page(), Page::Scan);
}

#[test]
fn fever_is_refused_and_raises_an_alarm_in_the_guard_console() {
    let mut k = Kiosk::new();
    k.press("Demo");
    k.press("38.6");
    k.press("Resident");
    k.camera_sees();
    let result = k.ui.global::<ResultAdapter>();
    assert_eq!((result.get_verdict(), result.get_reason().as_str()), (Verdict::Guard, "fever"));
    assert_eq!(result.get_temperature(), "38.6 °C");
    assert!(k.relay.pulses.is_empty());
    k.wait(5_000);
    k.unlock();
    let alarms: Vec<_> = k.ui.global::<GuardAdapter>().get_alarms().iter().collect();
    assert_eq!(alarms.len(), 1);
    assert_eq!((alarms[0].kind.as_str(), alarms[0].detail.as_str()), ("fever", "38.6 °C"));
    k.press("Acknowledge");
    assert_eq!(k.ui.global::<GuardAdapter>().get_alarms().row_count(), 0);
}

#[test]
fn a_wrong_pin_is_refused_and_the_right_one_opens_the_console() {
    let mut k = Kiosk::new();
    k.press("Guard");
    assert_eq!(k.page(), Page::Guard);
    for d in ["1", "2", "3", "4"] {
        k.press(d);
    }
    k.press("Enter");
    assert!(!k.ui.global::<GuardAdapter>().get_unlocked());
    assert_eq!(k.ui.global::<GuardAdapter>().get_pin_error(), "wrong");
    assert!(k.has("Wrong PIN"));
    assert!(!k.has("Open the gate"));
    for d in ["2", "5", "8", "0"] {
        k.press(d);
    }
    k.press("Enter");
    assert!(k.ui.global::<GuardAdapter>().get_unlocked());
    assert!(k.has("Open the gate"));
}

#[test]
fn a_manual_open_with_a_reason_is_recorded() {
    let mut k = Kiosk::new();
    k.unlock();
    k.press("Ambulance");
    k.press("Open the gate");
    assert_eq!(k.relay.pulses, [3000]);
    let opened = k.store.entry(1).unwrap().expect("the console's opening is recorded");
    assert_eq!((opened.reason.as_str(), opened.pass_id, opened.note.as_deref()), ("console_opened", None, Some("pin")));
    let entry = k.store.entry(2).unwrap().expect("a recorded entry");
    assert_eq!((entry.reason.as_str(), entry.note.as_deref()), ("manual_open", Some("ambulance")));
    assert_eq!(entry.pass_id, None, "the PIN is nobody's");
    assert_eq!(k.page(), Page::Result);
}

/// A volunteer's duty pass, as their phone shows it at `at_s`.
fn duty_code(k: &Kiosk, holder: &ed25519_dalek::SigningKey, pass_id: PassId, at_s: i64) -> String {
    let claims = PassClaims {
        issuer: shoumen::demo::ISSUER.into(),
        pass_id,
        issued_at: at_s - 86_400,
        not_before: at_s - 86_400,
        expires_at: at_s + 90 * 86_400,
        role: Role::Duty,
        unit: String::new(),
        flags: PassFlags(PassFlags::PHONE),
        holder: Some(HolderKey::Ed25519(holder.verifying_key().to_bytes())),
    };
    let text = pass::issue(&claims, &k.community.key).unwrap();
    holder::make_code_ed25519(&text, at_s, holder).unwrap()
}

/// The console opened by a volunteer's own duty pass: it says whose, shows
/// who is on duty, and the manual opening and the alarm acknowledged on it
/// are recorded with that pass. A photo of the code opens nothing.
#[test]
fn a_duty_pass_opens_the_console_and_what_is_done_there_names_its_holder() {
    let mut k = Kiosk::new();
    let holder = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let pass_id = PassId([0x3f, 0x9a, 0x2c, 0x1b, 1, 2, 3, 4]);
    k.press("Guard");
    assert!(k.has("Scan your duty pass to open the console"));
    // A photo of the code taken a minute ago: refused, the console stays locked.
    let photo = duty_code(&k, &holder, pass_id, k.now().wall_s() - 60);
    k.feed(Event::PassRead { text: photo, direction: None });
    k.view.poster.pump(&k.ui);
    assert!(!k.ui.global::<GuardAdapter>().get_unlocked());
    assert_eq!(k.ui.global::<ResultAdapter>().get_reason(), "code_expired");
    k.wait(5_000);

    k.press("Guard");
    let live = duty_code(&k, &holder, pass_id, k.now().wall_s());
    k.feed(Event::PassRead { text: live, direction: None });
    k.view.poster.pump(&k.ui);
    let g = k.ui.global::<GuardAdapter>();
    assert!(g.get_unlocked(), "the duty pass opened the console");
    assert_eq!(k.page(), Page::Guard);
    assert_eq!(g.get_opened_by(), "3f9a2c1b");
    assert!(k.has("Console opened by duty pass 3f9a2c1b: what you do here is recorded in your name"));
    // The status the core loop sends each second: who is on duty here.
    let dir = tempfile::tempdir().unwrap();
    let (camera, sync) = (shoumen::app::CameraHealth::default(), shoumen::sync::SyncStatus::default());
    let inputs = shoumen::app::status::StatusInputs {
        camera: &camera,
        reading: None,
        data_dir: dir.path(),
        sync: &sync,
        gpio: (true, "test"),
        voice: Ok(String::new()),
    };
    let status = shoumen::app::status::status(&k.state, &k.store, k.now(), &inputs).unwrap();
    shoumen::ui::pages::guard::apply_status(&k.ui, &status);
    let since = shoumen::ui::local_time(k.now().wall_ms);
    assert!(k.has(&format!("Duty pass 3f9a2c1b since {since}")), "who is on duty is on the console");
    assert_eq!(status.counts.allowed_in, 0, "a volunteer signing in is nobody going in");

    k.press("Ambulance");
    k.press("Open the gate");
    assert_eq!(k.relay.pulses, [3000]);
    shoumen::ui::pages::guard::add_alarm(&k.ui, "door_held_open", "");
    k.ui.global::<AppState>().set_page(Page::Guard);
    k.press("Acknowledge");
    let recorded: Vec<(String, Option<PassId>, Option<String>)> = (1..=k.store.head_seq().unwrap())
        .map(|seq| k.store.entry(seq).unwrap().unwrap())
        .map(|e| (e.reason.to_string(), e.pass_id, e.note))
        .collect();
    assert_eq!(
        recorded,
        [
            ("code_expired".into(), Some(pass_id), None),
            ("duty_start".into(), Some(pass_id), None),
            ("console_opened".into(), Some(pass_id), None),
            ("manual_open".into(), Some(pass_id), Some("ambulance".into())),
            ("alarm_acknowledged".into(), Some(pass_id), Some("door_held_open".into())),
        ]
    );
}

#[test]
fn switching_the_language_changes_the_texts() {
    let mut k = Kiosk::new();
    assert!(k.has("Guard") && !k.has("值班"));
    k.unlock();
    k.press("Settings");
    k.press("中文");
    assert_eq!(k.ui.global::<AppState>().get_language(), "zh_CN");
    assert!(k.has("设置") && !k.has("Settings"), "the tabs are in Chinese now");
    k.press("English");
    assert!(k.has("Settings"));
}

/// Every reason the gate can record, on the result page in both
/// languages: words, never the code (issue 26: a new reason without
/// words fails here).
#[test]
fn every_reason_shows_words_on_the_result_page_in_both_languages() {
    use shoumen::gate::{ResultView, Screen};
    use shoumen::ui::{set_language, Words};
    use shoumen_protocol::{Decision, Reason};
    let k = Kiosk::new();
    for language in ["en", "zh_CN"] {
        set_language(&k.ui, language);
        for reason in Reason::ALL {
            let view = ResultView::bare(Decision::Deny, *reason);
            shoumen::ui::show(&k.ui, &Screen::Result(view));
            let words = k.ui.global::<Words>().invoke_reason(reason.as_str().into(), "".into()).to_string();
            assert!(!words.is_empty() && words != reason.as_str(), "{language}: {reason} has no words");
            assert!(!words.contains('_'), "{language}: {reason} shows a code: {words}");
            let cjk = words.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            assert_eq!(cjk, language == "zh_CN", "{language}: {reason} in the wrong language: {words}");
            assert_eq!(k.ui.global::<ResultAdapter>().get_reason(), reason.as_str(), "the page shows {reason}");
        }
    }
}

/// The text of a labelled element on screen (its accessible description);
/// empty when it is not shown.
fn text_of(k: &Kiosk, label: &str) -> String {
    ElementHandle::find_by_accessible_label(&k.ui, label)
        .next()
        .and_then(|e| e.accessible_description())
        .unwrap_or_default()
        .to_string()
}

/// Issue 33: every refusal says what to do now, in both languages.
#[test]
fn every_refusal_says_what_to_do_next_in_both_languages() {
    use shoumen::gate::{next_step, NextStep, ResultView, Screen};
    use shoumen::ui::set_language;
    use shoumen_protocol::{Decision, Reason};
    let k = Kiosk::new();
    for language in ["en", "zh_CN"] {
        set_language(&k.ui, language);
        for reason in Reason::ALL {
            for passback in [None, Some(shoumen::gate::AntiPassback::Strict)] {
                let view = ResultView {
                    remeasure_after_min: Some(5),
                    passback,
                    retry_after_s: Some(90),
                    ..ResultView::bare(Decision::Deny, *reason)
                };
                let next = next_step(&view);
                shoumen::ui::show(&k.ui, &Screen::Result(view));
                let (said, what) = (text_of(&k, "result-next-step"), text_of(&k, "result-reason"));
                // The fever screen says its next step in its own sentence.
                let words = if next == NextStep::WaitAside { what } else { said };
                if next == NextStep::GoAhead {
                    assert!(words.is_empty(), "{language}: {reason}: {words}");
                    continue;
                }
                assert!(!words.is_empty(), "{language}: {reason} ({next:?}) says nothing to do");
                let cjk = words.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
                assert_eq!(cjk, language == "zh_CN", "{language}: {reason} in the wrong language: {words}");
                if next == NextStep::CallCommittee {
                    assert!(words.contains("021-5555 0123"), "{language}: {reason}: no number: {words}");
                }
            }
        }
    }
}

/// Issue 33: a timed refusal says the pass went through a moment ago and
/// when to try again; a strict one says to go out first.
#[test]
fn passback_words_match_the_rule_that_refused() {
    let mut k = Kiosk::new();
    k.press("Demo");
    k.press("Resident");
    k.camera_sees();
    assert_eq!(k.ui.global::<ResultAdapter>().get_verdict(), Verdict::Allow);
    k.wait(30_000);
    k.camera_sees();
    assert_eq!(k.ui.global::<ResultAdapter>().get_reason(), "passback");
    assert_eq!(text_of(&k, "result-reason"), "This pass came in here a moment ago");
    assert_eq!(text_of(&k, "result-next-step"), "Please try again in 2 min, or see the guard on duty");

    let mut k = Kiosk::with_policy(Policy { anti_passback: shoumen::gate::AntiPassback::Strict, ..Policy::default() });
    let at_ms = k.now().wall_ms;
    k.feed(Event::Synced { at_ms, presence: vec![] });
    k.press("Demo");
    k.press("Resident");
    k.camera_sees();
    k.wait(30 * 60_000);
    k.feed(Event::Synced { at_ms: k.now().wall_ms, presence: vec![] });
    k.camera_sees();
    assert_eq!(k.ui.global::<ResultAdapter>().get_reason(), "passback");
    assert_eq!(text_of(&k, "result-reason"), "This pass shows as inside the compound");
    assert!(text_of(&k, "result-next-step").starts_with("Please go out first"));
}

/// Issue 33, layout C: out by the exit button and back three minutes later
/// is let in; the same pass handed back over the fence 40 s after is not.
#[test]
fn a_quick_return_is_let_in_and_a_hand_back_is_refused() {
    let mut k = Kiosk::new();
    k.press("Demo");
    k.press("Resident");
    k.camera_sees();
    assert_eq!(k.ui.global::<ResultAdapter>().get_verdict(), Verdict::Allow);
    k.wait(20_000);
    // The gate I/O thread's part: someone inside pressed the button.
    k.feed(Event::ExitButton);
    k.wait(3 * 60_000);
    k.camera_sees();
    assert_eq!(k.ui.global::<ResultAdapter>().get_verdict(), Verdict::Allow, "the quick return was refused");
    k.wait(40_000);
    k.camera_sees();
    let result = k.ui.global::<ResultAdapter>();
    assert_eq!((result.get_verdict(), result.get_reason().as_str()), (Verdict::Deny, "passback"));
    assert_eq!(text_of(&k, "result-next-step"), "Please try again in 2 min, or see the guard on duty");
    assert_eq!(k.relay.pulses.len(), 3, "in, the exit button, the quick return");
}

/// A kiosk not enrolled yet (issue 31): the status the sync thread reports
/// covers the scan page with the code to enroll it, the kiosk's fingerprint
/// and the server; the guard console stays reachable; once enrolled the
/// scan page is back.
#[test]
fn a_kiosk_not_enrolled_shows_its_code_and_the_scan_page_returns_once_enrolled() {
    use shoumen::ports::View;
    let mut k = Kiosk::new();
    let dir = tempfile::tempdir().unwrap();
    let camera = shoumen::app::CameraHealth::default();
    let status_with = |k: &Kiosk, sync: &shoumen::sync::SyncStatus| {
        let inputs = shoumen::app::status::StatusInputs {
            camera: &camera,
            reading: None,
            data_dir: dir.path(),
            sync,
            gpio: (true, "test"),
            voice: Ok(String::new()),
        };
        shoumen::app::status::status(&k.state, &k.store, k.now(), &inputs).unwrap()
    };
    let code = shoumen::sync::ScreenCode {
        code: "K7M2-9QXD".into(),
        fingerprint: "fe81 2c12 f3ab 4ce6".into(),
        link: "https://gate.example.org/gates/enroll?code=K7M29QXD&fp=fe812c12f3ab4ce6".into(),
        server: "https://gate.example.org".into(),
        problem: String::new(),
    };
    let waiting = shoumen::sync::SyncStatus { screen_code: Some(code), ..Default::default() };
    let status = status_with(&k, &waiting);
    k.view.status(&status);
    k.view.poster.pump(&k.ui);
    assert!(k.has("Enroll this kiosk") && k.has("K7M2-9QXD"), "the code covers the scan page");
    assert!(k.has("Key fingerprint: fe81 2c12 f3ab 4ce6 (the Gates page shows it too: they must match)"));
    assert!(k.has("Server: https://gate.example.org"));
    k.press("Guard");
    assert_eq!(k.page(), Page::Guard, "the guard console stays reachable");
    k.ui.global::<AppState>().set_page(Page::Scan);

    // The server cannot be reached: the screen says so.
    let mut away = waiting.clone();
    away.screen_code.as_mut().unwrap().problem = "connection refused".into();
    let status = status_with(&k, &away);
    assert!(status.health.iter().any(|h| h.device == "sync" && !h.ok), "the console's health list says so too");
    k.view.status(&status);
    k.view.poster.pump(&k.ui);
    assert!(k.has("Cannot reach the server https://gate.example.org: connection refused"));

    let enrolled = shoumen::sync::SyncStatus { enrolled: true, ..Default::default() };
    let status = status_with(&k, &enrolled);
    k.view.status(&status);
    k.view.poster.pump(&k.ui);
    assert!(!k.has("Enroll this kiosk"), "enrolled: the scan page is back");
}

/// The server refuses the kiosk (revoked on the Gates page): the console
/// says so and offers "Enroll again", which asks the core loop to forget
/// the enrollment; a kiosk the server takes offers nothing of the kind.
#[test]
fn a_kiosk_the_server_refuses_offers_to_enroll_again_on_the_console() {
    use shoumen::ports::View;
    let mut k = Kiosk::new();
    k.unlock();
    k.press("Devices");
    let status = |refused| shoumen::ports::Status { sync_refused: refused, ..Default::default() };
    k.view.status(&status(false));
    k.view.poster.pump(&k.ui);
    assert!(!k.has("Enroll again"), "the server takes this kiosk");
    k.view.status(&status(true));
    k.view.poster.pump(&k.ui);
    assert!(
        k.has("The server refuses this kiosk (revoked, or a new server): enroll it again with the code it will show.")
    );
    k.press("Enroll again");
    let asked: Vec<_> = k.commands.try_iter().collect();
    assert!(matches!(asked.as_slice(), [shoumen::ports::Command::Reenroll]), "{asked:?}");
}
