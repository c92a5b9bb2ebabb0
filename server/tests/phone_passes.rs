//! Phone passes (issue 14): issued by the committee or required for a role,
//! bound on first visit to the key the phone made, and valid at a gate only
//! as the phone's rotating code. The browser's half is in
//! .ci/browser-test.py.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use shoumen_protocol::{holder, pass, HolderKey, PassFlags};
use shoumen_server::db::now_ms;

/// Issues a pass on the Passes page; the phone link's token.
fn issue(
    server: &TestServer,
    b: &reqwest::blocking::Client,
    csrf: &str,
    role: &str,
    unit: &str,
    phone: bool,
) -> String {
    let base = server.url();
    let mut form = vec![("role", role), ("unit", unit), ("days", "30"), ("csrf", csrf)];
    if phone {
        form.push(("phone", "on"));
    }
    let (status, body, location) = post(b, &format!("{base}/passes"), &form);
    assert_eq!(status, 303, "{body}");
    let (_, card) = get(b, &format!("{base}{}", location.unwrap()));
    let at = card.find("/p/").unwrap_or_else(|| panic!("a phone link on {card}"));
    card[at + 3..at + 3 + card[at + 3..].find('"').unwrap()].to_string()
}

fn bind(server: &TestServer, token: &str, alg: &str, key: &[u8]) -> (u16, String) {
    let r = browser()
        .post(format!("{}/p/{token}/holder", server.url()))
        .header("Accept-Language", "en")
        .form(&[("alg", alg), ("key", &hex::encode(key))])
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn holder_key(b: u8) -> SigningKey {
    SigningKey::from_bytes(&[b; 32])
}

#[test]
fn a_phone_pass_binds_to_the_first_phone_and_opens_the_gate_only_as_its_live_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let token = issue(&server, &b, &csrf, "resident", "3-502", true);
    let trust = server.community(COMMUNITY).trust();

    // Before the phone opens it: the committee's card shows the set-up link,
    // and the pass's own text opens no gate.
    let (_, passes) = get(&b, &format!("{}/passes", server.url()));
    assert!(passes.contains("Phone pass (not set up yet)"), "{passes}");
    let unbound: String =
        server.db.call_blocking(|c| c.query_row("SELECT text FROM passes WHERE phone = 1", &[], |r| r.get(0))).unwrap();
    assert_eq!(pass::verify(&unbound, &trust, now_ms() / 1000, 60).unwrap_err().code(), "code_expired");

    // The page has a script, under its own nonce, and the bind address.
    let r = browser().get(format!("{}/p/{token}", server.url())).send().unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    let page = r.text().unwrap();
    let nonce = &csp[csp.find("'nonce-").unwrap() + 7..];
    let nonce = &nonce[..nonce.find('\'').unwrap()];
    assert!(page.contains(&format!("<script nonce=\"{nonce}\">")), "{page}");
    assert!(page.contains(&format!("data-bind=\"/p/{token}/holder\"")));
    assert!(page.contains("data-holder=\"\""), "not bound yet");

    // The phone binds its key and gets the pass back with the key in it.
    let phone = holder_key(9);
    let (status, answer) = bind(&server, &token, "Ed25519", phone.verifying_key().as_bytes());
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let bound = answer["pass"].as_str().unwrap().to_string();
    let claims = pass::verify_signature(&bound, &trust).unwrap();
    assert_eq!(claims.holder, Some(HolderKey::Ed25519(phone.verifying_key().to_bytes())));
    assert!(claims.flags.has(PassFlags::PHONE));

    // At the gate: the live code opens, one 40 s old does not, nor the pass alone.
    let now = now_ms() / 1000;
    let live = holder::make_code_ed25519(&bound, now, &phone).unwrap();
    assert_eq!(pass::verify(&live, &trust, now, 60).unwrap().unit, "3-502");
    let old = holder::make_code_ed25519(&bound, now - 40, &phone).unwrap();
    assert_eq!(pass::verify(&old, &trust, now, 60).unwrap_err().code(), "code_expired");
    assert_eq!(pass::verify(&bound, &trust, now, 60).unwrap_err().code(), "code_expired");

    // The same phone again gets the same pass; another phone is refused.
    assert_eq!(
        bind(&server, &token, "Ed25519", phone.verifying_key().as_bytes()),
        (200, serde_json::json!({"pass": bound, "holder": answer["holder"]}).to_string())
    );
    let (status, text) = bind(&server, &token, "Ed25519", holder_key(10).verifying_key().as_bytes());
    assert_eq!(status, 409);
    assert!(text.contains("another phone"), "{text}");

    // The page now names the bound key, so only that phone shows codes.
    let (_, page) = get(&browser(), &format!("{}/p/{token}", server.url()));
    assert!(page.contains(&format!("data-holder=\"{}\"", answer["holder"].as_str().unwrap())), "{page}");
    let (_, passes) = get(&b, &format!("{}/passes", server.url()));
    assert!(passes.contains("Phone pass (set up on a phone)"), "{passes}");
    let (_, audit) = get(&b, &format!("{}/audit", server.url()));
    assert!(audit.contains("pass.bind_phone"), "{audit}");
}

#[test]
fn a_p256_phone_binds_and_bad_keys_are_refused() {
    use p256::ecdsa::signature::Signer;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let token = issue(&server, &b, &csrf, "resident", "3-502", true);
    // The all-zero and identity Ed25519 keys are small-order points: a
    // signature under them proves nothing about the phone.
    let identity = {
        let mut k = [0u8; 32];
        k[0] = 1;
        k.to_vec()
    };
    for (alg, key) in [
        ("Ed25519", vec![1u8; 31]),
        ("P-256", vec![4u8; 65]),
        ("RSA", vec![0u8; 32]),
        ("Ed25519", vec![0u8; 600]),
        ("Ed25519", vec![0u8; 32]),
        ("Ed25519", identity),
    ] {
        let (status, text) = bind(&server, &token, alg, &key);
        assert_eq!(status, 400, "{alg} {}: {text}", key.len());
    }
    let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let (status, answer) = bind(&server, &token, "P-256", sk.verifying_key().to_encoded_point(false).as_bytes());
    assert_eq!(status, 200, "{answer}");
    let bound = serde_json::from_str::<serde_json::Value>(&answer).unwrap()["pass"].as_str().unwrap().to_string();
    let now = now_ms() / 1000;
    let code = holder::make_code(&bound, now, |m| {
        let sig: p256::ecdsa::Signature = sk.sign(m);
        sig.to_bytes().into()
    })
    .unwrap();
    assert!(pass::verify(&code, &server.community(COMMUNITY).trust(), now, 60).is_ok());

    // A printed card has nothing to bind; an unknown link is not found.
    let card = issue(&server, &b, &csrf, "resident", "3-502", false);
    let (status, _) = bind(&server, &card, "Ed25519", holder_key(9).verifying_key().as_bytes());
    assert_eq!(status, 409);
    assert_eq!(bind(&server, "nosuchlink", "Ed25519", holder_key(9).verifying_key().as_bytes()).0, 404);
}

#[test]
fn the_committee_requires_phone_passes_for_a_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let base = server.url();
    let (status, _, _) =
        post(&b, &format!("{base}/passes/phone-roles"), &[("role", "visitor"), ("role", "delivery"), ("csrf", &csrf)]);
    assert_eq!(status, 303);
    let (_, page) = get(&b, &format!("{base}/passes"));
    assert!(page.contains("value=\"visitor\" style=\"width:auto\" checked"), "{page}");
    assert!(!page.contains("value=\"resident\" style=\"width:auto\" checked"));
    // A visitor's pass is a phone pass even unasked; a resident's stays a card.
    issue(&server, &b, &csrf, "visitor", "3-502", false);
    issue(&server, &b, &csrf, "resident", "3-502", false);
    let kinds: Vec<(String, i64)> = server
        .db
        .call_blocking(|c| {
            c.query_map("SELECT role, phone FROM passes ORDER BY role", &[], |r| Ok((r.get(0)?, r.get(1)?)))
        })
        .unwrap();
    assert_eq!(kinds, [("resident".to_string(), 0), ("visitor".to_string(), 1)]);
    let (_, audit) = get(&b, &format!("{base}/audit"));
    assert!(audit.contains("Phone passes required for: Visitor, Delivery"), "{audit}");
    // Without a login: off to the login page, and nothing changes. (Which
    // roles may set it: the table in tests/roles.rs.)
    let (_, _, location) = post(&browser(), &format!("{base}/passes/phone-roles"), &[("role", "resident")]);
    assert_eq!(location.as_deref(), Some("/login"));
    let roles = server.db.call_blocking(|c| shoumen_server::records::community::phone_roles(c, COMMUNITY)).unwrap();
    assert_eq!(roles, [shoumen_protocol::Role::Visitor, shoumen_protocol::Role::Delivery]);
}

#[test]
fn a_key_rotation_keeps_the_phone_bound() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let token = issue(&server, &b, &csrf, "resident", "3-502", true);
    let phone = holder_key(9);
    let (status, _) = bind(&server, &token, "Ed25519", phone.verifying_key().as_bytes());
    assert_eq!(status, 200);
    let community = server.community(COMMUNITY);
    server
        .db
        .call_blocking(|c| {
            shoumen_server::records::keys::create_next(c, &community, now_ms() / 1000).unwrap();
            Ok(())
        })
        .unwrap();
    let community = server.community(COMMUNITY);
    server
        .db
        .call_blocking(|c| {
            shoumen_server::records::keys::activate(c, &community).unwrap();
            Ok(())
        })
        .unwrap();
    let community = server.community(COMMUNITY);
    let n = server
        .db
        .call_blocking(
            |c| Ok(shoumen_server::records::keys::resign_old_passes(c, &community, now_ms() / 1000).unwrap()),
        )
        .unwrap();
    assert_eq!(n, 1);
    // The page hands the phone the re-signed pass, still bound to its key.
    let (_, page) = get(&browser(), &format!("{}/p/{token}", server.url()));
    let at = page.find("data-pass=\"").unwrap() + "data-pass=\"".len();
    let text = &page[at..at + page[at..].find('"').unwrap()];
    let now = now_ms() / 1000;
    let code = holder::make_code_ed25519(text, now, &phone).unwrap();
    let new_only = shoumen_protocol::TrustList::new(vec![shoumen_protocol::TrustedKey {
        issuer: COMMUNITY.into(),
        key: community.key.verifying_key(),
    }]);
    assert!(pass::verify(&code, &new_only, now, 60).is_ok(), "signed by the new key, with the holder");
}

/// A volunteer's duty pass (issue 32) is a phone pass whatever the form
/// says; its live code read by the gate core at a kiosk that has been
/// offline signs the volunteer in and later out, opening nothing; after
/// the kiosk syncs, the committee's Entries page shows both, chained.
#[test]
fn a_duty_pass_is_a_phone_pass_and_signs_its_volunteer_in_and_out_at_an_offline_gate() {
    use shoumen_gate::{step, Effect, Event, GateState, Now, Policy};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let token = issue(&server, &b, &csrf, "duty", "", false);
    let phone = holder_key(21);
    let (status, answer) = bind(&server, &token, "Ed25519", phone.verifying_key().as_bytes());
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let bound = answer["pass"].as_str().unwrap().to_string();

    let mut kiosk = Kiosk::new(dir.path(), "north");
    kiosk.enroll(&server.url(), &server.token("North gate"));
    kiosk.sync().unwrap();
    // Offline from here: it does not reach the server between the scans.
    let lists = kiosk.store.lists().unwrap();
    let mut gate = GateState::new(Policy::default(), lists, Default::default());
    let mut scan = |at_ms: i64, mono_ms: u64| {
        let code = holder::make_code_ed25519(&bound, at_ms / 1000, &phone).unwrap();
        let effects = step(&mut gate, Event::PassRead { text: code, direction: None }, Now::vouched(at_ms, mono_ms));
        assert!(!effects.iter().any(|e| matches!(e, Effect::OpenGate { .. })), "{effects:?}");
        for e in effects {
            if let Effect::Record(d) = e {
                kiosk.store.append(&d).unwrap();
            }
        }
    };
    let start = now_ms() + 1_000;
    scan(start, 1_000);
    scan(start + 4 * 3_600_000, 4 * 3_600_000);
    // Back online: the Gates page shows who was on duty, then nobody.
    let (_, gates) = get(&b, &format!("{}/gates", server.url()));
    assert!(gates.contains("On duty now") && gates.contains("Nobody signed in"), "{gates}");
    kiosk.sync().unwrap();
    let rows: Vec<(String, String, String)> = server
        .db
        .call_blocking(|c| {
            c.query_map("SELECT kind, reason, role FROM entries ORDER BY seq", &[], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<Option<String>>(2)?.unwrap_or_default()))
            })
        })
        .unwrap();
    let duty = |reason: &str| ("duty".to_string(), reason.to_string(), "duty".to_string());
    assert_eq!(rows, [duty("duty_start"), duty("duty_end")]);
    let (_, page) = get(&b, &format!("{}/entries", server.url()));
    assert!(page.contains("Volunteer signed in for duty") && page.contains("Volunteer signed out of duty"), "{page}");
    let (_, gates) = get(&b, &format!("{}/gates", server.url()));
    assert!(gates.contains("Nobody signed in"), "signed out: {gates}");
}

/// The Gates page shows who is on duty at each gate now, from the gates'
/// duty entries: a sign-in without its sign-out, not older than a shift.
#[test]
fn the_gates_page_shows_who_is_on_duty_at_each_gate_now() {
    use shoumen_gate::EntryDraft;
    use shoumen_protocol::{Decision, Direction, EntryKind, PassId, Reason, Role};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, _) = login(&server);
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&server.url(), &server.token("North gate"));
    let now = now_ms();
    let mut duty = |pass: u8, reason: Reason, at_ms: i64| {
        let seq = north.store.head_seq().unwrap();
        north
            .store
            .append(&EntryDraft {
                wall_ms: at_ms,
                mono_ms: 1_000 + seq * 1_000,
                clock_synced: true,
                kind: EntryKind::Duty,
                direction: Direction::In,
                pass_id: Some(PassId([pass; 8])),
                role: Some(Role::Duty),
                decision: Decision::Allow,
                reason,
                temperature: None,
                note: None,
            })
            .unwrap();
    };
    duty(0xa1, Reason::DutyStart, now - 20 * 3_600_000); // a shift never signed out of, yesterday
    duty(0xb2, Reason::DutyStart, now - 3 * 3_600_000);
    duty(0xc3, Reason::DutyStart, now - 2 * 3_600_000);
    duty(0xc3, Reason::DutyEnd, now - 3_600_000);
    // What they did on the console is kind duty too, and signs nobody in or out.
    duty(0xb2, Reason::ConsoleOpened, now - 2 * 3_600_000);
    duty(0xc3, Reason::AlarmAcknowledged, now - 1_800_000);
    north.sync().unwrap();
    let (_, gates) = get(&b, &format!("{}/gates", server.url()));
    let cell = &gates[gates.find("class=\"on-duty\"").expect("the on-duty cell")..];
    let cell = &cell[..cell.find("</td>").unwrap()];
    assert!(cell.contains("b2b2b2b2"), "on duty: {cell}");
    assert!(!cell.contains("a1a1a1a1") && !cell.contains("c3c3c3c3"), "not on duty: {cell}");
    // A sign-in is nobody going in: the day's counts leave duty out.
    north.scan(PassId([0xd4; 8]), Direction::In, Decision::Allow, "ok");
    north.sync().unwrap();
    let day = server
        .db
        .call_blocking(|c| shoumen_server::reports::summary::daily(c, COMMUNITY, now - 22 * 3_600_000, 480))
        .unwrap();
    assert_eq!((day.entries, day.allowed_in, day.allowed_out), (7, 1, 0));
}
