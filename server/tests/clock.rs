//! A kiosk whose clock is wrong after a power cut, as a Pi without an RTC
//! boots: the release kiosk binary run under libfaketime (Debian's
//! `faketime`) against a real server. After one sync it decides by the
//! server's signed time; before, it says the time is uncertain and decides
//! by ARCHITECTURE.md's "Trusted time"; after a reboot it never dates an
//! entry below its floor. And the server's time answer holds only for the
//! question it answers.

mod common;

use common::release_kiosk::{kiosk_and_faketime, Gate};
use common::{Kiosk, TestServer, COMMUNITY};
use ed25519_dalek::SigningKey;
use shoumen_client::sync::{self, SyncError};
use shoumen_protocol::sync::{ClockReport, Heartbeat};
use shoumen_protocol::time::{TimeTrust, NONCE_LEN};
use shoumen_protocol::{holder, pass, HolderKey, PassClaims, PassFlags, PassId, Role};
use shoumen_server::db::now_ms;

/// The community's passes, as the committee issues them.
struct Issuer {
    key: SigningKey,
}

impl Issuer {
    /// A card valid from `from_s` for 30 days.
    fn card(&self, n: u8, from_s: i64) -> String {
        pass::issue(&self.claims(n, from_s, None), &self.key).unwrap()
    }

    /// The rotating code of phone pass `n`, made at `made_s`.
    fn code(&self, n: u8, made_s: i64) -> String {
        let holder = SigningKey::from_bytes(&[n; 32]);
        let phone = PassClaims {
            flags: PassFlags(PassFlags::PHONE),
            ..self.claims(n, made_s - 86_400, Some(HolderKey::Ed25519(holder.verifying_key().to_bytes())))
        };
        holder::make_code_ed25519(&pass::issue(&phone, &self.key).unwrap(), made_s, &holder).unwrap()
    }

    fn claims(&self, n: u8, from_s: i64, holder: Option<HolderKey>) -> PassClaims {
        PassClaims {
            issuer: COMMUNITY.into(),
            pass_id: PassId([n; 8]),
            issued_at: from_s,
            not_before: from_s,
            expires_at: from_s + 30 * 86_400,
            role: Role::Resident,
            unit: format!("1-{n}"),
            flags: PassFlags::default(),
            holder,
        }
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(d, r)| (d.to_string(), r.to_string())).collect()
}

#[test]
fn a_kiosk_with_a_wrong_clock_decides_by_the_servers_time_after_one_sync() {
    let bin = match kiosk_and_faketime() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    // (the clock after the power cut, whether it is ahead)
    for (offset, ahead) in [("-10m", false), ("-2d", false), ("+5y", true)] {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(dir.path());
        let issuer = Issuer { key: server.community(COMMUNITY).key };
        let gate = Gate::new(&bin, dir.path(), "North");
        // Before the power cut: enrolled, synced, the clock right.
        gate.run("+0", "boot-0", &["enroll", &server.url(), &server.token("North")]);
        assert!(gate.run("+0", "boot-0", &["sync", "--now"]).contains("time set by the server"));

        // Rebooted with the clock off and the network down.
        let now_s = now_ms() / 1000;
        let (before, clock) = gate.check(
            offset,
            "boot-1",
            &[&issuer.card(1, now_s - 60), &issuer.card(2, now_s + 900), &issuer.code(3, now_s)],
        );
        // Five years ahead, every pass looks expired: only by the clock, so
        // the guard decides. Behind, the floor (the last server time) stands in.
        let valid = if ahead { ("guard", "time_uncertain") } else { ("allow", "ok") };
        assert_eq!(
            before,
            pairs(&[valid, ("guard", "time_uncertain"), valid]),
            "{offset}, before any sync: a card issued a minute ago, a card valid in 15 minutes, a fresh phone code"
        );
        assert_eq!(clock, "uncertain", "{offset}: the kiosk says it cannot vouch for its time");

        // One sync, still with the clock off.
        let synced = gate.run(offset, "boot-1", &["sync", "--now"]);
        assert!(synced.contains("time set by the server"), "{offset}: {synced}");
        let now_s = now_ms() / 1000;
        let (after, clock) = gate.check(
            offset,
            "boot-1",
            &[
                &issuer.card(4, now_s - 60),
                &issuer.card(5, now_s + 900),
                &issuer.code(6, now_s),
                &issuer.code(7, now_s - 40),
            ],
        );
        assert_eq!(
            after,
            pairs(&[("allow", "ok"), ("deny", "not_yet_valid"), ("allow", "ok"), ("deny", "code_expired")]),
            "{offset}, after one sync"
        );
        assert_eq!(clock, "server", "{offset}");
        let entries = gate.entries();
        let (uncertain, vouched) = entries.split_at(3);
        assert!(uncertain.iter().all(|e| !e.clock_synced), "{offset}: entries before the sync are flagged");
        let real = now_ms();
        for e in vouched {
            assert!(e.clock_synced, "{offset}: #{} on the server's time", e.seq);
            assert!((e.wall_ms - real).abs() < 30_000, "{offset}: #{} dated {} ms off", e.seq, e.wall_ms - real);
        }
        let floor = vouched.iter().map(|e| e.wall_ms).max().unwrap();

        // Rebooted again, the clock two days behind, no network: nothing is
        // dated below the floor, and a card issued before it is taken.
        let (rebooted, clock) = gate.check("-2d", "boot-2", &[&issuer.card(8, now_s - 60)]);
        assert_eq!(clock, "uncertain", "{offset}: a new boot, no server time yet");
        assert_eq!(rebooted, pairs(&[("allow", "ok")]), "{offset}: after a reboot with the clock set back");
        let last = gate.entries().pop().unwrap();
        assert!(!last.clock_synced && last.wall_ms >= floor, "{offset}: {} below the floor {floor}", last.wall_ms);
        println!(
            "{offset}: uncertain before the sync, {} entries on the server's time, floor kept after a reboot",
            vouched.len()
        );
    }
}

#[test]
fn a_replayed_or_altered_time_answer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    let nonce: [u8; NONCE_LEN] = rand::random();
    let beat = Heartbeat { time_nonce: Some(hex::encode(nonce)), ..k.heartbeat() };
    let answer = k.client().heartbeat(&beat).unwrap();
    let time = answer.time.expect("the server signs its time over the nonce");
    let trust = k.store.trust().unwrap();
    let device = k.store.device_id().to_string();
    let taken = sync::accept_time(&trust, &device, &nonce, &time).unwrap();
    assert!((taken - now_ms()).abs() < 10_000);
    // Replayed to the kiosk's next question, or moved ten minutes: refused.
    let next: [u8; NONCE_LEN] = rand::random();
    assert!(matches!(sync::accept_time(&trust, &device, &next, &time), Err(SyncError::Time(_))));
    let moved = shoumen_protocol::time::ServerTime { server_ms: time.server_ms - 600_000, ..time.clone() };
    let refused = sync::accept_time(&trust, &device, &nonce, &moved).unwrap_err();
    assert!(refused.to_string().contains("signature"), "{refused}");
    // A nonce that is not one is refused before anything is signed.
    let bad = Heartbeat { time_nonce: Some("zz".into()), ..beat };
    let err = k.client().heartbeat(&bad).unwrap_err();
    assert!(err.to_string().contains("time_nonce"), "{err}");
}

#[test]
fn a_kiosk_clock_minutes_off_is_one_alert_and_the_gates_page_shows_what_it_decides_by() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("North"));
    let base = k.heartbeat();
    let beat = |wall_ms: i64, trust: TimeTrust| Heartbeat {
        clock: ClockReport {
            wall_ms,
            synced: false,
            trust: Some(trust),
            corrected_at_ms: Some(now_ms()),
            ..base.clock.clone()
        },
        ..base.clone()
    };
    let client = k.client();
    // Ten minutes behind, three heartbeats in a row: told once.
    for _ in 0..3 {
        client.heartbeat(&beat(now_ms() - 600_000, TimeTrust::Server)).unwrap();
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'clock_off'"), 1);
    assert_eq!(server.count("SELECT MAX(count) FROM alerts WHERE kind = 'clock_off'"), 1);
    let (browser, _) = common::login(&server);
    let (_, page) = common::get(&browser, &format!("{}/gates", server.url()));
    assert!(page.contains("+600") || page.contains("+599"), "the offset on the Gates page");
    assert!(page.contains("已按服务器校准") || page.contains("Set by the server"), "{page}");
    // Set right, then off again: a new alert (it reopens).
    client.heartbeat(&beat(now_ms(), TimeTrust::Uncertain)).unwrap();
    let (_, page) = common::get(&browser, &format!("{}/gates", server.url()));
    assert!(page.contains("时间未确认") || page.contains("Time unconfirmed"), "{page}");
    client.heartbeat(&beat(now_ms() + 3_600_000, TimeTrust::Server)).unwrap();
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'clock_off'"), 2, "ahead is another alert");
}
