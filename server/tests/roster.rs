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

/// Signs up by the public link and is confirmed by the committee (`b`,
/// with its form token): the phone, the personal page's path, the id.
fn joined_and_confirmed(
    server: &TestServer,
    b: &Browser,
    admin_csrf: &str,
    name: &str,
    phone: &str,
) -> (Browser, String, i64) {
    let (phone_b, own) = join(server, name, phone);
    let name_owned = name.to_string();
    let id: i64 = server
        .db
        .read_blocking(move |c| {
            c.query_row("SELECT id FROM volunteers WHERE name = ?1", &[name_owned.as_str().into()], |r| r.get(0))
        })
        .unwrap();
    let base = server.url();
    let (status, body, _) = post(b, &format!("{base}/roster/volunteers/{id}/confirm"), &[("csrf", admin_csrf)]);
    assert_eq!(status, 303, "{body}");
    (phone_b, own, id)
}

/// The path after `marker` on `page`, up to the closing quote.
fn link_after(page: &str, marker: &str) -> String {
    let at = page.find(marker).unwrap_or_else(|| panic!("{marker} on {page}"));
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

/// A volunteer's phone opens their duty pass from their own page: the pass
/// binds to the phone's key, and the phone shows live codes made with it.
fn duty_phone(base: &str, own_page: &str, key: u8) -> (String, ed25519_dalek::SigningKey) {
    let phone = ed25519_dalek::SigningKey::from_bytes(&[key; 32]);
    let link = link_after(own_page, "/p/");
    let answer = browser()
        .post(format!("{base}{link}/holder"))
        .form(&[("alg", "Ed25519"), ("key", &hex::encode(phone.verifying_key().as_bytes()))])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|_| panic!("{answer}"));
    (answer["pass"].as_str().unwrap().to_string(), phone)
}

/// Issue 32's day at the gate, through the release kiosk binary against a
/// real server: a volunteer joins by the link, signs up for a shift; at a
/// kiosk that stays offline until the end she signs in with her phone's
/// duty code, opens the console with it and opens the gate by hand with a
/// reason, and signs out; a photo of her code opens nothing. A second
/// volunteer never signs out; a shift at another gate has nobody. After
/// the sync the server's pages, on a clock hours later, show her shift
/// clipped to her sign-in and sign-out, his to the scheduled end and
/// flagged, the manual opening in her name, the chain intact, and the
/// alert for the empty gate. The kiosk's clock is moved forward with
/// faketime so that hours pass in seconds (after a restart without the
/// network it cannot vouch for it, as the entries say).
#[test]
fn a_volunteer_signs_in_at_an_offline_release_kiosk_opens_its_console_and_the_server_counts_her_shift() {
    use common::release_kiosk::{kiosk_and_faketime, spawn_server, Gate};
    let bin = match kiosk_and_faketime() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, admin_csrf) = login(&server);
    let north = Gate::new(&bin, dir.path(), "North gate");
    north.run("+0", "boot-0", &["enroll", &base, &server.token("North gate")]);
    let mut south = Kiosk::new(dir.path(), "south");
    south.enroll(&base, &server.token("South gate"));

    // Wang joins by the link and is confirmed; the committee adds Li.
    let (phone_b, own, _) = joined_and_confirmed(&server, &b, &admin_csrf, "Wang Fang", "13800000001");
    let (status, added, _) = post(
        &b,
        &format!("{base}/roster/volunteers"),
        &[("name", "Li Lei"), ("phone", "13800000002"), ("csrf", &admin_csrf)],
    );
    assert_eq!(status, 200, "{added}");
    let li_own = link_after(&added, "/duty/");

    // Two shifts an hour from now, three hours at the North gate and two at
    // the South gate.
    let t0 = now_ms();
    for (gate, hours) in [("North gate", 3), ("South gate", 2)] {
        let (day, from, to) = shift_fields(t0 + H, hours);
        let form =
            [("gate", gate), ("day", &day), ("from", &from), ("to", &to), ("needed", "2"), ("csrf", &admin_csrf)];
        let (status, body, _) = post(&b, &format!("{base}/roster/shifts"), &form);
        assert_eq!(status, 303, "{body}");
    }
    let shifts: Vec<(i64, String, i64, i64)> = server
        .db
        .read_blocking(|c| {
            c.query_map("SELECT id, gate, start_ms, end_ms FROM shifts ORDER BY gate", &[], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
        })
        .unwrap();
    let (north_shift, start, end) = (shifts[0].0, shifts[0].2, shifts[0].3);
    assert_eq!((shifts[0].1.as_str(), shifts[1].1.as_str()), ("North gate", "South gate"));
    // Wang signs up on her page; the committee puts Li on the same shift.
    let (_, page) = get(&phone_b, &format!("{base}{own}"));
    let (status, body, _) = post(&phone_b, &format!("{base}{own}/shifts/{north_shift}"), &[("csrf", &csrf(&page))]);
    assert_eq!(status, 303, "{body}");
    let li_id: i64 = server
        .db
        .read_blocking(|c| c.query_row("SELECT id FROM volunteers WHERE name = 'Li Lei'", &[], |r| r.get(0)))
        .unwrap();
    let (status, body, _) = post(
        &b,
        &format!("{base}/roster/shifts/{north_shift}/people"),
        &[("volunteer", &li_id.to_string()), ("csrf", &admin_csrf)],
    );
    assert_eq!(status, 303, "{body}");

    // Their phones open their duty passes.
    let (_, page) = get(&phone_b, &format!("{base}{own}"));
    let (wang_pass, wang_phone) = duty_phone(&base, &page, 31);
    let (_, page) = get(&browser(), &format!("{base}{li_own}"));
    let (li_pass, li_phone) = duty_phone(&base, &page, 32);
    // A live code as the phone shows it `after` from now, in a file.
    let code = |pass: &str, phone: &ed25519_dalek::SigningKey, name: &str, after_ms: i64| {
        let made_s = (now_ms() + after_ms) / 1000;
        let path = dir.path().join(format!("{name}.txt"));
        std::fs::write(&path, shoumen_protocol::holder::make_code_ed25519(pass, made_s, phone).unwrap()).unwrap();
        path.display().to_string()
    };

    // The kiosk syncs once (lists, the server's time), then loses the network.
    assert!(north.run("+0", "boot-0", &["sync", "--now"]).contains("time set by the server"));
    // A photo of Wang's code taken two minutes ago opens no console.
    let photo = code(&wang_pass, &wang_phone, "photo", -2 * 60_000);
    let relay = |at: &str, boot: &str, by: &str| {
        north.output(at, boot, &["--sim", "hw", "relay", "--pulse", "200", "--reason", "送药上门", "--by", by])
    };
    let refused = relay("+0", "boot-0", &photo);
    let said = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(
        !refused.status.success() && said.contains("console stays locked") && said.contains("code_expired"),
        "{said}"
    );

    // Li comes five minutes early; Wang ten minutes late.
    let at = |min: i64| format!("+{min}m");
    let li_in = code(&li_pass, &li_phone, "li-in", 55 * 60_000);
    assert_eq!(north.check(&at(55), "boot-1", &[&li_in]).0, [("allow".to_string(), "duty_start".to_string())]);
    let wang_in = code(&wang_pass, &wang_phone, "wang-in", 70 * 60_000);
    assert_eq!(north.check(&at(70), "boot-2", &[&wang_in]).0, [("allow".to_string(), "duty_start".to_string())]);
    // At two hours she opens the console with her code and the gate by hand.
    let wang_console = code(&wang_pass, &wang_phone, "wang-console", 120 * 60_000);
    let opened = relay(&at(120), "boot-3", &wang_console);
    let said = String::from_utf8_lossy(&opened.stdout).to_string();
    assert!(opened.status.success() && said.contains("console opened by duty pass"), "{said}{:?}", opened);
    // She signs out half an hour after the shift's end; Li never does.
    let wang_out = code(&wang_pass, &wang_phone, "wang-out", 270 * 60_000);
    assert_eq!(north.check(&at(270), "boot-4", &[&wang_out]).0, [("allow".to_string(), "duty_end".to_string())]);

    // What the kiosk wrote, in order: the refused photo, the sign-ins, the
    // console and the opening in her name, the sign-out.
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    let (w, l) = (Some(pass_of(&list, "Wang Fang")), Some(pass_of(&list, "Li Lei")));
    let log = north.entries();
    let seen: Vec<(&str, Option<String>)> =
        log.iter().map(|e| (e.reason.as_str(), e.pass_id.map(|p| p.to_hex()))).collect();
    assert_eq!(
        seen,
        [
            ("code_expired", w.clone()),
            ("duty_start", l.clone()),
            ("duty_start", w.clone()),
            ("console_opened", w.clone()),
            ("manual_open", w.clone()),
            ("duty_end", w),
        ]
    );
    assert_eq!(log[4].note.as_deref(), Some("送药上门"));
    assert!(log[1..].iter().all(|e| !e.clock_synced), "restarted offline, the kiosk cannot vouch for its clock");
    let wang_in_ms = log[2].wall_ms;

    // Back online: one sync; the kiosk's chain on the server is intact.
    north.run("+0", "boot-5", &["sync", "--now"]);
    let device: String = server
        .db
        .read_blocking(|c| c.query_row("SELECT id FROM devices WHERE gate_name = 'North gate'", &[], |r| r.get(0)))
        .unwrap();
    let verified = server.db.call_blocking(move |c| Ok(shoumen_server::records::ingest::verify_chain(c, &device)));
    assert_eq!(verified.unwrap().unwrap(), 6, "intact to the kiosk's last entry");
    // Twenty minutes into the South gate's shift, the minute's look finds nobody there.
    let south_start = shifts[1].2;
    let look = move |c: &mut dyn shoumen_server::db::Conn| {
        shoumen_server::ops::roster::check_unstaffed(c, south_start + 20 * 60_000)
    };
    assert_eq!(server.db.call_blocking(look).unwrap(), 1, "the South gate only: Li and Wang are at the North gate");
    drop(b);
    drop(server);

    // The committee's pages an hour after the North gate's shift, from
    // the server binary on the same database, its clock moved on.
    let later = format!("+{}m", (end - now_ms()) / 60_000 + 60);
    let later_server = spawn_server(&target(dir.path()), Some(&later));
    let base = format!("http://{}", later_server.addr);
    let (b, _) = login_at(&base, ADMIN);
    let month = shoumen_server::web::fmt_ms(start, 480)[..7].to_string();
    let csv = b.get(format!("{base}/roster/hours.csv?month={month}")).send().unwrap().text().unwrap();
    let rows: Vec<Vec<String>> =
        csv.trim_start_matches('\u{feff}').lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect();
    let row_of = |name: &str| rows.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("{name} in {csv}")).clone();
    let (wang, li) = (row_of("Wang Fang"), row_of("Li Lei"));
    // Whole minutes, as platforms count them, in hours.
    let hours = |from: i64, to: i64| format!("{:.2}", ((to - from) / 60_000) as f64 / 60.0);
    let hm = |ms: i64| shoumen_server::web::fmt_ms(ms, 480)[11..16].to_string();
    // Hers from her sign-in to the shift's end (she left later); his the
    // whole shift (he came early), to its scheduled end, flagged.
    assert_eq!(
        wang[3..8],
        [hm(wang_in_ms), hm(end), hours(wang_in_ms, end), "North gate".into(), String::new()],
        "Wang"
    );
    assert_eq!(li[3..6], [hm(start), hm(end), hours(start, end)], "Li");
    assert!(li[7].starts_with("未签退"), "Li, not signed out: {li:?}");
    println!("hours after the sync: Wang Fang {} h, Li Lei {} h ({})", wang[5], li[5], li[7]);
    let (_, entries) = get(
        &b,
        &format!("{base}/entries?reason=manual_open&from={}", &shoumen_server::web::fmt_ms(log[4].wall_ms, 480)[..10]),
    );
    let opened = &entries[entries.find("title=\"manual_open\"").expect("the manual opening on the Entries page")..];
    assert!(opened[..opened.find("</tr>").unwrap()].contains("Volunteer on duty: Wang Fang"), "{entries}");
    let (_, alerts) = get(&b, &format!("{base}/alerts"));
    assert!(alerts.contains("South gate, the shift from"), "{alerts}");
}

/// A volunteer who stops: the committee stands them down. Their duty pass
/// is withdrawn (a kiosk refuses it after its next sync), they come off
/// the shifts to come, their page says so, and the shift they served stays
/// theirs with its hours.
#[test]
fn a_volunteer_stood_down_loses_the_duty_pass_and_the_shifts_to_come_and_keeps_the_hours_served() {
    use shoumen_gate::{step, Effect, Event, GateState, Now, Policy};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, admin_csrf) = login(&server);
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));
    let (phone_b, own, id) = joined_and_confirmed(&server, &b, &admin_csrf, "Wang Fang", "13800000001");
    let (_, page) = get(&phone_b, &format!("{base}{own}"));
    let (pass, phone) = duty_phone(&base, &page, 41);
    // A shift served this morning, one tomorrow.
    let now = now_ms();
    for start in [now - 6 * H, now + 24 * H] {
        let (day, from, to) = shift_fields(start, 2);
        let form = [
            ("gate", "North gate"),
            ("day", &day),
            ("from", &from),
            ("to", &to),
            ("needed", "1"),
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
    for (shift, _) in &shifts {
        let (status, body, _) = post(
            &b,
            &format!("{base}/roster/shifts/{shift}/people"),
            &[("volunteer", &id.to_string()), ("csrf", &admin_csrf)],
        );
        assert_eq!(status, 303, "{body}");
    }
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    let pass_id = pass_of(&list, "Wang Fang");
    duty(&mut north, &pass_id, Reason::DutyStart, shifts[0].1);
    duty(&mut north, &pass_id, Reason::DutyEnd, shifts[0].1 + H);
    north.sync().unwrap();

    let (status, body, _) = post(&b, &format!("{base}/roster/volunteers/{id}/stand-down"), &[("csrf", &admin_csrf)]);
    assert_eq!(status, 303, "{body}");
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    assert!(list.contains("Stood down") && !list.contains("/stand-down"), "{list}");
    let (status, _, _) = post(&b, &format!("{base}/roster/volunteers/{id}/stand-down"), &[("csrf", &admin_csrf)]);
    assert_eq!(status, 404, "only an active volunteer stands down");
    let (_, page) = get(&phone_b, &format!("{base}{own}"));
    assert!(page.contains("id=\"stood-down\"") && !page.contains("Open my duty pass"), "{page}");
    let on = |shift: i64| server.count(&format!("SELECT COUNT(*) FROM shift_people WHERE shift_id = {shift}"));
    assert_eq!((on(shifts[0].0), on(shifts[1].0)), (1, 0), "off tomorrow's shift, still on this morning's");
    let month = shoumen_server::web::fmt_ms(shifts[0].1, 480)[..7].to_string();
    let (_, hours) = get(&b, &format!("{base}/roster/hours?month={month}"));
    assert!(hours.contains("<td>Wang Fang</td><td>1</td><td>1.00</td>"), "the hour served stays: {hours}");

    // The kiosk's next sync brings the withdrawal: her live code is refused.
    north.sync().unwrap();
    let mut gate = GateState::new(Policy::default(), north.store.lists().unwrap(), Default::default());
    let at = now_ms();
    let code = shoumen_protocol::holder::make_code_ed25519(&pass, at / 1000, &phone).unwrap();
    let effects = step(&mut gate, Event::PassRead { text: code, direction: None }, Now::vouched(at, 1_000));
    let reasons: Vec<Reason> =
        effects.iter().filter_map(|e| if let Effect::Record(d) = e { Some(d.reason) } else { None }).collect();
    assert_eq!(reasons, [Reason::Revoked]);
}

/// Day 170 of a 180-day duty pass: the committee's list and the
/// volunteer's page say it expires soon; renewed, the old pass is
/// withdrawn, the new one opens on the phone, and the shift served with
/// the old one still counts.
#[test]
fn a_duty_pass_about_to_expire_is_flagged_and_renewed_and_the_hours_served_with_the_old_one_stay() {
    use shoumen_gate::{step, Effect, Event, GateState, Now, Policy};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, admin_csrf) = login(&server);
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));
    let (phone_b, own, id) = joined_and_confirmed(&server, &b, &admin_csrf, "Wang Fang", "13800000001");
    let (_, page) = get(&phone_b, &format!("{base}{own}"));
    assert!(!page.contains("id=\"renew\""), "a new pass: {page}");
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    let old = pass_of(&list, "Wang Fang");
    assert!(!list.contains("id=\"expiring\"") && list.contains("valid until"), "{list}");

    // A shift served this morning with the old pass.
    let start = now_ms() - 6 * H;
    let (day, from, to) = shift_fields(start, 2);
    let form =
        [("gate", "North gate"), ("day", &day), ("from", &from), ("to", &to), ("needed", "1"), ("csrf", &admin_csrf)];
    assert_eq!(post(&b, &format!("{base}/roster/shifts"), &form).0, 303);
    let (shift, start): (i64, i64) = server
        .db
        .read_blocking(|c| c.query_row("SELECT id, start_ms FROM shifts", &[], |r| Ok((r.get(0)?, r.get(1)?))))
        .unwrap();
    let put_on = [("volunteer", id.to_string()), ("csrf", admin_csrf.clone())];
    let put_on: Vec<(&str, &str)> = put_on.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post(&b, &format!("{base}/roster/shifts/{shift}/people"), &put_on).0, 303);
    duty(&mut north, &old, Reason::DutyStart, start);
    duty(&mut north, &old, Reason::DutyEnd, start + 2 * H);
    north.sync().unwrap();

    // Ten days left: flagged on both pages.
    let soon = now_ms() / 1000 + 10 * 86_400;
    server.exec("UPDATE passes SET expires_at = ?1 WHERE pass_id = ?2", &[soon.into(), old.as_str().into()]);
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    assert!(list.contains("id=\"expiring\"") && list.contains("renew it"), "{list}");
    let (_, page) = get(&phone_b, &format!("{base}{own}"));
    assert!(page.contains("id=\"renew\""), "{page}");

    let (status, body, _) = post(&b, &format!("{base}/roster/volunteers/{id}/renew"), &[("csrf", &admin_csrf)]);
    assert_eq!(status, 303, "{body}");
    let (_, list) = get(&b, &format!("{base}/roster/volunteers"));
    let new = pass_of(&list, "Wang Fang");
    assert_ne!(new, old);
    assert!(!list.contains("id=\"expiring\""), "renewed: {list}");
    assert_eq!(
        server.count(&format!("SELECT COUNT(*) FROM passes WHERE pass_id = '{old}' AND revoked_ms IS NOT NULL")),
        1
    );
    // Her page opens the new pass; the kiosk refuses the old one after its sync.
    let (_, page) = get(&phone_b, &format!("{base}{own}"));
    assert!(!page.contains("id=\"renew\""), "{page}");
    let (new_text, phone) = duty_phone(&base, &page, 51);
    north.sync().unwrap();
    let mut gate = GateState::new(Policy::default(), north.store.lists().unwrap(), Default::default());
    let at = now_ms();
    let code = shoumen_protocol::holder::make_code_ed25519(&new_text, at / 1000, &phone).unwrap();
    let effects = step(&mut gate, Event::PassRead { text: code, direction: None }, Now::vouched(at, 1_000));
    let reasons: Vec<Reason> =
        effects.iter().filter_map(|e| if let Effect::Record(d) = e { Some(d.reason) } else { None }).collect();
    assert_eq!(reasons, [Reason::DutyStart], "the new pass signs her in");
    assert!(north.store.lists().unwrap().revocations.unwrap().items.iter().any(|i| i.pass_id.to_hex() == old));

    // The shift served with the old pass still counts.
    let month = shoumen_server::web::fmt_ms(start, 480)[..7].to_string();
    let (_, hours) = get(&b, &format!("{base}/roster/hours?month={month}"));
    assert!(hours.contains("<td>Wang Fang</td><td>1</td><td>2.00</td>"), "{hours}");
}

/// A committee worker filling in a week that is not this one (next week's
/// roster, or last week's paper one) stays on that week after each change;
/// the page sent them back to this week before (seen when the browser
/// test ran just after midnight in Shanghai, early on a Monday).
#[test]
fn changes_to_a_shift_of_another_week_come_back_to_that_week() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, admin_csrf) = login(&server);
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));
    let (_, _, id) = joined_and_confirmed(&server, &b, &admin_csrf, "Wang Fang", "13800000001");
    let start = now_ms() + 15 * 24 * H;
    let (day, from, to) = shift_fields(start, 2);
    let form =
        [("gate", "North gate"), ("day", &day), ("from", &from), ("to", &to), ("needed", "2"), ("csrf", &admin_csrf)];
    let (status, _, week_page) = post(&b, &format!("{base}/roster/shifts"), &form);
    assert_eq!(status, 303);
    let (_, page) = get(&b, &format!("{base}{}", week_page.unwrap()));
    // The forms carry the Monday of the week they are on.
    let marker = "name=\"week\" value=\"";
    let at = page.find(marker).expect("a form with its week") + marker.len();
    let week = page[at..at + 10].to_string();
    assert!(week.len() == 10 && week.as_str() <= day.as_str(), "{week} {day}");
    let shift: i64 = server.db.read_blocking(|c| c.query_row("SELECT id FROM shifts", &[], |r| r.get(0))).unwrap();
    let id = id.to_string();
    let back = Some(format!("/roster?week={week}"));
    let put_on = [("volunteer", id.as_str()), ("week", week.as_str()), ("csrf", admin_csrf.as_str())];
    let (status, _, to) = post(&b, &format!("{base}/roster/shifts/{shift}/people"), &put_on);
    assert_eq!((status, to), (303, back.clone()));
    let take_off = [("week", week.as_str()), ("csrf", admin_csrf.as_str())];
    let (status, _, to) = post(&b, &format!("{base}/roster/shifts/{shift}/people/{id}/remove"), &take_off);
    assert_eq!((status, to), (303, back.clone()));
    // A week that is not a date goes to this week, nowhere else.
    let forged = [("week", "//evil.example"), ("csrf", admin_csrf.as_str())];
    let (status, _, to) = post(&b, &format!("{base}/roster/shifts/{shift}/delete"), &forged);
    assert_eq!((status, to.as_deref()), (303, Some("/roster")));
}
