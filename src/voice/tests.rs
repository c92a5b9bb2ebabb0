use std::collections::HashMap;

use shoumen_protocol::Decision::{self, Allow, Deny, Guard};

use super::*;
use crate::hw::audio::SimSpeaker;
use crate::hw::sim::World;

fn result(decision: Decision, reason: &'static str, temperature_centi: Option<i32>) -> Screen {
    Screen::Result(ResultView {
        temperature_centi,
        ..ResultView::bare(decision, Reason::parse(reason).expect("a known reason"))
    })
}

/// Every screen the core shows, with the clip a person at the gate hears.
fn table() -> Vec<(Screen, Option<&'static str>)> {
    vec![
        (Screen::Scan { lists_age_s: None }, None),
        (Screen::Measuring { attempt: 1 }, Some("measuring")),
        (Screen::Remeasure { centi: 3790 }, Some("remeasure")),
        (Screen::ChooseDirection, Some("choose_direction")),
        (Screen::GuardError { reason: "reason_required" }, None),
        (result(Allow, "ok", Some(3650)), Some("ok_temperature")),
        (result(Allow, "ok", None), Some("ok")),
        (result(Allow, "quarantine_return", Some(3650)), Some("welcome_home")),
        (result(Allow, "passback_override", Some(3650)), Some("gate_open")),
        (result(Allow, "manual_open", None), Some("gate_open")),
        (result(Allow, "exit_button", None), Some("gate_open")),
        (result(Allow, "allowed_without_temperature", None), Some("no_temperature")),
        (result(Guard, "fever", Some(3810)), Some("fever")),
        (result(Deny, "expired", None), Some("expired")),
        (result(Deny, "not_yet_valid", None), Some("not_yet_valid")),
        (result(Deny, "revoked", None), Some("revoked")),
        (result(Deny, "quarantine_no_exit", None), Some("quarantine_no_exit")),
        (result(Deny, "passback", None), Some("passback")),
        (result(Deny, "measure_timeout", None), Some("measure_timeout")),
        (result(Deny, "bad_signature", None), Some("invalid_pass")),
        (result(Deny, "unknown_key", None), Some("not_this_compound")),
        (result(Deny, "unknown_issuer", None), Some("not_this_compound")),
        (result(Deny, "not_a_pass", None), Some("not_this_compound")),
        (result(Deny, "bad_claims", None), Some("invalid_pass")),
        (result(Guard, "lists_too_old", None), Some("guard_checks")),
        (result(Guard, "thermometer_fault", None), Some("gate_fault")),
        (result(Guard, "store_fault", None), Some("gate_fault")),
    ]
}

fn voice(world: &World, config: VoiceConfig, language: &str) -> Voice {
    Voice::new(config, Box::new(SimSpeaker::new(world.clone())), language)
}

#[test]
fn every_screen_and_reason_says_its_clip_in_both_languages() {
    for language in LANGUAGES {
        let world = World::new();
        let mut v = voice(&world, VoiceConfig::default(), language);
        for (screen, want) in table() {
            world.lock().said.clear();
            v.screen(&screen, Some(12 * 60));
            let said = world.lock().said.clone();
            let want: Vec<String> = want.iter().map(|c| format!("{language}/{c}")).collect();
            assert_eq!(said, want, "{screen:?} in {language}");
        }
    }
}

#[test]
fn a_door_held_open_asks_to_close_it() {
    let world = World::new();
    let mut v = voice(&world, VoiceConfig::default(), "en");
    v.alarm(&Alarm::Door(DoorAlarm::HeldOpen), Some(600));
    v.alarm(&Alarm::Door(DoorAlarm::ForcedOpen), Some(600));
    assert_eq!(world.lock().said, ["en/close_gate"], "a forced door gets the buzzer, not a request");
}

#[test]
fn every_clip_is_built_in_for_both_languages() {
    assert_eq!(EMBEDDED.len(), CLIPS.len());
    for &name in CLIPS {
        let (_, zh, en) = EMBEDDED.iter().find(|(n, _, _)| *n == name).unwrap_or_else(|| panic!("{name} not built in"));
        for (lang, bytes) in [("zh_CN", zh), ("en", en)] {
            assert!(bytes.starts_with(b"OggS") && bytes.len() > 2_000, "{lang}/{name} is not an Ogg clip");
        }
    }
}

#[test]
fn quiet_hours_keep_the_voice_down_overnight_only() {
    let c = VoiceConfig::default();
    let at = |h: u32, m: u32| h * 60 + m;
    assert!(c.is_quiet(at(22, 0)) && c.is_quiet(at(23, 59)) && c.is_quiet(at(0, 0)) && c.is_quiet(at(6, 59)));
    assert!(!c.is_quiet(at(7, 0)) && !c.is_quiet(at(12, 0)) && !c.is_quiet(at(21, 59)));
    let daytime = VoiceConfig { quiet_from: "12:00".into(), quiet_until: "13:30".into(), ..VoiceConfig::default() };
    assert!(daytime.is_quiet(at(12, 45)) && !daytime.is_quiet(at(13, 30)));
    let never = VoiceConfig { quiet_from: "00:00".into(), quiet_until: "00:00".into(), ..VoiceConfig::default() };
    assert!(!never.is_quiet(at(3, 0)));

    let world = World::new();
    let mut v = voice(&world, c, "zh_CN");
    v.screen(&result(Allow, "ok", Some(3650)), Some(at(23, 0)));
    assert!(world.lock().said.is_empty(), "spoke during quiet hours");
    v.screen(&result(Allow, "ok", Some(3650)), Some(at(8, 0)));
    assert_eq!(world.lock().said, ["zh_CN/ok_temperature"]);
}

#[test]
fn bad_times_and_volumes_are_refused_by_name() {
    let bad = VoiceConfig { quiet_from: "25:00".into(), ..VoiceConfig::default() };
    assert!(bad.validate().unwrap_err().contains("voice.quiet_from"));
    let loud = VoiceConfig { volume: 3.0, ..VoiceConfig::default() };
    assert!(loud.validate().unwrap_err().contains("voice.volume"));
    assert_eq!(VoiceConfig::default().validate(), Ok(()));
}

#[test]
fn a_recording_in_the_override_folder_replaces_the_built_in_clip() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(dir.path().join("en/fever.wav"), b"RIFF-recorded").unwrap();
    let config = VoiceConfig { override_dir: dir.path().into(), ..VoiceConfig::default() };
    let v = voice(&World::new(), config, "en");
    assert_eq!(&*v.clip_bytes("fever").unwrap(), b"RIFF-recorded");
    assert!(v.clip_bytes("ok").unwrap().starts_with(b"OggS"), "the others stay built in");
}

#[test]
fn an_unknown_language_speaks_chinese_and_off_means_silent() {
    let world = World::new();
    let mut v = voice(&world, VoiceConfig::default(), "fr");
    v.screen(&Screen::Measuring { attempt: 1 }, None);
    assert_eq!(world.lock().said, ["zh_CN/measuring"]);
    let mut off = voice(&world, VoiceConfig { enabled: false, ..VoiceConfig::default() }, "en");
    off.screen(&Screen::Measuring { attempt: 1 }, None);
    assert_eq!(world.lock().said.len(), 1);
    assert_eq!(off.health(), Ok("off".into()));
}

/// The sentences of scripts/make-voice.sh, by clip: (中文, English).
fn sentences() -> HashMap<&'static str, (&'static str, &'static str)> {
    let script = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make-voice.sh"));
    script
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '|');
            let (name, zh, en) = (parts.next()?, parts.next()?, parts.next()?);
            CLIPS.contains(&name).then_some((name, (zh, en)))
        })
        .collect()
}

/// Issue 33: every refusal's clip says what to do now, in both languages,
/// in the words the screen uses for that next step.
#[test]
fn every_refusal_clip_says_the_next_step_in_both_languages() {
    use crate::gate::{next_step, NextStep};
    let said = sentences();
    assert_eq!(said.len(), CLIPS.len(), "every clip has its sentence in make-voice.sh");
    for reason in Reason::ALL {
        for passback in [None, Some(AntiPassback::Strict)] {
            let view = ResultView { passback, ..ResultView::bare(Deny, *reason) };
            let next = next_step(&view);
            let clip = clip_for(&Screen::Result(view)).expect("a result has a clip");
            let (zh, en) = said[clip];
            let (zh_words, en_words) = match next {
                NextStep::GoAhead => continue,
                NextStep::GoHome => ("回家", "home"),
                NextStep::WaitAside => ("一旁", "one side"),
                NextStep::ShowLiveCode => ("实时", "live code"),
                NextStep::StepCloser => ("靠近", "closer"),
                NextStep::WaitAndRetry => ("再试", "try again"),
                NextStep::GoOutFirst => ("先出门", "go out first"),
                NextStep::RegisterAsVisitor => ("登记", "register"),
                NextStep::CallCommittee => ("居委会", "committee"),
                NextStep::SeeGuard => ("值班人员", "guard on duty"),
                NextStep::DutyStarted => ("再扫一次", "Scan again"),
                NextStep::DutyEnded => ("谢谢", "Thank you"),
            };
            assert!(zh.contains(zh_words), "{reason} ({next:?}): {clip} says {zh:?}");
            assert!(en.contains(en_words), "{reason} ({next:?}): {clip} says {en:?}");
        }
    }
}
