//! Rotating the community's pass-signing key while one kiosk is offline
//! through it all: no kiosk loses trust, old passes keep working until
//! they are re-signed, and the old key goes only when nothing needs it.

mod common;

use common::*;
use shoumen_protocol::pass::{self, PassError};

fn pass_text(server: &TestServer, id: &str) -> String {
    let id = id.to_string();
    server
        .db
        .call_blocking(move |c| {
            c.query_row("SELECT text FROM passes WHERE pass_id = ?1", shoumen_server::vals![id], |r| r.get::<String>(0))
        })
        .unwrap()
}

fn trusts(k: &Kiosk, text: &str) -> Result<(), PassError> {
    pass::verify_signature(text, &k.store.trust().unwrap()).map(|_| ())
}

fn kids(k: &Kiosk) -> usize {
    k.store.trust().unwrap().keys.len()
}

#[test]
fn a_key_rotation_with_one_kiosk_offline_for_three_days_loses_no_trust() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    let issue = |unit: &str| {
        let (status, _, to) = post(
            &b,
            &format!("{base}/passes"),
            &[("role", "resident"), ("unit", unit), ("days", "365"), ("csrf", &csrf)],
        );
        assert_eq!(status, 303);
        to.unwrap().trim_start_matches("/passes/").trim_end_matches("/card").to_string()
    };
    let step = |action: &str| post(&b, &format!("{base}/keys/{action}"), &[("csrf", &csrf)]);
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));
    let mut east = Kiosk::new(dir.path(), "east");
    east.enroll(&base, &server.token("East gate"));
    north.sync().unwrap();
    east.sync().unwrap();
    let old_pass = issue("1-101");
    let old_card = pass_text(&server, &old_pass);
    assert_eq!((kids(&north), kids(&east)), (1, 1));

    // Day 0: the next key. North syncs and learns it; east goes offline for three days.
    assert_eq!(step("next").0, 303);
    north.sync().unwrap();
    assert_eq!(kids(&north), 2, "the bundle carries both keys");
    // Day 1: new passes are signed with the new key.
    assert_eq!(step("activate").0, 303);
    let new_pass = issue("2-202");
    let new_text = pass_text(&server, &new_pass);
    north.sync().unwrap();
    assert_eq!(trusts(&north, &new_text), Ok(()));
    assert_eq!(trusts(&north, &old_card), Ok(()), "old passes stay valid");
    assert!(
        matches!(trusts(&east, &new_text), Err(PassError::UnknownKey(_))),
        "offline, east cannot know the new key yet"
    );
    // The old key cannot go while east lacks the new one, nor while passes need it.
    let (status, page, _) = step("retire");
    assert_eq!(status, 409);
    assert!(page.contains("1 kiosks in service do not hold the new key yet"), "{page}");
    // Day 2: the old key's passes are re-signed in bulk: same pass, new signature.
    assert_eq!(step("resign").0, 303);
    let resigned = pass_text(&server, &old_pass);
    assert_ne!(resigned, old_card);
    assert_eq!(pass::verify_signature(&resigned, &north.store.trust().unwrap()).unwrap().pass_id.to_hex(), old_pass);
    assert_eq!(step("retire").0, 409, "east is still away");

    // Day 3: east comes back. The bundle is still signed by the key it knows.
    east.sync().expect("the offline kiosk opens the lists with the key it trusts");
    assert_eq!(kids(&east), 2);
    assert_eq!(trusts(&east, &new_text), Ok(()));
    assert_eq!(trusts(&east, &resigned), Ok(()));
    // The server learns which lists a kiosk holds when it next asks.
    east.sync().unwrap();
    // Now the old key goes; both kiosks follow to the new key alone.
    let (status, page, _) = step("retire");
    assert_eq!(status, 303, "{page}");
    north.sync().unwrap();
    east.sync().unwrap();
    for k in [&north, &east] {
        assert_eq!(kids(k), 1);
        assert_eq!(trusts(k, &new_text), Ok(()));
        assert_eq!(trusts(k, &resigned), Ok(()));
        assert!(
            matches!(trusts(k, &old_card), Err(PassError::UnknownKey(_))),
            "the old printed card is retired with its key"
        );
    }
    // Kiosks enrolled from now on trust only the new key, and the trail has every step.
    let mut west = Kiosk::new(dir.path(), "west");
    west.enroll(&base, &server.token("West gate"));
    assert_eq!(trusts(&west, &new_text), Ok(()));
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE action LIKE 'key.%'"), 4);
    // And a rotation can start again.
    assert_eq!(step("next").0, 303);
}
