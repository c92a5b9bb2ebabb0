//! A gate's rush hour on the real kiosk: the store, the gate core and its
//! loop, the camera thread decoding MJPEG frames, the thermometer thread
//! running the real measurement (5 samples 100 ms apart) on the simulated
//! MLX90614, the gate I/O thread driving the simulated relay, and the voice.
//! Only the people are simulated.
//!
//! The queue: residents arrive at random (a Poisson stream at the rate of
//! 300 people in 15 minutes), each holding a card or a phone code at 20–35
//! cm; one in twenty needs a re-measure; a few show an expired or withdrawn
//! pass and step aside; couriers come in with their delivery passes; people
//! inside press the exit button now and then (layout C), and some residents
//! pop out and come back. Someone who is not read within 2.5 s moves the
//! pass closer, as people do.
//!
//! Each person's time from the pass in view to the relay is split into its
//! stages by the kiosk's `shoumen::stage` trace marks; the test prints
//! p50/p95/p99 per stage and people per minute. It asserts behaviour only:
//! everyone with a good pass got in, record before relay, one opening per
//! person let in and per exit-button press.
//!
//!     cargo test --release --test rush_hour -- --nocapture        # 15 people, about a minute
//!     SHOUMEN_RUSH_FULL=1 cargo test --release --test rush_hour -- --nocapture   # 300 in 15 minutes
//!
//! `SHOUMEN_RUSH_OUT=FILE` writes each person's stages as JSON lines (for
//! `scripts/pi-estimate.py`); `SHOUMEN_RUSH_NO_EARLY=1` turns off measuring
//! on presence, for the comparison; `SHOUMEN_RUSH_PEOPLE=N` sets the count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use shoumen::app::kiosk::{Kiosk, KioskOptions};
use shoumen::clock::SystemClock;
use shoumen::config::Config;
use shoumen::demo::DemoCommunity;
use shoumen::gate::{Alarm, ResultView, Screen};
use shoumen::hw::sim::synth::{self, Carrier};
use shoumen::hw::sim::{SimCamera, World};
use shoumen::ports::{View, STAGE};
use shoumen_protocol::{holder, pass, Decision, HolderKey, PassClaims, PassFlags, PassId, Role};
use tracing_subscriber::layer::SubscriberExt;

/// The camera's horizontal field of view as a width per distance: the Pi
/// Camera Module v2's 62.2° gives 2 × tan(31.1°) = 1.207.
const VIEW_WIDTH_PER_DISTANCE: f32 = 1.207;
const CAMERA_WIDTH: usize = 1280;
const CAMERA_HEIGHT: usize = 720;
/// A code's printed width on a card and shown width on a phone, in mm.
const CARD_CODE_MM: f32 = 40.0;
const PHONE_CODE_MM: f32 = 50.0;
/// Someone not read within this long moves the pass closer.
const MOVE_CLOSER_AFTER: Duration = Duration::from_millis(2_500);
const ALLOW: &str = "allow";

/// The marks of `shoumen::stage`, with when they came.
#[derive(Clone, Default)]
struct Marks(Arc<Mutex<Vec<(String, Instant)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Marks {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Stage(Option<String>);
        impl tracing::field::Visit for Stage {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "stage" {
                    self.0 = Some(value.to_string());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut stage = Stage(None);
        event.record(&mut stage);
        if let Some(stage) = stage.0 {
            self.0.lock().unwrap().push((stage, Instant::now()));
        }
    }
}

impl Marks {
    /// The first mark of `stage` in `from..to`.
    fn first(&self, stage: &str, from: Instant, to: Instant) -> Option<Instant> {
        self.0.lock().unwrap().iter().find(|(s, t)| s == stage && *t >= from && *t <= to).map(|(_, t)| *t)
    }

    /// The last mark of `stage` in `from..to`.
    fn last(&self, stage: &str, from: Instant, to: Instant) -> Option<Instant> {
        self.0.lock().unwrap().iter().rev().find(|(s, t)| s == stage && *t >= from && *t <= to).map(|(_, t)| *t)
    }
}

/// The screen, as the people in the queue see it.
struct Screens(Sender<ResultView>);

impl View for Screens {
    fn show(&mut self, screen: &Screen) {
        // The exit button's "gate open" is for the one inside, not the queue.
        if let Screen::Result(v) = screen.clone() {
            if v.reason != shoumen_protocol::Reason::ExitButton {
                let _ = self.0.send(v);
            }
        }
    }
    fn alarm(&mut self, _: &Alarm) {}
}

/// A seeded generator, so every run queues the same people.
struct Rng(synth::Rng);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0.range(0.0, 1.0)
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        self.0.range(lo, hi)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
enum Kind {
    Resident,
    Courier,
    /// An expired or withdrawn pass: refused, steps aside.
    Refused,
    /// Back from popping out through the exit button.
    QuickReturn,
}

struct Person {
    arrives: Duration,
    kind: Kind,
    /// Which pass (index into the passes), and whether it is a phone's.
    pass: usize,
    phone: bool,
    distance_cm: f32,
    temps: Vec<i32>,
    /// Set when this resident pops out later: after how long, back how much later.
    pops_out: Option<(Duration, Duration)>,
}

struct Pass {
    text: String,
    holder: Option<SigningKey>,
}

/// One person's times, from the pass in view (ms), and what the gate said.
#[derive(Debug, Default, serde::Serialize)]
struct Timing {
    /// The thermometer started its measurement.
    measure: Option<f64>,
    read: Option<f64>,
    decided: Option<f64>,
    temperature: Option<f64>,
    recorded: Option<f64>,
    relay: Option<f64>,
    shown: Option<f64>,
    queued: f64,
    /// When the person stepped up, from the start of the run (ms).
    began: f64,
    moved_closer: bool,
    decision: Option<&'static str>,
    reason: String,
    kind: Option<Kind>,
    /// The first reading was a fever: measured twice.
    remeasured: bool,
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn passes(community: &DemoCommunity, n: usize, now_s: i64) -> Vec<Pass> {
    let mut out = Vec::new();
    for i in 0..n {
        let holder = (i % 2 == 1).then(|| SigningKey::from_bytes(&[(i % 250) as u8 + 1; 32]));
        let claims = PassClaims {
            issuer: community.passes[0].claims.issuer.clone(),
            pass_id: PassId([(i >> 8) as u8, i as u8, 9, 9, 9, 9, 9, 9]),
            issued_at: now_s - 86_400,
            not_before: now_s - 86_400,
            expires_at: now_s + 365 * 86_400,
            role: if i % 20 == 19 { Role::Delivery } else { Role::Resident },
            unit: format!("{}-{}", 1 + i / 40, 101 + i % 40),
            flags: if holder.is_some() { PassFlags(PassFlags::PHONE) } else { PassFlags::default() },
            holder: holder.as_ref().map(|h| HolderKey::Ed25519(h.verifying_key().to_bytes())),
        };
        out.push(Pass { text: pass::issue(&claims, &community.key).unwrap(), holder });
    }
    for name in ["expired", "revoked"] {
        out.push(Pass { text: community.pass(name).unwrap().text.clone(), holder: None });
    }
    out
}

/// The queue: Poisson arrivals at `per_minute`; those who pop out are
/// back within `away_s` seconds.
fn people(n: usize, per_minute: f32, passes: usize, away_s: f32, rng: &mut Rng) -> Vec<Person> {
    let mut t = 0.0f32;
    let residents = passes - 2;
    (0..n)
        .map(|i| {
            t += -(1.0 - rng.unit()).ln() * 60.0 / per_minute;
            let refused = rng.unit() < 0.03;
            let pass = if refused { residents + (i % 2) } else { i % residents };
            let kind = match () {
                _ if refused => Kind::Refused,
                _ if pass % 20 == 19 => Kind::Courier,
                _ => Kind::Resident,
            };
            let temps = if rng.unit() < 0.05 { vec![3760, 3650] } else { vec![3620 + (rng.unit() * 50.0) as i32] };
            let pops_out = (kind == Kind::Resident && rng.unit() < 0.08).then(|| {
                let out = Duration::from_secs_f32(rng.range(5.0, 30.0));
                (out, Duration::from_secs_f32(rng.range(20.0, away_s)))
            });
            Person {
                arrives: Duration::from_secs_f32(t),
                kind,
                pass,
                phone: pass % 2 == 1 && !refused,
                distance_cm: rng.range(20.0, 35.0),
                temps,
                pops_out,
            }
        })
        .collect()
}

/// What the camera sees of a pass held at `distance_cm`.
fn scene_at(rng: &mut Rng, text: &str, phone: bool, distance_cm: f32) -> synth::Scene {
    let modules = synth::Modules::of(text).map_or(57, |m| m.size) as f32;
    let code_mm = if phone { PHONE_CODE_MM } else { CARD_CODE_MM };
    let px_per_mm = CAMERA_WIDTH as f32 / (VIEW_WIDTH_PER_DISTANCE * distance_cm * 10.0);
    let mut scene = synth::Scene::random(&mut rng.0, 0.5);
    scene.width = CAMERA_WIDTH;
    scene.height = CAMERA_HEIGHT;
    scene.carrier = if phone { Carrier::Phone } else { Carrier::Card };
    scene.px_per_module = code_mm / modules * px_per_mm;
    if std::env::var("SHOUMEN_RUSH_DEBUG").is_ok() {
        eprintln!("phone {phone} at {distance_cm:.0} cm: {modules} modules, {:.2} px/module", scene.px_per_module);
    }
    // The camera's own MJPEG does the compressing.
    scene.jpeg_quality = None;
    scene
}

/// What the pass shows now: a phone makes a fresh code.
fn code_now(pass: &Pass) -> String {
    match &pass.holder {
        Some(h) => holder::make_code_ed25519(&pass.text, SystemClock::wall_ms_now() / 1000, h).unwrap(),
        None => pass.text.clone(),
    }
}

/// Frames of a pass held in a hand: the same scene, moved by the hand's
/// tremor (a few pixels, half a degree) and new sensor noise each frame.
fn hand_held(rng: &mut Rng, text: &str, phone: bool, distance_cm: f32) -> Vec<shoumen::frame::Frame> {
    let scene = scene_at(rng, text, phone, distance_cm);
    (0..8)
        .map(|_| {
            let mut s = scene.clone();
            s.cx += rng.range(-0.004, 0.004);
            s.cy += rng.range(-0.004, 0.004);
            s.rotation += rng.range(-0.009, 0.009);
            SimCamera::frame_of(text, &s, rng.0.next_u64(), Some(80)).expect("a pass renders")
        })
        .collect()
}

/// Presses the exit button now and then, as people inside leave.
fn exit_presser(world: World, stop: Arc<AtomicBool>, presses: Arc<AtomicU32>, every: Duration) {
    let mut rng = Rng(synth::Rng::new(77));
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(every.mul_f32(rng.range(0.3, 1.7)));
        if stop.load(Ordering::Relaxed) {
            return;
        }
        world.lock().exit_pressed = true;
        std::thread::sleep(Duration::from_millis(150));
        world.lock().exit_pressed = false;
        presses.fetch_add(1, Ordering::Relaxed);
    }
}

struct Run {
    timings: Vec<Timing>,
    elapsed: Duration,
    exit_presses: u32,
    /// Relay pulses commanded over the run.
    pulses: usize,
    /// Marks in the wrong order for someone let in (relay before record).
    out_of_order: usize,
}

/// The kiosk as `shoumen run` starts it, on simulated devices, with a
/// demo community written to its data directory.
struct Gate {
    kiosk: Kiosk,
    world: World,
    results: Receiver<ResultView>,
    community: DemoCommunity,
    now_s: i64,
    _dir: tempfile::TempDir,
}

fn start_gate() -> Gate {
    let dir = tempfile::tempdir().unwrap();
    let clock = SystemClock::new();
    let now = clock.now();
    let community = DemoCommunity::generate(now.wall_s());
    community.write(dir.path(), clock.boot_id(), now.wall_ms).unwrap();
    let mut config = Config::development();
    config.kiosk.data_dir = dir.path().to_path_buf();
    // The comparison without measuring from the moment someone steps up.
    config.policy.measure_on_presence = std::env::var("SHOUMEN_RUSH_NO_EARLY").is_err();
    let options = KioskOptions { exit_after: None, demo_script: false, demo_pace: Duration::from_secs(1) };
    let mut kiosk = Kiosk::start(&config, &clock, &options).unwrap();
    let world = kiosk.links().world.clone().expect("simulated hardware");
    world.lock().body_centi = 3650;
    let (tx, results) = mpsc::channel();
    kiosk.spawn_camera(None).unwrap();
    kiosk.spawn_core(Box::new(Screens(tx)), || {}).unwrap();
    Gate { kiosk, world, results, community, now_s: now.wall_s(), _dir: dir }
}

/// A person's stages from the marks between the pass in view (`t0`) and
/// the result; the record's and the relay's instants.
fn stages(timing: &mut Timing, marks: &Marks, t0: Instant, end: Instant) -> (Option<Instant>, Option<Instant>) {
    let ms = |t: Option<Instant>| t.map(|t| t.duration_since(t0).as_secs_f64() * 1000.0);
    timing.measure = ms(marks.first("measure", t0, end));
    timing.read = ms(marks.first("read", t0, end));
    let decided = marks.first("decided", t0, end);
    timing.decided = ms(decided);
    let temperature = marks.last("temperature", t0, end);
    timing.temperature = ms(temperature);
    // Their record comes after both their decision and their reading.
    let recorded = marks.first("recorded", temperature.max(decided).unwrap_or(t0), end);
    timing.recorded = ms(recorded);
    // The relay follows the record on the I/O thread within a few ms.
    std::thread::sleep(Duration::from_millis(20));
    let relay = marks.first("relay", recorded.unwrap_or(t0), Instant::now());
    timing.relay = ms(relay);
    timing.shown = ms(marks.first("shown", t0, end));
    (recorded, relay)
}

fn run_queue(n: usize, per_minute: f32, away_s: f32) -> Run {
    let marks = Marks::default();
    let subscriber = tracing_subscriber::registry().with(tracing_subscriber::Layer::with_filter(
        marks.clone(),
        tracing_subscriber::filter::Targets::new().with_target(STAGE, tracing::Level::TRACE),
    ));
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber per test binary");
    let Gate { kiosk, world, results, community, now_s, _dir } = start_gate();
    let mut rng = Rng(synth::Rng::new(2022));
    let passes = passes(&community, 240, now_s);
    let mut queue = people(n, per_minute, passes.len(), away_s, &mut rng);
    let stop = Arc::new(AtomicBool::new(false));
    let presses = Arc::new(AtomicU32::new(0));
    let presser = {
        let (world, stop, presses) = (world.clone(), stop.clone(), presses.clone());
        std::thread::spawn(move || exit_presser(world, stop, presses, Duration::from_secs(20)))
    };

    let start = Instant::now();
    let (mut free_at, mut timings, mut out_of_order, mut i) = (start, Vec::new(), 0, 0);
    while i < queue.len() {
        let arrives = start + queue[i].arrives;
        let begin = arrives.max(free_at);
        // The next person gets their pass out (a phone makes its code) as
        // they come up to the front.
        std::thread::sleep((begin - Duration::from_secs(1)).saturating_duration_since(Instant::now()));
        let text = code_now(&passes[queue[i].pass]);
        let frames = hand_held(&mut rng, &text, queue[i].phone, queue[i].distance_cm);
        std::thread::sleep(begin.saturating_duration_since(Instant::now()));
        let p = &queue[i];
        let mut timing = Timing {
            queued: begin.duration_since(arrives).as_secs_f64() * 1000.0,
            began: begin.duration_since(start).as_secs_f64() * 1000.0,
            kind: Some(p.kind),
            ..Timing::default()
        };
        let (view, t0) = present(&world, &results, &marks, (&passes[p.pass], p), (text, frames), &mut rng, &mut timing);
        let (recorded, relay) = stages(&mut timing, &marks, t0, Instant::now());
        if let Some(v) = &view {
            timing.decision = Some(v.decision.as_str());
            timing.remeasured = p.temps.len() > 1;
            timing.reason = v.reason.as_str().to_string();
            if v.decision == Decision::Allow && !matches!((recorded, relay), (Some(r), Some(o)) if r <= o) {
                out_of_order += 1;
            }
        }
        world.withdraw();
        // Through the gate, or aside; the next person steps up.
        let allowed = timing.decision == Some(ALLOW);
        free_at = Instant::now() + Duration::from_secs_f32(if allowed { rng.range(1.5, 3.0) } else { 2.0 });
        if let (true, Some((out, back))) = (allowed, p.pops_out) {
            // Out by the button later, and back in the queue.
            let at = Instant::now().duration_since(start) + out + back;
            let pos = queue.partition_point(|q| q.arrives <= at);
            let again = Person { arrives: at, kind: Kind::QuickReturn, pops_out: None, temps: vec![3650], ..*p };
            queue.insert(pos.max(i + 1), again);
        }
        timings.push(timing);
        i += 1;
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    presser.join().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let pulses = marks.0.lock().unwrap().iter().filter(|(s, _)| s == "relay").count();
    kiosk.shutdown();
    Run { timings, elapsed, exit_presses: presses.load(Ordering::Relaxed), pulses, out_of_order }
}

/// One person at the kiosk: the pass held up (and moved closer if it is
/// not read), until the result is on screen.
fn present(
    world: &World,
    results: &Receiver<ResultView>,
    marks: &Marks,
    (pass, p): (&Pass, &Person),
    (mut text, mut frames): (String, Vec<shoumen::frame::Frame>),
    rng: &mut Rng,
    timing: &mut Timing,
) -> (Option<ResultView>, Instant) {
    while results.try_recv().is_ok() {}
    let mut distance = p.distance_cm;
    let mut t0 = None;
    loop {
        let shown_at = Instant::now();
        world.present_frames(&text, &p.temps, frames);
        let t0 = *t0.get_or_insert(shown_at);
        match results.recv_timeout(MOVE_CLOSER_AFTER) {
            Ok(view) => return (Some(view), t0),
            // Read, and being measured: moving the pass changes nothing.
            Err(_) if marks.first("read", t0, Instant::now()).is_some() => {
                return (results.recv_timeout(Duration::from_secs(15)).ok(), t0)
            }
            Err(_) if distance > 12.0 => {
                timing.moved_closer = true;
                distance *= 0.7;
                text = code_now(pass);
                frames = hand_held(rng, &text, p.phone, distance);
            }
            Err(_) => return (None, t0),
        }
    }
}

fn report(run: &Run) {
    let t = &run.timings;
    let allowed: Vec<&Timing> = t.iter().filter(|t| t.decision == Some(ALLOW)).collect();
    let stage = |name: &str, f: &dyn Fn(&Timing) -> Option<f64>| {
        let v: Vec<f64> = allowed.iter().filter_map(|t| f(t)).collect();
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {} |",
            percentile(v.clone(), 0.5),
            percentile(v.clone(), 0.95),
            percentile(v.clone(), 0.99),
            v.len()
        );
    };
    println!("\nrush hour: {} people in {:.1} min on this machine", t.len(), run.elapsed.as_secs_f64() / 60.0);
    println!("| stage (ms, people let in) | p50 | p95 | p99 | n |");
    println!("|---|---|---|---|---|");
    stage("in view → read", &|t| t.read);
    stage("read → decided (verify, lists, passback)", &|t| Some(t.decided? - t.read?));
    // Measured from the moment they stepped up, the reading may be in hand
    // before the pass is decided: then the wait for it is nil.
    stage("decided → temperature in hand (measure, re-measure)", &|t| Some((t.temperature? - t.decided?).max(0.0)));
    stage("→ recorded (commit)", &|t| Some(t.recorded? - t.temperature?.max(t.decided?)));
    stage("recorded → relay", &|t| Some(t.relay? - t.recorded?));
    stage("**in view → relay**", &|t| t.relay);
    stage("in view → result on screen", &|t| t.shown);
    stage("queued before stepping up", &|t| Some(t.queued));
    // While people queue, the gate's pace is the time from one person
    // stepping up to the next: their check, then walking through.
    let cycles: Vec<f64> = t.windows(2).filter(|w| w[1].queued > 0.0).map(|w| w[1].began - w[0].began).collect();
    let mean_cycle = cycles.iter().sum::<f64>() / cycles.len().max(1) as f64;
    println!(
        "people per minute while a queue stood: {:.1} (mean step-up to step-up {:.2} s over {} people; walking through 1.5–3 s)",
        60_000.0 / mean_cycle,
        mean_cycle / 1000.0,
        cycles.len()
    );
    let quick: Vec<_> = t.iter().filter(|x| x.kind == Some(Kind::QuickReturn)).collect();
    let refused = quick.iter().filter(|x| x.decision != Some(ALLOW)).count();
    println!("quick returns: {}, refused inside the passback window: {refused}", quick.len());
    let closer = t.iter().filter(|t| t.moved_closer).count();
    let mut reasons: HashMap<&str, usize> = HashMap::new();
    for x in t {
        *reasons.entry(x.reason.as_str()).or_default() += 1;
    }
    println!("moved the pass closer: {closer}; results: {reasons:?}; exit-button presses: {}", run.exit_presses);
}

#[test]
fn a_rush_hour_queue_goes_through_the_real_kiosk() {
    let full = std::env::var("SHOUMEN_RUSH_FULL").is_ok_and(|v| v == "1");
    let n = knob("SHOUMEN_RUSH_PEOPLE", if full { 300 } else { 15 });
    let run = run_queue(n, 20.0, if full { 300.0 } else { 60.0 });
    report(&run);
    // Per person, for scripts/pi-estimate.py.
    if let Ok(path) = std::env::var("SHOUMEN_RUSH_OUT") {
        let lines: Vec<String> = run.timings.iter().map(|t| serde_json::to_string(t).unwrap()).collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        println!("per-person timings in {path}");
    }

    let t = &run.timings;
    let let_in = t.iter().filter(|t| t.decision == Some(ALLOW)).count();
    // Everyone with a good pass got in, bar quick returns inside the
    // passback window (docs/deployment.md): nobody was lost in the queue.
    for x in t {
        let good = matches!(x.kind, Some(Kind::Resident | Kind::Courier));
        assert!(x.decision.is_some(), "someone got no answer: {x:?}");
        if good {
            assert_eq!(x.decision, Some(ALLOW), "a good pass was not let in: {x:?}");
        }
        if x.kind == Some(Kind::Refused) {
            assert_ne!(x.decision, Some(ALLOW), "a bad pass was let in: {x:?}");
        }
        if x.kind == Some(Kind::QuickReturn) && x.decision != Some(ALLOW) {
            assert_eq!(x.reason, "passback", "{x:?}");
        }
    }
    assert_eq!(run.out_of_order, 0, "the relay moved before the record");
    assert_eq!(run.pulses, let_in + run.exit_presses as usize, "one opening per person let in and per exit press");
}
