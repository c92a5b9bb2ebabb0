//! Many communities on one server: no community's records are visible to,
//! or changeable by, another community's accounts or kiosks. Every page and
//! API route is tried with the other community's ids: 404, and nothing of
//! theirs in the answer. The district sees every community's overview.

mod common;

use common::*;
use shoumen_protocol::{Decision, Direction, Role};
use shoumen_server::db::{self, now_ms};
use shoumen_server::records::community::{self, PassRequest};
use shoumen_server::vals;

const OTHER: &str = "plum-court";
const OTHER_ADMIN: &str = "plum";
/// Words that belong to the other community only: none may appear in an
/// answer to this community's admin.
const THEIR_NAME: &str = "Zhu-Plum-Resident";
const THEIR_UNIT: &str = "9-909";
const THEIR_GATE: &str = "Plum back gate";
const THEIR_SENSOR: &str = "plum-door-9-909";
const THEIR_VOLUNTEER: &str = "Plum Volunteer Zhou";
const THEIR_HOOK: &str = "https://oapi.dingtalk.com/robot/send?access_token=plumsecret";

/// The other community's ids, as an attacker in this one would try them.
struct Theirs {
    resident: i64,
    pass: String,
    link: String,
    quarantine: i64,
    alert: i64,
    device: String,
    request: i64,
    admin: i64,
    rule: i64,
    task: i64,
    /// Their invitation waiting to be used (its token's SHA-256).
    invite: String,
    /// Their volunteer (confirmed, with a duty pass) and a shift of theirs.
    volunteer: i64,
    shift: i64,
}

fn set_up_both(dir: &std::path::Path, server: &TestServer) -> Theirs {
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    server.db.call_blocking(|c| db::init(c, OTHER, OTHER_ADMIN, &hash, now_ms())).unwrap();
    let plum = server.community(OTHER);
    let (resident, issued, quarantine) = server
        .db
        .call_blocking(move |c| {
            let resident = community::add_resident(c, OTHER, THEIR_NAME, THEIR_UNIT, "13900000000", now_ms()).unwrap();
            let req = PassRequest {
                role: Role::Resident,
                unit: THEIR_UNIT.into(),
                resident_id: Some(resident),
                valid_from: now_ms() / 1000 - 60,
                valid_s: 86_400,
                flags: 0,
                visitor_name: None,
                gate: None,
            };
            let issued = community::issue_pass(c, &plum, &req).unwrap();
            let q = community::add_quarantine(
                c,
                OTHER,
                THEIR_UNIT,
                now_ms() / 1000 - 60,
                now_ms() / 1000 + 86_400,
                "plum note",
                now_ms(),
            )
            .unwrap();
            let hook = shoumen_server::webhook::Webhook::new(THEIR_HOOK, "dingtalk", "").unwrap();
            shoumen_server::webhook::set(c, OTHER, Some(&hook))?;
            Ok((resident, issued, q))
        })
        .unwrap();
    // Their kiosk pushes entries, among them fevers (alerts).
    let mut k = Kiosk::new(dir, "plum-kiosk");
    k.enroll(&server.url(), &server.token_of(OTHER, THEIR_GATE));
    k.add(20);
    // Their resident went out through their gate: their "out now".
    k.scan(issued.pass_id, Direction::Out, Decision::Allow, "ok");
    k.sync().unwrap();
    let device = k.store.device_id().to_string();
    let alert = server.count(&format!("SELECT MIN(id) FROM alerts WHERE community = '{OTHER}'"));
    assert!(alert > 0, "their fevers raised alerts");
    // And ours: one kiosk, one resident.
    let mut ours = Kiosk::new(dir, "lotus-kiosk");
    ours.enroll(&server.url(), &server.token("Lotus north gate"));
    ours.add(5);
    ours.sync().unwrap();
    // A head of theirs asked for a pass.
    let pass = issued.pass_id.to_hex();
    let by = pass.clone();
    let request = server
        .db
        .call_blocking(move |c| {
            c.query_row(
                "INSERT INTO pass_requests (community, resident_id, by_pass, created_ms) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                shoumen_server::vals![OTHER, resident, by, now_ms()],
                |r| r.get::<i64>(0),
            )
        })
        .unwrap();
    let admin = server.count(&format!("SELECT id FROM users WHERE name = '{OTHER_ADMIN}'"));
    // Their returnee rule, with a document named after their gate.
    let rule = server
        .db
        .call_blocking(|c| {
            use shoumen_server::records::returnees;
            returnees::save_document(
                c,
                OTHER,
                THEIR_GATE,
                returnees::Kind::Notice,
                14,
                "plum note",
                "",
                OTHER_ADMIN,
                now_ms(),
            )
            .unwrap();
            Ok(returnees::add_rule(c, OTHER, "42", THEIR_GATE, None, None, now_ms()).unwrap())
        })
        .unwrap();
    // A door sensor on their quarantined flat, and a request from it.
    let task = server
        .db
        .call_blocking(move |c| {
            shoumen_server::records::sensors::pair(c, OTHER, THEIR_SENSOR, THEIR_UNIT, now_ms()).unwrap();
            c.query_row(
                "INSERT INTO service_requests (community, subject, unit, kind, note, asked_ms) VALUES (?1, ?2, ?3, 'groceries', 'plum note', ?4) RETURNING id",
                shoumen_server::vals![OTHER, format!("r{resident}"), THEIR_UNIT, now_ms()],
                |r| r.get::<i64>(0),
            )
        })
        .unwrap();
    let token = server
        .db
        .call_blocking(|c| {
            use shoumen_server::leaves::roles::AccountRole;
            Ok(shoumen_server::records::accounts::invite(c, OTHER, AccountRole::Staff, None, OTHER_ADMIN, now_ms())
                .unwrap())
        })
        .unwrap();
    let invite = shoumen_server::leaves::secrets::sha256_hex(&token);
    // Their duty roster: a volunteer on a shift at their gate.
    let (volunteer, shift) = server
        .db
        .call_blocking(|c| {
            use shoumen_server::records::roster;
            let v =
                roster::add(c, OTHER, THEIR_VOLUNTEER, "13900000009", "plum-link", roster::Standing::Active, now_ms())
                    .unwrap();
            roster::confirm(c, OTHER, v, "a1a2a3a4a5a6a7a8", now_ms())?;
            let s = roster::add_shift(c, OTHER, THEIR_GATE, now_ms() + 3_600_000, now_ms() + 7_200_000, 2, now_ms())
                .unwrap();
            roster::join(c, OTHER, s, v, now_ms(), false).unwrap();
            Ok((v, s))
        })
        .unwrap();
    Theirs {
        resident,
        pass,
        link: issued.link_token,
        quarantine,
        alert,
        device,
        request,
        admin,
        rule,
        task,
        invite,
        volunteer,
        shift,
    }
}

fn leaks(body: &str, theirs: &Theirs) -> Vec<String> {
    [
        THEIR_NAME,
        THEIR_UNIT,
        THEIR_GATE,
        THEIR_SENSOR,
        THEIR_VOLUNTEER,
        "plumsecret",
        "plum note",
        &theirs.pass,
        &theirs.link,
        &theirs.device,
    ]
    .iter()
    .filter(|w| body.contains(**w))
    .map(|w| w.to_string())
    .collect()
}

#[test]
fn another_communitys_records_are_404_on_every_page_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let theirs = set_up_both(dir.path(), &server);
    let base = server.url();
    let (b, token) = login(&server);
    let day = shoumen_server::web::fmt_ms(now_ms(), 480)[..10].to_string();

    // Every page of ours (every community GET route without an id, from
    // the pages' tables): 200, and nothing of theirs on it.
    use shoumen_server::web::site::{routes, Access};
    let pages: Vec<String> = routes()
        .iter()
        .filter(|r| r.method == "GET" && matches!(r.access, Access::Member(_)) && !r.path.contains('{'))
        .map(|r| match r.path {
            "/export.csv" => format!("/export.csv?from=2020-01-01&to={day}"),
            path => path.to_string(),
        })
        .collect();
    assert!(pages.len() > 20, "{pages:?}");
    for page in &pages {
        let page = page.as_str();
        let (status, body) = get(&b, &format!("{base}{page}"));
        assert_eq!(status, 200, "{page}");
        assert_eq!(leaks(&body, &theirs), Vec::<String>::new(), "{page} shows the other community's records");
    }
    // Searching for their pass, unit or kiosk finds nothing (the form
    // echoes what was typed; the results are what matter).
    for search in [format!("pass={}", theirs.pass), format!("unit={THEIR_UNIT}"), format!("gate={}", theirs.device)] {
        let (status, body) = get(&b, &format!("{base}/entries?{search}"));
        assert_eq!(status, 200, "{search}");
        let results = &body[body.rfind("<table").unwrap()..];
        assert!(!results.contains("<tr data-seq"), "{search} found their entries");
        assert_eq!(leaks(results, &theirs), Vec::<String>::new(), "{search}");
    }
    let (_, csv) = get(&b, &format!("{base}/export.csv?from=2020-01-01&to={day}"));
    assert_eq!(csv.lines().count(), 1 + 5, "our five entries only");

    // Their ids in our URLs and forms: 404, nothing of theirs in the answer.
    let card = get(&b, &format!("{base}/passes/{}/card", theirs.pass));
    let tries = [
        ("GET /passes/{id}/card", card),
        ("POST /passes/{id}/revoke", {
            let r = post(&b, &format!("{base}/passes/{}/revoke", theirs.pass), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /quarantine/{id}/remove", {
            let r = post(&b, &format!("{base}/quarantine/{}/remove", theirs.quarantine), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /alerts/{id}/ack", {
            let r = post(&b, &format!("{base}/alerts/{}/ack", theirs.alert), &[("csrf", &token), ("note", "mine now")]);
            (r.0, r.1)
        }),
        ("POST /gates/{id}/revoke", {
            let r = post(&b, &format!("{base}/gates/{}/revoke", theirs.device), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /passes, their resident", {
            let id = theirs.resident.to_string();
            let r = post(
                &b,
                &format!("{base}/passes"),
                &[("csrf", &token), ("role", "resident"), ("days", "30"), ("resident_id", &id)],
            );
            (r.0, r.1)
        }),
        ("POST /passes, their resident, our unit", {
            let id = theirs.resident.to_string();
            let r = post(
                &b,
                &format!("{base}/passes"),
                &[("csrf", &token), ("role", "resident"), ("days", "30"), ("unit", "1-101"), ("resident_id", &id)],
            );
            (r.0, r.1)
        }),
        ("GET /district", get(&b, &format!("{base}/district"))),
        ("GET /residents/{id}", get(&b, &format!("{base}/residents/{}", theirs.resident))),
        ("POST /residents/{id}", {
            let r = post(
                &b,
                &format!("{base}/residents/{}", theirs.resident),
                &[("csrf", &token), ("name", "X"), ("unit", "1-101"), ("phone", "")],
            );
            (r.0, r.1)
        }),
        ("POST /residents/{id}/move-out", {
            let r = post(&b, &format!("{base}/residents/{}/move-out", theirs.resident), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("GET /print/{building}", get(&b, &format!("{base}/print/{}", THEIR_UNIT.split('-').next().unwrap()))),
        ("POST /requests/{id}/{verdict}", {
            let r = post(&b, &format!("{base}/requests/{}/approve", theirs.request), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /returnees/rules/{id}/remove", {
            let r = post(&b, &format!("{base}/returnees/rules/{}/remove", theirs.rule), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /sensors/{name}/unpair", {
            let r = post(&b, &format!("{base}/sensors/{THEIR_SENSOR}/unpair"), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /tasks/{id}/{action}", {
            let r = post(&b, &format!("{base}/tasks/{}/take", theirs.task), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /accounts/{id}/disable", {
            let r = post(&b, &format!("{base}/accounts/{}/disable", theirs.admin), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /accounts/{id}/role", {
            let r = post(
                &b,
                &format!("{base}/accounts/{}/role", theirs.admin),
                &[("csrf", &token), ("role", "volunteer"), ("gates", "")],
            );
            (r.0, r.1)
        }),
        ("POST /accounts/{id}/unlock", {
            let r = post(&b, &format!("{base}/accounts/{}/unlock", theirs.admin), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /checkins/{subject}/call", {
            let form = [("csrf", token.as_str()), ("outcome", "fine"), ("note", "")];
            let r = post(&b, &format!("{base}/checkins/r{}/call", theirs.resident), &form);
            (r.0, r.1)
        }),
        ("GET /checkins/{subject}/card", get(&b, &format!("{base}/checkins/r{}/card", theirs.resident))),
        ("POST /accounts/{id}/reset", {
            let r = post(&b, &format!("{base}/accounts/{}/reset", theirs.admin), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /accounts/invites/{id}/withdraw", {
            let r = post(&b, &format!("{base}/accounts/invites/{}/withdraw", theirs.invite), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /roster/shifts/{id}/delete", {
            let r = post(&b, &format!("{base}/roster/shifts/{}/delete", theirs.shift), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /roster/shifts/{id}/people", {
            let form = [("csrf", token.as_str()), ("volunteer", &theirs.volunteer.to_string())];
            let r = post(&b, &format!("{base}/roster/shifts/{}/people", theirs.shift), &form);
            (r.0, r.1)
        }),
        ("POST /roster/shifts/{id}/people/{volunteer}/remove", {
            let url = format!("{base}/roster/shifts/{}/people/{}/remove", theirs.shift, theirs.volunteer);
            let r = post(&b, &url, &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /roster/volunteers/{id}/confirm", {
            let r = post(&b, &format!("{base}/roster/volunteers/{}/confirm", theirs.volunteer), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /roster/volunteers/{id}/renew", {
            let r = post(&b, &format!("{base}/roster/volunteers/{}/renew", theirs.volunteer), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /roster/volunteers/{id}/stand-down", {
            let url = format!("{base}/roster/volunteers/{}/stand-down", theirs.volunteer);
            let r = post(&b, &url, &[("csrf", &token)]);
            (r.0, r.1)
        }),
        ("POST /roster/volunteers/{id}/link", {
            let r = post(&b, &format!("{base}/roster/volunteers/{}/link", theirs.volunteer), &[("csrf", &token)]);
            (r.0, r.1)
        }),
        (
            "GET /roster/volunteers/{id}/certificate",
            get(&b, &format!("{base}/roster/volunteers/{}/certificate", theirs.volunteer)),
        ),
        // Not a notice waiting (a committee's quarantine), and not ours.
        ("POST /returnees/notices/{id}/{verdict}", {
            let r = post(&b, &format!("{base}/returnees/notices/{}/confirm", theirs.quarantine), &[("csrf", &token)]);
            (r.0, r.1)
        }),
    ];
    // Every community route that names a record is tried above, or where.
    const ELSEWHERE: &[&str] = &[
        "GET /returnees/{id}",          // registration.rs: the other community's admin gets 404
        "POST /keys/{action}",          // names no record: the community's own signing keys
        "POST /print/{building}/issue", // below: their building's units get nothing
    ];
    let untried: Vec<String> = routes()
        .iter()
        .filter(|r| matches!(r.access, Access::Member(_)) && r.path.contains('{'))
        .map(|r| format!("{} {}", r.method, r.path))
        .filter(|r| !ELSEWHERE.contains(&r.as_str()) && !tries.iter().any(|(what, _)| what == r))
        .collect();
    assert!(untried.is_empty(), "community routes naming a record that no try covers: {untried:?}");
    let their_building = THEIR_UNIT.split('-').next().unwrap();
    let (status, _, _) = post(&b, &format!("{base}/print/{their_building}/issue"), &[("csrf", &token)]);
    assert!([303, 404].contains(&status), "{status}");
    for (what, (status, body)) in &tries {
        assert_eq!(*status, 404, "{what}");
        assert_eq!(leaks(body, &theirs), Vec::<String>::new(), "{what}");
    }
    // And nothing of theirs changed.
    let count = |sql: &str| server.count(sql);
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM passes WHERE pass_id = '{}' AND revoked_ms IS NULL", theirs.pass)),
        1
    );
    assert_eq!(count(&format!("SELECT COUNT(*) FROM quarantine WHERE id = {}", theirs.quarantine)), 1);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM shift_people WHERE shift_id = {}", theirs.shift)), 1);
    assert_eq!(count("SELECT COUNT(*) FROM volunteers WHERE link_digest = 'plum-link' AND status = 'active'"), 1);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM invites WHERE token_sha256 = '{}'", theirs.invite)), 1);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM invites WHERE reset_user = {}", theirs.admin)), 0);
    assert_eq!(count(&format!("SELECT acked FROM alerts WHERE id = {}", theirs.alert)), 0);
    assert_eq!(count(&format!("SELECT revoked FROM devices WHERE id = '{}'", theirs.device)), 0);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM passes WHERE resident_id = {}", theirs.resident)), 1);
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM residents WHERE id = {} AND name = '{THEIR_NAME}' AND moved_out_ms IS NULL",
            theirs.resident
        )),
        1
    );
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM pass_requests WHERE id = {} AND decided_ms IS NULL", theirs.request)),
        1
    );
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {} AND role = 'admin' AND disabled_ms IS NULL",
            theirs.admin
        )),
        1
    );
    assert_eq!(count(&format!("SELECT COUNT(*) FROM region_rules WHERE id = {}", theirs.rule)), 1);
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM sensors WHERE name = '{THEIR_SENSOR}' AND community = '{OTHER}'")),
        1
    );
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM service_requests WHERE id = {} AND taken_by IS NULL", theirs.task)),
        1
    );
    // Their admin sees their own records (the ids above were real).
    let (theirs_b, _) = login_as(&server, OTHER_ADMIN);
    let (status, body) = get(&theirs_b, &format!("{base}/passes/{}/card", theirs.pass));
    assert_eq!(status, 200);
    assert!(body.contains(THEIR_UNIT));
    let (_, residents) = get(&theirs_b, &format!("{base}/residents"));
    assert!(residents.contains(THEIR_NAME) && !residents.contains("Lotus"));
    let (_, checkins) = get(&theirs_b, &format!("{base}/checkins"));
    assert!(checkins.contains(THEIR_NAME), "their quarantined resident is on their own check-ins page");
    assert!(get(&theirs_b, &format!("{base}/tasks")).1.contains("plum note"));
}

#[test]
fn a_kiosk_gets_its_own_communitys_key_lists_and_presence_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let theirs = set_up_both(dir.path(), &server);
    // A kiosk of ours: our key only, our lists, our presence.
    let mut k = Kiosk::new(dir.path(), "second-lotus");
    k.enroll(&server.url(), &server.token("Lotus south gate"));
    k.add(1);
    let report = k.sync().unwrap();
    assert!(report.lists_updated);
    let trust = k.store.trust().unwrap();
    let plum_key = server.community(OTHER).key.verifying_key();
    assert!(
        !trust.keys.is_empty() && trust.keys.iter().all(|t| t.issuer == COMMUNITY && t.key != plum_key),
        "only our community's key"
    );
    // Their pass does not open our gate: signed by a key we do not trust.
    let their_text: String = server
        .db
        .call_blocking(|c| c.query_row("SELECT text FROM passes WHERE community = ?1", vals![OTHER], |r| r.get(0)))
        .unwrap();
    assert!(shoumen_protocol::pass::verify(&their_text, &trust, now_ms() / 1000, 0).is_err());
    let creds = k.store.sync_credentials().unwrap().unwrap();
    let http = reqwest::blocking::Client::new();
    let auth = format!("Bearer {}:{}", creds.device, creds.secret);
    let presence: serde_json::Value = http
        .get(format!("{}/api/v1/presence?since=0", server.url()))
        .header("Authorization", &auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let lists: serde_json::Value = http
        .get(format!("{}/api/v1/lists", server.url()))
        .header("Authorization", &auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    for (what, body) in [("presence", presence.to_string()), ("lists", lists.to_string())] {
        assert_eq!(leaks(&body, &theirs), Vec::<String>::new(), "{what}");
    }
    // Their quarantine is not on our list, though our kiosk's list is signed fresh.
    let bundle: shoumen_protocol::sync::ListBundle =
        serde_json::from_str(lists["bundle"]["bundle"].as_str().unwrap()).unwrap();
    assert_eq!(bundle.community, COMMUNITY);
    assert!(bundle.quarantine.items.is_empty());
    // Their presence (20 allowed scans) is not in ours; ours (5 + 1) is.
    let ours = presence["items"].as_array().unwrap().len();
    assert!(ours > 0 && ours <= 6, "{presence}");
    // A device id of theirs cannot be enrolled into ours, even once revoked.
    server.exec("UPDATE devices SET revoked = 1 WHERE id = ?1", vals![&theirs.device]);
    let key = hex::encode(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key().to_bytes());
    let body = serde_json::json!({"token": server.token("stolen"), "device": theirs.device, "device_key": key, "gate_name": ""});
    let r = http.post(format!("{}/api/v1/enroll", server.url())).json(&body).send().unwrap();
    assert_eq!(r.status(), 409, "{}", r.text().unwrap());
}

#[test]
fn the_district_sees_every_community_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    set_up_both(dir.path(), &server);
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    server.db.call_blocking(|c| db::add_user(c, "street-office", &hash, None, now_ms())).unwrap();
    let (b, token) = login_as(&server, "street-office");
    let base = server.url();
    let (status, page) = get(&b, &format!("{base}/district"));
    assert_eq!(status, 200);
    assert!(page.contains(COMMUNITY) && page.contains(OTHER), "both communities listed");
    // Their 21 entries (2 fevers refused) and our 5, and the open alerts.
    let row = |c: &str| page[page.find(&format!("<td>{c}</td>")).unwrap()..].split("</tr>").next().unwrap().to_string();
    assert!(row(OTHER).contains("<td>21</td>"), "{}", row(OTHER));
    assert!(row(COMMUNITY).contains("<td>5</td>"), "{}", row(COMMUNITY));
    assert!(row(OTHER).contains("class=\"bad\">2<"), "their two fevers: {}", row(OTHER));
    // A day with nothing: zeros. A bad day: a clear message.
    let (_, empty) = get(&b, &format!("{base}/district?day=2021-01-01"));
    assert!(!empty.contains("<td>21</td>"));
    assert_eq!(get(&b, &format!("{base}/district?day=yesterday")).0, 400);
    // A community's pages send the district to its overview; its forms change nothing.
    let r = b.get(format!("{base}/residents")).send().unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/district"));
    let (status, _, location) =
        post(&b, &format!("{base}/residents"), &[("csrf", &token), ("name", "Sneaky"), ("unit", "1-1")]);
    assert_eq!((status, location.as_deref()), (303, Some("/district")));
    assert_eq!(server.count("SELECT COUNT(*) FROM residents WHERE name = 'Sneaky'"), 0);
}

#[test]
fn a_visitor_at_their_gate_cannot_name_our_units() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let theirs = set_up_both(dir.path(), &server);
    server
        .db
        .call_blocking(|c| {
            community::add_resident(c, COMMUNITY, "Li Lei", "3-502", "", now_ms())
                .map_err(|e| db::DbError::Engine(e.to_string()))
        })
        .unwrap();
    let b = browser();
    let url = format!("{}/v/{}", server.url(), theirs.device);
    let (_, form) = get(&b, &url);
    let (status, body, _) = post(&b, &url, &[("unit", "3-502"), ("csrf", &csrf(&form))]);
    assert_eq!(status, 400, "our unit is unknown at their gate");
    assert!(body.contains(shoumen_server::web::t(shoumen_server::web::Lang::Zh, "unknown_unit")), "{body}");
    assert_eq!(server.count("SELECT COUNT(*) FROM passes WHERE role = 'visitor'"), 0);
}

#[test]
fn postgres_engine_is_tested_when_a_database_url_is_given() {
    if !on_postgres() {
        // Written past the test harness's capture, so the run shows it.
        let why = format!(
            "\nskipped: the PostgreSQL run of the server tests ({PG_VAR} is not set; CI sets it, see README)\n"
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), why.as_bytes());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    assert_eq!(server.db.engine(), shoumen_server::db::Engine::Postgres);
}
