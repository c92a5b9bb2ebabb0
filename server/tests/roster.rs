//! The duty roster (issue 32), through the pages: a volunteer signs up by
//! the public link and waits for the committee; confirmed, their page
//! shows their duty pass and the open shifts, and they sign up for one;
//! the committee makes shifts and puts people on them; the kiosks' duty
//! entries bound the hours (clipped to the shift, a missing sign-out to
//! the scheduled end, flagged); the month's hours come out as CSV and XLSX
//! with the stated columns, and as a certificate.

mod common;

use common::*;
use shoumen_gate::EntryDraft;
use shoumen_protocol::{Decision, Direction, EntryKind, PassId, Reason, Role};
use shoumen_server::db::now_ms;

const H: i64 = 3_600_000;

/// The shift form's fields for [start, start + hours) in the display zone (+08:00).
fn shift_fields(start_ms: i64, hours: i64) -> (String, String, String) {
    let local = |ms: i64| shoumen_server::web::fmt_ms(ms, 480);
    let (s, e) = (local(start_ms), local(start_ms + hours * H));
    (s[..10].to_string(), s[11..16].to_string(), e[11..16].to_string())
}

/// Signs up by the public link; the personal page's path.
fn join(server: &TestServer, name: &str, phone: &str) -> (reqwest::blocking::Client, String) {
    let phone_b = browser();
    let base = server.url();
    let (status, form) = get(&phone_b, &format!("{base}/join/{COMMUNITY}"));
    assert_eq!(status, 200, "{form}");
    let (status, body, location) = post(
        &phone_b,
        &format!("{base}/join/{COMMUNITY}"),
        &[("name", name), ("phone", phone), ("csrf", &csrf(&form))],
    );
    assert_eq!(status, 303, "{body}");
    (phone_b, location.expect("on to the personal page"))
}

fn duty(kiosk: &mut Kiosk, pass: &str, reason: Reason, at_ms: i64) {
    let seq = kiosk.store.head_seq().unwrap();
    let pass = PassId(hex::decode(pass).unwrap().try_into().unwrap());
    kiosk
        .store
        .append(&EntryDraft {
            wall_ms: at_ms,
            mono_ms: 1_000 + seq * 1_000,
            clock_synced: true,
            kind: EntryKind::Duty,
            direction: Direction::In,
            pass_id: Some(pass),
            role: Some(Role::Duty),
            decision: Decision::Allow,
            reason,
            temperature: None,
            note: None,
        })
        .unwrap();
}

/// The duty pass id on a volunteers-page row naming `name`.
fn pass_of(page: &str, name: &str) -> String {
    let row = &page[page.find(&format!("<td>{name}</td>")).unwrap_or_else(|| panic!("{name} on {page}"))..];
    let at = row.find("/passes/").expect("a duty pass") + "/passes/".len();
    row[at..at + 16].to_string()
}

#[test]
fn a_volunteer_signs_up_is_confirmed_serves_and_their_hours_are_the_shift_clipped_to_the_kiosks_sign_ins() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, admin_csrf) = login(&server);
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));

    // Signing up by the public link: pending, nothing to sign up for yet.
    let (phone, own) = join(&server, "Wang Fang", "13800000001");
    let (_, page) = get(&phone, &format!("{base}{own}"));
    assert!(page.contains("waiting for the committee to confirm you"), "{page}");
    assert!(!page.contains("Open my duty pass"));
    let (status, _) = get(&browser(), &format!("{base}/duty/{}", "0".repeat(64)));
    assert_eq!(status, 404, "a made-up personal link");

    // The committee confirms her, and adds a second volunteer by hand.
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    assert!(list.contains("Waiting for confirmation"), "{list}");
    let id_at = list.find("/roster/volunteers/").unwrap() + "/roster/volunteers/".len();
    let wang_id = &list[id_at..id_at + list[id_at..].find('/').unwrap()];
    let (status, body, _) = post(&b, &format!("{base}/roster/volunteers/{wang_id}/confirm"), &[("csrf", &admin_csrf)]);
    assert_eq!(status, 303, "{body}");
    let (status, added, _) = post(
        &b,
        &format!("{base}/roster/volunteers"),
        &[("name", "Li Lei"), ("phone", "13800000002"), ("csrf", &admin_csrf)],
    );
    assert_eq!(status, 200, "{added}");
    assert!(added.contains("id=\"new-link\"") && added.contains("/duty/"), "Li Lei's link shown once: {added}");
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    let (wang_pass, li_pass) = (pass_of(&list, "Wang Fang"), pass_of(&list, "Li Lei"));
    let (_, page) = get(&phone, &format!("{base}{own}"));
    assert!(page.contains("Open my duty pass"), "confirmed: her duty pass on her page: {page}");

    // Shifts: one this morning (over), one tomorrow with a place left.
    let now = now_ms();
    let morning = now - 6 * H;
    let tomorrow = now + 24 * H;
    for (start, hours, needed) in [(morning, 4, "2"), (tomorrow, 4, "2"), (now - 2 * H, 1, "1")] {
        let (day, from, to) = shift_fields(start, hours);
        let form = [
            ("gate", "North gate"),
            ("day", &day),
            ("from", &from),
            ("to", &to),
            ("needed", needed),
            ("csrf", &admin_csrf),
        ];
        let (status, body, _) = post(&b, &format!("{base}/roster/shifts"), &form);
        assert_eq!(status, 303, "{body}");
    }
    let shifts: Vec<(i64, i64)> = server
        .db
        .read_blocking(|c| {
            c.query_map("SELECT id, start_ms FROM shifts ORDER BY start_ms", &[], |r| Ok((r.get(0)?, r.get(1)?)))
        })
        .unwrap();
    let (morning_id, empty_id, tomorrow_id) = (shifts[0].0, shifts[1].0, shifts[2].0);
    let (morning, empty_start) = (shifts[0].1, shifts[1].1);

    // Wang signs up for tomorrow on her page; a shift over is not offered.
    let (_, page) = get(&phone, &format!("{base}{own}"));
    assert!(
        page.contains(&format!("/shifts/{tomorrow_id}\"")) && !page.contains(&format!("/shifts/{morning_id}\"")),
        "{page}"
    );
    let (status, body, _) = post(&phone, &format!("{base}{own}/shifts/{tomorrow_id}"), &[("csrf", &csrf(&page))]);
    assert_eq!(status, 303, "{body}");
    let (status, body, _) = post(&phone, &format!("{base}{own}/shifts/{morning_id}"), &[("csrf", &csrf(&page))]);
    assert_eq!(status, 400, "a volunteer cannot sign up for a shift already over: {body}");
    assert!(body.contains("这个班次已经结束"), "in her phone's language: {body}");

    // The committee writes this morning's paper roster down.
    let li_id: String = server
        .db
        .read_blocking(|c| c.query_row("SELECT id FROM volunteers WHERE name = 'Li Lei'", &[], |r| r.get::<i64>(0)))
        .unwrap()
        .to_string();
    for v in [wang_id, li_id.as_str()] {
        let (status, body, _) =
            post(&b, &format!("{base}/roster/shifts/{morning_id}/people"), &[("volunteer", v), ("csrf", &admin_csrf)]);
        assert_eq!(status, 303, "{body}");
    }

    // And Wang on the hour that has just passed, where she never showed.
    let (status, body, _) =
        post(&b, &format!("{base}/roster/shifts/{empty_id}/people"), &[("volunteer", wang_id), ("csrf", &admin_csrf)]);
    assert_eq!(status, 303, "{body}");

    // At the gate (recorded by the kiosk, synced later): Wang came 10 min
    // late and left 30 min after the end; Li came early and never signed out.
    duty(&mut north, &wang_pass, Reason::DutyStart, morning + 10 * 60_000);
    duty(&mut north, &wang_pass, Reason::DutyEnd, morning + 4 * H + 30 * 60_000);
    duty(&mut north, &li_pass, Reason::DutyStart, morning - 30 * 60_000);
    // Wang opened the console with her duty pass and let an ambulance in:
    // the gate core records the manual opening with her pass.
    let seq = north.store.head_seq().unwrap();
    north
        .store
        .append(&EntryDraft {
            wall_ms: morning + 60 * 60_000,
            mono_ms: 1_000 + seq * 1_000,
            clock_synced: true,
            kind: EntryKind::Manual,
            direction: Direction::In,
            pass_id: Some(PassId(hex::decode(&wang_pass).unwrap().try_into().unwrap())),
            role: Some(Role::Duty),
            decision: Decision::Allow,
            reason: Reason::ManualOpen,
            temperature: None,
            note: Some("ambulance".into()),
        })
        .unwrap();
    north.sync().unwrap();
    let (_, entries) = get(&b, &format!("{base}/entries?reason=manual_open"));
    let opened = &entries[entries.find("title=\"manual_open\"").expect("the manual opening on the Entries page")..];
    assert!(opened[..opened.find("</tr>").unwrap()].contains("Volunteer on duty: Wang Fang"), "{entries}");

    let month = shoumen_server::web::fmt_ms(morning, 480)[..7].to_string();
    let (_, hours) = get(&b, &format!("{base}/roster/hours?month={month}"));
    let totals = &hours[hours.find("id=\"hours-totals\"").unwrap()..hours.find("id=\"hours-shifts\"").unwrap()];
    assert!(totals.contains("<td>Wang Fang</td><td>1</td><td>3.83</td>"), "3 h 50 min: {totals}");
    assert!(totals.contains("<td>Li Lei</td><td>1</td><td>4.00</td>"), "to the scheduled end: {totals}");
    assert!(hours.contains("Not signed out: counted to the scheduled end"), "{hours}");

    // The export: the stated columns, one row per shift served.
    let csv = b.get(format!("{base}/roster/hours.csv?month={month}")).send().unwrap().text().unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "姓名,手机号,服务日期,开始时间,结束时间,服务时长（小时）,服务岗位,备注");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines.iter().any(|l| l.starts_with("Li Lei,13800000002,") && l.contains(",4.00,North gate,未签退")),
        "{csv}"
    );
    let xlsx = b.get(format!("{base}/roster/hours.xlsx?month={month}")).send().unwrap().bytes().unwrap();
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "志愿服务时长").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows[0][5], "服务时长（小时）");
    assert!(rows.iter().any(|r| r[0] == "Wang Fang" && r[5] == "3.83" && r[6] == "North gate"), "{rows:?}");

    // The certificate, and the week with its gaps.
    let (_, cert) = get(&b, &format!("{base}/roster/volunteers/{wang_id}/certificate?month={month}"));
    assert!(cert.contains("id=\"certificate\"") && cert.contains("Wang Fang") && cert.contains("3.83"), "{cert}");
    let (_, week) = get(&b, &format!("{base}/roster?week={}", &shoumen_server::web::fmt_ms(tomorrow, 480)[..10]));
    assert!(week.contains("Short by 1"), "tomorrow's shift needs one more: {week}");
    // The weeks of this morning and of the hour she missed (one week but
    // on a Monday morning): who signed in, and the no-show.
    let local = |ms: i64| shoumen_server::web::fmt_ms(ms, 480);
    let (_, week) = get(&b, &format!("{base}/roster?week={}", &local(morning)[..10]));
    assert!(week.contains("Signed in"), "{week}");
    let (_, week) = get(&b, &format!("{base}/roster?week={}", &local(empty_start)[..10]));
    assert!(week.contains("No-show"), "{week}");
    let (_, hours) = get(&b, &format!("{base}/roster/hours?month={}", &local(empty_start)[..7]));
    assert!(hours.contains("No-show"), "the hour she missed: {hours}");
}

/// A quarter of an hour into a shift, a gate where nobody is signed in
/// for duty raises one alert for the committee; a gate someone staffs
/// raises none, whoever was rostered.
#[test]
fn a_gate_nobody_staffs_a_quarter_of_an_hour_into_a_shift_raises_one_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, admin_csrf) = login(&server);
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));
    let mut south = Kiosk::new(dir.path(), "south");
    south.enroll(&base, &server.token("South gate"));
    let now = now_ms();
    for (gate, start) in
        [("North gate", now - 20 * 60_000), ("South gate", now - 20 * 60_000), ("South gate", now - 5 * 60_000)]
    {
        let (day, from, to) = shift_fields(start, 2);
        let form =
            [("gate", gate), ("day", &day), ("from", &from), ("to", &to), ("needed", "1"), ("csrf", &admin_csrf)];
        let (status, body, _) = post(&b, &format!("{base}/roster/shifts"), &form);
        assert_eq!(status, 303, "{body}");
    }
    // Someone signed in at the north gate (with a pass of no volunteer's: the gate is staffed all the same).
    duty(&mut north, "0102030405060708", Reason::DutyStart, now - 25 * 60_000);
    north.sync().unwrap();
    let check = || server.db.call_blocking(move |c| shoumen_server::ops::roster::check_unstaffed(c, now_ms())).unwrap();
    // The server's own minute look may have run it first: count what is raised.
    check();
    assert_eq!(check(), 0, "once per shift");
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'gate_unstaffed'"),
        1,
        "the south gate's first shift only: the second is 5 minutes in, the north gate is staffed"
    );
    let (_, alerts) = get(&b, &format!("{base}/alerts"));
    assert!(alerts.contains("nobody has signed in for duty at the gate") && alerts.contains("South gate"), "{alerts}");
    assert!(alerts.contains("0 rostered, nobody signed in"), "{alerts}");
}

/// A shift starting within the hour is announced once to the community's
/// robot: where, when, who, and how many are missing.
#[test]
fn a_shift_starting_within_the_hour_is_announced_to_the_robot_once() {
    use shoumen_server::records::roster;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let receiver = Receiver::start(0);
    let hook = shoumen_server::webhook::Webhook::new(&receiver.url, "wecom", "").unwrap();
    server.db.call_blocking(|c| shoumen_server::webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&server.url(), &server.token("North gate"));
    let now = now_ms();
    server
        .db
        .call_blocking(move |c| {
            let v = roster::add(c, COMMUNITY, "Zhao Min", "13800000003", "zhao-link", roster::Standing::Active, now)
                .unwrap();
            let soon =
                roster::add_shift(c, COMMUNITY, "North gate", now + 30 * 60_000, now + 150 * 60_000, 2, now).unwrap();
            roster::join(c, COMMUNITY, soon, v, now, false).unwrap();
            // Tomorrow's is not due yet.
            roster::add_shift(c, COMMUNITY, "North gate", now + 24 * H, now + 26 * H, 1, now).unwrap();
            Ok(())
        })
        .unwrap();
    let remind = || server.db.call_blocking(move |c| shoumen_server::ops::roster::remind(c, now_ms())).unwrap();
    // The server's own minute look may have run it first: count what is queued.
    remind();
    assert_eq!(remind(), 0, "once per shift");
    assert_eq!(
        server.count("SELECT COUNT(*) FROM webhook_outbox WHERE summary_day LIKE 'shift:%'"),
        1,
        "tomorrow's is not due"
    );
    let body = receiver.wait_for("值班提醒").expect("the reminder reached the robot");
    assert!(body.contains("North gate") && body.contains("Zhao Min") && body.contains("缺 1 人"), "{body}");
}
