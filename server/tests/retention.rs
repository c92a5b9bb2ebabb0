//! Retention: the server deletes entries older than the community keeps
//! them and visitors' names after their pass ended, and every chain still
//! verifies, on the server and on the kiosk.

mod common;

use common::*;
use shoumen_protocol::Role;
use shoumen_server::db::now_ms;
use shoumen_server::ops::retention;
use shoumen_server::records::community::{self, PassRequest};
use shoumen_server::records::ingest;
use shoumen_server::vals;

const DAY_MS: i64 = 86_400_000;

fn visitor(server: &TestServer, name: &str, ended_days_ago: i64) {
    let ours = server.community(COMMUNITY);
    let name = name.to_string();
    server
        .db
        .call_blocking(move |c| {
            let req = PassRequest {
                role: Role::Visitor,
                unit: "3-502".into(),
                resident_id: None,
                valid_from: now_ms() / 1000 - ended_days_ago * 86_400 - 3600,
                valid_s: 3600,
                flags: 0,
                visitor_name: Some(name),
                gate: None,
            };
            community::issue_pass(c, &ours, &req).unwrap();
            Ok(())
        })
        .unwrap();
}

#[test]
fn old_entries_and_visitor_names_go_and_every_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("north"));
    k.add(30);
    k.sync().unwrap();
    let device = k.store.device_id().to_string();
    // The first 20 reached the server 100 days ago.
    server.exec("UPDATE entries SET received_ms = ?1 WHERE seq <= 20", vals![now_ms() - 100 * DAY_MS]);
    visitor(&server, "Guest Long-Gone", 20);
    visitor(&server, "Guest Yesterday", 1);

    let pruned = server.db.call_blocking(|c| retention::prune(c, COMMUNITY, now_ms())).unwrap();
    assert_eq!(pruned, retention::Pruned { entries: 20, visitor_names: 1, returnees: 0 });
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM audit WHERE action = 'retention.prune' AND detail = '@retention_prune|20|1|0'"
        ),
        1
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM entries"), 10);
    assert_eq!(server.count("SELECT MIN(seq) FROM entries"), 21);
    assert_eq!(server.count("SELECT COUNT(*) FROM passes WHERE visitor_name = 'Guest Long-Gone'"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM passes WHERE visitor_name = 'Guest Yesterday'"), 1);
    // A second run finds nothing more.
    let again = server.db.call_blocking(|c| retention::prune(c, COMMUNITY, now_ms())).unwrap();
    assert_eq!(again, retention::Pruned::default());

    // The server's copy verifies from the cut; the kiosk's own log is whole.
    let d = device.clone();
    assert_eq!(server.db.call_blocking(move |c| Ok(ingest::verify_chain(c, &d))).unwrap(), Ok(30));
    assert!(k.store.verify_chain().unwrap().is_ok());

    // The kiosk goes on; a resend across the cut stores nothing twice.
    k.add(5);
    k.sync().unwrap();
    let resend = page(&mut k, 15, 15);
    assert_eq!(k.client().push(&resend).unwrap().unwrap().stored, 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM entries"), 15);
    let d = device.clone();
    assert_eq!(server.db.call_blocking(move |c| Ok(ingest::verify_chain(c, &d))).unwrap(), Ok(35));

    // A resend whose entry at the cut differs is a fork, refused as tampering.
    let mut forged = page(&mut k, 20, 3);
    forged.entries[0].hash = "00".repeat(32);
    resign(&mut k, &mut forged);
    assert!(k.client().push(&forged).is_err());
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'tamper'"), 1);
}

#[test]
fn the_overview_states_the_policy_and_an_admin_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, token) = login(&server);
    let base = server.url();
    let (_, page) = get(&b, &format!("{base}/"));
    assert!(
        page.contains("Entries are kept 90 days; a visitor's name is deleted 14 days after their pass ended"),
        "{page}"
    );
    let (status, body, _) =
        post(&b, &format!("{base}/retention"), &[("entry_days", "3"), ("visitor_days", "7"), ("csrf", &token)]);
    assert_eq!(status, 400);
    assert!(body.contains("通行记录可保留 7 到 3650 天") || body.contains("Entries are kept 7 to 3650 days"), "{body}");
    assert!(
        page.contains("a returnee's personal data 28 days after their quarantine or self-monitoring ended"),
        "{page}"
    );
    let (status, _, location) = post(
        &b,
        &format!("{base}/retention"),
        &[("entry_days", "30"), ("visitor_days", "7"), ("returnee_days", "10"), ("csrf", &token)],
    );
    assert_eq!((status, location.as_deref()), (303, Some("/")));
    let (_, page) = get(&b, &format!("{base}/"));
    assert!(page.contains("Entries are kept 30 days; a visitor's name is deleted 7 days"), "{page}");
    assert!(page.contains("a returnee's personal data 10 days after"), "{page}");
    let (status, body, _) = post(
        &b,
        &format!("{base}/retention"),
        &[("entry_days", "30"), ("visitor_days", "7"), ("returnee_days", "0"), ("csrf", &token)],
    );
    assert_eq!(status, 400);
    assert!(
        body.contains("返本市人员个人信息在期限结束后 1 到 365 天")
            || body.contains("returnees' personal data 1 to 365 days"),
        "{body}"
    );
    assert_eq!(server.count(&format!("SELECT entry_days FROM communities WHERE id = '{COMMUNITY}'")), 30);
}
