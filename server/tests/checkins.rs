//! The twice-daily check-in and service requests (issue 18): who is on the
//! call list and when, the personal link's page (check in, ask for help),
//! a fever and a call for medical help raising alerts, and a volunteer
//! taking a task to done.

mod common;

use common::*;
use shoumen_server::checkins;
use shoumen_server::community;
use shoumen_server::db::now_ms;

const OFFSET: i32 = 480;

/// Local time in UTC+8 on 2026-11-29 as unix ms.
fn at(h: i64, m: i64) -> i64 {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() + (h * 60 + m) * 60_000 - 8 * 3_600_000
}

#[test]
fn the_call_list_shows_who_missed_the_slot_that_is_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    server
        .db
        .call_blocking(|c| {
            community::add_resident(c, COMMUNITY, "王芳", "3-502", "13800000001", 0).unwrap();
            community::add_resident(c, COMMUNITY, "李伟", "3-502", "13800000002", 0).unwrap();
            // A week of home quarantine from the 28th, 08:00.
            community::add_quarantine(c, COMMUNITY, "3-502", at(-16, 0) / 1000, at(24 * 6, 0) / 1000, "", 0).unwrap();
            let people = checkins::watched(c, COMMUNITY, at(10, 0) / 1000)?;
            assert_eq!(people.len(), 2, "both residents of the unit");
            let names = |list: Vec<(checkins::Person, Option<checkins::Report>)>| list.into_iter().map(|(p, _)| p.name).collect::<Vec<_>>();
            // At 10:59 the morning is not overdue yet; yesterday evening is.
            assert_eq!(names(checkins::missed(c, COMMUNITY, at(10, 59), OFFSET)?), ["王芳", "李伟"]);
            // Both check in in the morning; one of them too late for yesterday.
            let wang = people.iter().find(|p| p.name == "王芳").unwrap().clone();
            let li = people.iter().find(|p| p.name == "李伟").unwrap().clone();
            assert_eq!(checkins::check_in(c, COMMUNITY, &wang, "36.5", false, at(8, 30), OFFSET).unwrap(), None);
            assert_eq!(names(checkins::missed(c, COMMUNITY, at(11, 1), OFFSET)?), ["李伟"], "the morning is overdue at 11:00");
            assert_eq!(checkins::check_in(c, COMMUNITY, &li, "36.6", false, at(11, 30), OFFSET).unwrap(), None);
            assert!(checkins::missed(c, COMMUNITY, at(12, 0), OFFSET)?.is_empty(), "late, but in");
            // The evening: by 21:00 nobody has checked in.
            assert_eq!(names(checkins::missed(c, COMMUNITY, at(21, 5), OFFSET)?).len(), 2);
            // The last report goes with the name.
            let (_, last) = checkins::missed(c, COMMUNITY, at(21, 5), OFFSET)?.into_iter().find(|(p, _)| p.name == "王芳").unwrap();
            assert_eq!(last.unwrap().2, "36.5");
            // A check-in again in the same slot replaces the first.
            checkins::check_in(c, COMMUNITY, &wang, "36.7", false, at(9, 0), OFFSET).unwrap();
            assert_eq!(c.scalar("SELECT COUNT(*) FROM checkins WHERE subject = ?1", &[wang.key.clone().into()])?, 1);
            Ok(())
        })
        .unwrap();
}

/// The personal link of the first person on the Check-ins page.
fn personal_link(server: &TestServer) -> String {
    let (b, _) = login(server);
    let (_, page) = get(&b, &format!("{}/checkins", server.url()));
    let at = page.find("/c/lotus-gdn/").unwrap_or_else(|| panic!("a personal link: {page}"));
    page[at..at + page[at..].find('<').unwrap()].to_string()
}

#[test]
fn a_household_checks_in_and_asks_for_help_and_a_volunteer_sees_it_through() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    server
        .db
        .call_blocking(|c| {
            community::add_resident(c, COMMUNITY, "王芳", "3-502", "13800000001", 0).unwrap();
            let now_s = now_ms() / 1000;
            community::add_quarantine(c, COMMUNITY, "3-502", now_s - 2 * 86_400, now_s + 86_400, "", 0).unwrap();
            Ok(())
        })
        .unwrap();
    let link = personal_link(&server);
    // The resident's pass page shows the same link.
    let pass_link = server
        .db
        .call_blocking(|c| {
            let community = shoumen_server::db::community(c, COMMUNITY)?;
            let resident = c.scalar("SELECT id FROM residents WHERE name = '王芳'", &[])?;
            let req = community::PassRequest { role: shoumen_protocol::Role::Resident, unit: "3-502".into(), resident_id: Some(resident), valid_from: now_ms() / 1000 - 60, valid_s: 86_400, flags: 0, visitor_name: None, gate: None };
            Ok(community::issue_pass(c, &community, &req).unwrap().link_token)
        })
        .unwrap();
    let (_, pass_page) = get(&browser(), &format!("{base}/p/{pass_link}"));
    assert!(pass_page.contains(&format!("href=\"{link}\"")), "{pass_page}");
    let (admin, _) = login(&server);
    let (_, page) = get(&admin, &format!("{base}/checkins"));
    let list = &page[page.find("id=call-list").unwrap()..page.find("id=watched").unwrap()];
    assert!(list.contains("王芳") && list.contains("tel:13800000001"), "watched for two days, never checked in: {list}");

    // On the household's phone: no login, the link.
    let phone = browser();
    get(&phone, &format!("{base}/lang/en"));
    let (status, home) = get(&phone, &format!("{base}{link}"));
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("Home quarantine until"));
    let token = csrf(&home);
    let (status, page, _) = post(&phone, &format!("{base}{link}/checkin"), &[("temperature", "38.2"), ("symptoms", "no"), ("csrf", &token)]);
    assert_eq!(status, 200);
    assert!(page.contains("The committee has been told"), "{page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'checkin_fever'"), 1);
    assert_eq!(post(&phone, &format!("{base}{link}/checkin"), &[("temperature", "hot"), ("symptoms", "no"), ("csrf", &token)]).0, 400);
    // A request for groceries, then one for medical help (an alert).
    let (status, page, _) = post(&phone, &format!("{base}{link}/request"), &[("kind", "groceries"), ("note", "rice, eggs"), ("csrf", &token)]);
    assert_eq!(status, 200);
    assert!(page.contains("Your request is in") && page.contains("<td>Groceries</td>") && page.contains("<td>Open</td>"), "{page}");
    post(&phone, &format!("{base}{link}/request"), &[("kind", "medical"), ("note", "chest pain"), ("csrf", &token)]);
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'medical_help'"), 1);
    assert_eq!(post(&phone, &format!("{base}{link}/request"), &[("kind", "pizza"), ("note", ""), ("csrf", &token)]).0, 400);
    for _ in 0..3 {
        post(&phone, &format!("{base}{link}/request"), &[("kind", "rubbish"), ("note", ""), ("csrf", &token)]);
    }
    let (status, page, _) = post(&phone, &format!("{base}{link}/request"), &[("kind", "rubbish"), ("note", ""), ("csrf", &token)]);
    assert!(status == 400 && page.contains("5 open requests"), "a sixth open request is refused");
    // A forged link shows nothing.
    let forged = link.replace(&link[link.len() - 4..], "0000");
    assert_eq!(get(&phone, &format!("{base}{forged}")).0, 404);

    // A volunteer takes the groceries and marks them done.
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    let invite = server.db.call_blocking(|c| Ok(shoumen_server::accounts::invite(c, COMMUNITY, shoumen_server::roles::AccountRole::Volunteer, None, ADMIN, now_ms()))).unwrap().unwrap();
    server.db.call_blocking(move |c| Ok(shoumen_server::accounts::accept_invite(c, &invite, "volunteer-1", &hash, now_ms()))).unwrap().unwrap();
    let (vol, vol_csrf) = login_as(&server, "volunteer-1");
    let (_, tasks) = get(&vol, &format!("{base}/tasks"));
    assert!(tasks.contains("Medical help: chest pain") && tasks.contains("Groceries: rice, eggs"), "{tasks}");
    let id = server.count("SELECT id FROM service_requests WHERE kind = 'groceries'");
    assert_eq!(post(&vol, &format!("{base}/tasks/{id}/take"), &[("csrf", &vol_csrf)]).0, 303);
    assert!(get(&phone, &format!("{base}{link}")).1.contains("A volunteer is on it"));
    assert_eq!(post(&vol, &format!("{base}/tasks/{id}/done"), &[("csrf", &vol_csrf)]).0, 303);
    let (_, home) = get(&phone, &format!("{base}{link}"));
    assert!(home.contains("<td>Groceries</td>") && home.contains("<td>Done</td>"), "{home}");
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE action IN ('task.take', 'task.done') AND actor = 'volunteer-1'"), 2);
}
