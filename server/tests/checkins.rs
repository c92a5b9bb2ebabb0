//! The twice-daily check-in and service requests (issue 18): who is on the
//! call list and when, the personal link's page (check in, ask for help),
//! a fever and a call for medical help raising alerts, and a volunteer
//! taking a task to done.

mod common;

use common::*;
use shoumen_server::db::now_ms;
use shoumen_server::records::checkins;
use shoumen_server::records::community;

const OFFSET: i32 = 480;

/// Local time in UTC+8 on 2026-11-29 as unix ms.
fn at(h: i64, m: i64) -> i64 {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis()
        + (h * 60 + m) * 60_000
        - 8 * 3_600_000
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
            let names = |list: Vec<(checkins::Person, Option<checkins::Report>)>| {
                list.into_iter().map(|(p, _)| p.name).collect::<Vec<_>>()
            };
            // At 10:59 the morning is not overdue yet; yesterday evening is.
            assert_eq!(names(checkins::missed(c, COMMUNITY, at(10, 59), OFFSET)?), ["王芳", "李伟"]);
            // Both check in in the morning; one of them too late for yesterday.
            let wang = people.iter().find(|p| p.name == "王芳").unwrap().clone();
            let li = people.iter().find(|p| p.name == "李伟").unwrap().clone();
            assert_eq!(checkins::check_in(c, COMMUNITY, &wang, "36.5", false, at(8, 30), OFFSET).unwrap(), None);
            assert_eq!(
                names(checkins::missed(c, COMMUNITY, at(11, 1), OFFSET)?),
                ["李伟"],
                "the morning is overdue at 11:00"
            );
            assert_eq!(checkins::check_in(c, COMMUNITY, &li, "36.6", false, at(11, 30), OFFSET).unwrap(), None);
            assert!(checkins::missed(c, COMMUNITY, at(12, 0), OFFSET)?.is_empty(), "late, but in");
            // The evening: by 21:00 nobody has checked in.
            assert_eq!(names(checkins::missed(c, COMMUNITY, at(21, 5), OFFSET)?).len(), 2);
            // The last report goes with the name.
            let (_, last) =
                checkins::missed(c, COMMUNITY, at(21, 5), OFFSET)?.into_iter().find(|(p, _)| p.name == "王芳").unwrap();
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
            let req = community::PassRequest {
                role: shoumen_protocol::Role::Resident,
                unit: "3-502".into(),
                resident_id: Some(resident),
                valid_from: now_ms() / 1000 - 60,
                valid_s: 86_400,
                flags: 0,
                visitor_name: None,
                gate: None,
            };
            Ok(community::issue_pass(c, &community, &req).unwrap().link_token)
        })
        .unwrap();
    let (_, pass_page) = get(&browser(), &format!("{base}/p/{pass_link}"));
    assert!(pass_page.contains(&format!("href=\"{link}\"")), "{pass_page}");
    let (admin, _) = login(&server);
    let (_, page) = get(&admin, &format!("{base}/checkins"));
    let list = &page[page.find("id=\"call-list\"").unwrap()..page.find("id=\"watched\"").unwrap()];
    assert!(
        list.contains("王芳") && list.contains("tel:13800000001"),
        "watched for two days, never checked in: {list}"
    );
    // The caller says what came of the call; the list shows it, and who.
    let (admin, admin_csrf) = login(&server);
    let at = list.find("data-subject=\"").unwrap() + 14;
    let subject = &list[at..at + list[at..].find('"').unwrap()];
    let form = [("csrf", admin_csrf.as_str()), ("outcome", "no_answer"), ("note", "try after 6")];
    assert_eq!(post(&admin, &format!("{base}/checkins/{subject}/call"), &form).0, 303);
    let bad = [("csrf", admin_csrf.as_str()), ("outcome", "maybe"), ("note", "")];
    assert_eq!(post(&admin, &format!("{base}/checkins/{subject}/call"), &bad).0, 400);
    assert_eq!(post(&admin, &format!("{base}/checkins/r999999/call"), &form).0, 404, "not someone under watch");
    let (_, page) = get(&admin, &format!("{base}/checkins"));
    let list = &page[page.find("id=\"call-list\"").unwrap()..page.find("id=\"watched\"").unwrap()];
    assert!(list.contains("<b>No answer</b> · admin") && list.contains("try after 6"), "{list}");
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE action = 'call.record'"), 1);
    // A card to print for the home: its personal link as a QR code.
    let (status, card) = get(&admin, &format!("{base}/checkins/{subject}/card"));
    assert!(status == 200 && card.contains("id=\"checkin-card\"") && card.contains("<svg"), "{card}");
    assert!(card.contains("3-502 · 王芳"), "{card}");

    // On the household's phone: no login, the link.
    let phone = browser();
    get(&phone, &format!("{base}/lang/en"));
    let (status, home) = get(&phone, &format!("{base}{link}"));
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("Home quarantine until"));
    let token = csrf(&home);
    let (status, page, _) = post(
        &phone,
        &format!("{base}{link}/checkin"),
        &[("temperature", "38.2"), ("symptoms", "no"), ("csrf", &token)],
    );
    assert_eq!(status, 200);
    assert!(page.contains("The committee has been told"), "{page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'checkin_fever'"), 1);
    assert_eq!(
        post(&phone, &format!("{base}{link}/checkin"), &[("temperature", "hot"), ("symptoms", "no"), ("csrf", &token)])
            .0,
        400
    );
    // A request for groceries, then one for medical help (an alert).
    let (status, page, _) = post(
        &phone,
        &format!("{base}{link}/request"),
        &[("kind", "groceries"), ("note", "rice, eggs"), ("csrf", &token)],
    );
    assert_eq!(status, 200);
    let page = without_cell_labels(&page);
    assert!(
        page.contains("Your request is in")
            && page.contains("<td>Groceries: rice, eggs</td>")
            && page.contains("<td>Open</td>"),
        "{page}"
    );
    post(&phone, &format!("{base}{link}/request"), &[("kind", "medical"), ("note", "chest pain"), ("csrf", &token)]);
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'medical_help'"), 1);
    assert_eq!(
        post(&phone, &format!("{base}{link}/request"), &[("kind", "pizza"), ("note", ""), ("csrf", &token)]).0,
        400
    );
    for _ in 0..3 {
        post(&phone, &format!("{base}{link}/request"), &[("kind", "rubbish"), ("note", ""), ("csrf", &token)]);
    }
    let (status, page, _) =
        post(&phone, &format!("{base}{link}/request"), &[("kind", "rubbish"), ("note", ""), ("csrf", &token)]);
    assert!(status == 400 && page.contains("5 open requests"), "a sixth open request is refused");
    // A forged link shows nothing.
    let forged = link.replace(&link[link.len() - 4..], "0000");
    assert_eq!(get(&phone, &format!("{base}{forged}")).0, 404);

    // A volunteer takes the groceries and marks them done.
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    let invite = server
        .db
        .call_blocking(|c| {
            Ok(shoumen_server::records::accounts::invite(
                c,
                COMMUNITY,
                shoumen_server::leaves::roles::AccountRole::Volunteer,
                None,
                ADMIN,
                now_ms(),
            ))
        })
        .unwrap()
        .unwrap();
    server
        .db
        .call_blocking(move |c| {
            Ok(shoumen_server::records::accounts::accept_invite(c, &invite, "volunteer-1", &hash, now_ms()))
        })
        .unwrap()
        .unwrap();
    let (vol, vol_csrf) = login_as(&server, "volunteer-1");
    // The volunteer gives the name and phone the home will see.
    let profile = [("csrf", vol_csrf.as_str()), ("name", "李娜"), ("phone", "139 0000 0002")];
    assert_eq!(post(&vol, &format!("{base}/account/profile"), &profile).0, 200);
    let (_, tasks) = get(&vol, &format!("{base}/tasks"));
    assert!(tasks.contains("Medical help: chest pain") && tasks.contains("Groceries: rice, eggs"), "{tasks}");
    let id = server.count("SELECT id FROM service_requests WHERE kind = 'groceries'");
    assert_eq!(post(&vol, &format!("{base}/tasks/{id}/take"), &[("csrf", &vol_csrf)]).0, 303);
    let (_, home) = get(&phone, &format!("{base}{link}"));
    assert!(home.contains("A volunteer is on it"), "{home}");
    assert!(home.contains("李娜 <a href=\"tel:139 0000 0002\">139 0000 0002</a>"), "whom to expect: {home}");
    let (_, tasks) = get(&vol, &format!("{base}/tasks"));
    assert!(tasks.contains("李娜 139 0000 0002"), "{tasks}");
    assert_eq!(post(&vol, &format!("{base}/tasks/{id}/done"), &[("csrf", &vol_csrf)]).0, 303);
    let (_, home) = get(&phone, &format!("{base}{link}"));
    assert!(home.contains("<td>Groceries: rice, eggs</td>") && home.contains("<td>Done</td>"), "{home}");
    assert_eq!(
        server.count("SELECT COUNT(*) FROM audit WHERE action IN ('task.take', 'task.done') AND actor = 'volunteer-1'"),
        2
    );
}

/// Sets up `community` (made if new) with 王芳 of 3-502 under home
/// quarantine and a WeCom robot at `hook`; returns her personal link.
fn quarantined_home(server: &TestServer, community: &'static str, hook: &str) -> String {
    let hook = hook.to_string();
    server
        .db
        .call_blocking(move |c| {
            if !shoumen_server::db::communities(c)?.iter().any(|x| x == community) {
                let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
                shoumen_server::db::init(c, community, &format!("{community}-admin"), &hash, now_ms())?;
            }
            let id = community::add_resident(c, community, "王芳", "3-502", "13800000001", 0).unwrap();
            let now_s = now_ms() / 1000;
            community::add_quarantine(c, community, "3-502", now_s - 86_400, now_s + 86_400, "", 0).unwrap();
            let h = shoumen_server::webhook::Webhook {
                url: hook,
                format: shoumen_server::webhook::Format::WeCom,
                secret: String::new(),
            };
            shoumen_server::webhook::set(c, community, Some(&h))?;
            Ok(format!("/c/{community}/{}", checkins::token(c, community, &format!("r{id}"))?))
        })
        .unwrap()
}

#[test]
fn the_same_unit_in_two_communities_is_two_households_and_two_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (lotus_hook, plum_hook) = (Receiver::start(0), Receiver::start(0));
    let lotus = quarantined_home(&server, COMMUNITY, &lotus_hook.url);
    let plum = quarantined_home(&server, "plum-court", &plum_hook.url);
    let ask = |link: &str, note: &str| {
        let phone = browser();
        let (_, home) = get(&phone, &format!("{base}{link}"));
        let (status, _, _) = post(
            &phone,
            &format!("{base}{link}/request"),
            &[("kind", "medical"), ("note", note), ("csrf", &csrf(&home))],
        );
        assert_eq!(status, 200);
    };
    // Lotus's 3-502 asks for medical help; lotus's committee sees to it.
    ask(&lotus, "lotus fever");
    assert!(lotus_hook.wait_for("3-502").is_some());
    server.exec("UPDATE alerts SET acked = 1, acked_by = 'admin' WHERE community = ?1", &[COMMUNITY.into()]);
    // Plum's 3-502 asks for medical help with the same words: plum's alert,
    // plum's robot; lotus's alert stays as its committee left it.
    ask(&plum, "lotus fever");
    assert!(plum_hook.wait_for("3-502").is_some(), "plum's committee is told");
    let count = |sql: &str| server.count(sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM alerts WHERE kind = 'medical_help' AND community = 'plum-court' AND acked = 0"),
        1
    );
    assert_eq!(count("SELECT COUNT(*) FROM alerts WHERE kind = 'medical_help' AND community = 'lotus-gdn' AND acked = 1 AND count = 1"), 1);
    let queued_for_lotus =
        "SELECT COUNT(*) FROM webhook_outbox o JOIN alerts a ON a.id = o.alert_id WHERE a.community = 'lotus-gdn'";
    assert_eq!(count(queued_for_lotus), 1, "lotus's robot hears of lotus's call only");
}

#[test]
fn a_personal_link_is_looked_up_by_its_key_and_rate_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.rate_per_minute = 20);
    let base = server.url();
    let link = quarantined_home(&server, COMMUNITY, "http://127.0.0.1:9/none");
    let phone = browser();
    for i in 0..20 {
        assert_eq!(get(&phone, &format!("{base}{link}")).0, 200, "visit {i}");
    }
    let (status, page) = get(&phone, &format!("{base}{link}"));
    assert_eq!(status, 429, "the 21st visit in a minute from one address: {page}");
    // One lookup by key, whoever else is watched: a stranger's key is nobody.
    let person = server.db.call_blocking(|c| checkins::by_key(c, COMMUNITY, "r999999", now_ms() / 1000)).unwrap();
    assert!(person.is_none());
}
