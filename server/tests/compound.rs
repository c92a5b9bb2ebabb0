//! The compound now: who is out, merged from every gate's synced entries,
//! and the Entries page's search, filter by filter, with reasons in words.

mod common;

use std::time::Duration;

use common::*;
use shoumen_protocol::{Decision, Direction, EntryKind, PassId, Role};
use shoumen_server::db::now_ms;
use shoumen_server::records::community::{self, PassRequest};

/// Issues a pass of ours; a visitor's ended an hour ago.
fn pass(server: &TestServer, unit: &str, role: Role, name: &str) -> PassId {
    let ours = server.community(COMMUNITY);
    let (unit, name) = (unit.to_string(), name.to_string());
    server
        .db
        .call_blocking(move |c| {
            let resident = match role {
                Role::Resident => {
                    Some(community::add_resident(c, COMMUNITY, &name, &unit, "13800000000", now_ms()).unwrap())
                }
                _ => None,
            };
            let (valid_from, valid_s) = match role {
                Role::Visitor => (now_ms() / 1000 - 7200, 3600),
                _ => (now_ms() / 1000 - 60, 86_400),
            };
            let req = PassRequest {
                role,
                unit,
                resident_id: resident,
                valid_from,
                valid_s,
                flags: 0,
                visitor_name: (role == Role::Visitor).then(|| name.clone()),
                gate: None,
            };
            Ok(community::issue_pass(c, &ours, &req).unwrap().pass_id)
        })
        .unwrap()
}

/// The rows of the results table.
fn results(body: &str) -> &str {
    &body[body.rfind("<table").expect("a results table")..]
}

fn rows(body: &str) -> usize {
    results(body).matches("<tr data-seq").count()
}

struct Compound {
    server: TestServer,
    north: Kiosk,
    a: PassId,
    b: PassId,
    c: PassId,
    v: PassId,
    _dir: tempfile::TempDir,
}

/// North gate reads people coming in, south gate people going out. A went
/// in, then out; B out, then back in; C out, then refused at north with a
/// fever; the visitor V came in on a pass that has since ended; someone
/// left by the south gate's exit button.
fn compound() -> Compound {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = pass(&server, "1-101", Role::Resident, "Wang A");
    let b = pass(&server, "1-101", Role::Resident, "Wang B");
    let c = pass(&server, "2-202", Role::Resident, "Li C");
    let v = pass(&server, "2-202", Role::Visitor, "Guest V");
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&server.url(), &server.token("North gate"));
    let mut south = Kiosk::new(dir.path(), "south");
    south.enroll(&server.url(), &server.token("South gate"));
    let step = || std::thread::sleep(Duration::from_millis(3));
    north.scan(a, Direction::In, Decision::Allow, "ok");
    step();
    south.scan(b, Direction::Out, Decision::Allow, "ok");
    step();
    south.scan(c, Direction::Out, Decision::Allow, "ok");
    step();
    north.scan(v, Direction::In, Decision::Allow, "ok");
    step();
    south.scan(a, Direction::Out, Decision::Allow, "ok");
    step();
    north.scan(b, Direction::In, Decision::Allow, "ok");
    step();
    north.scan(c, Direction::In, Decision::Deny, "fever");
    south.entry(EntryKind::ExitButton, Direction::Out, None, Decision::Allow, "exit_button");
    // North's entries reach the server first, although B's last passage (in,
    // at north) is later than their exit at south: presence is merged by
    // the time of the passage, not by when it arrived.
    north.sync().unwrap();
    south.sync().unwrap();
    Compound { server, north, a, b, c, v, _dir: dir }
}

#[test]
fn who_is_out_now_comes_from_every_gate_merged_by_time() {
    let t = compound();
    let (browser, _) = login(&t.server);
    let (status, page) = get(&browser, &format!("{}/outside", t.server.url()));
    assert_eq!(status, 200);
    assert!(page.contains("id=\"outside-total\">Outside now<b>2</b>"), "{page}");
    let out = &page[page.find("<table id=\"outside\"").unwrap()..];
    let out = &out[..out.find("</table>").unwrap()];
    assert!(out.contains(&t.a.to_hex()), "A left by the south gate after coming in at north");
    assert!(out.contains(&t.c.to_hex()), "C is out: a refusal at north does not bring anyone in");
    assert!(!out.contains(&t.b.to_hex()), "B came back in at north after leaving by south");
    assert!(out.contains("Wang A") && out.contains("South gate"), "{out}");
    // Per unit: one each, in 1-101 and 2-202.
    let units = &page[page.find("<table id=\"per-unit\"").unwrap()..];
    assert!(units.contains("<td>1-101</td><td>1</td>") && units.contains("<td>2-202</td><td>1</td>"), "{units}");
    // The visitor whose pass ended is still inside.
    let over = &page[page.find("<table id=\"overstaying\"").unwrap()..];
    assert!(over.contains(&t.v.to_hex()) && over.contains("Guest V"), "{over}");
}

#[test]
fn entries_search_by_each_filter_with_reasons_in_words() {
    let t = compound();
    let (browser, _) = login(&t.server);
    let base = t.server.url();
    let search = |q: &str| {
        let (status, body) = get(&browser, &format!("{base}/entries?{q}"));
        assert_eq!(status, 200, "{q}: {body}");
        body
    };
    let all = search("");
    assert_eq!(rows(&all), 8);
    assert!(results(&all).contains(">Fever</td>"), "reasons show as words");
    assert!(results(&all).contains(">Normal</td>") && results(&all).contains(">Exit button</td>"));
    let north_id = t.north.store.device_id().to_string();
    assert_eq!(rows(&search(&format!("gate={north_id}"))), 4, "north's four scans");
    assert_eq!(rows(&search("unit=1-101")), 4, "A's and B's");
    assert_eq!(rows(&search(&format!("pass={}", &t.c.to_hex()[..6]))), 2, "C's, by the first digits of the pass");
    assert_eq!(rows(&search("decision=deny")), 1);
    assert_eq!(rows(&search("reason=fever")), 1);
    assert_eq!(rows(&search("kind=exit_button")), 1);
    assert_eq!(rows(&search("kind=scan")), 7);
    let today = shoumen_server::web::fmt_ms(now_ms(), 480)[..10].to_string();
    assert_eq!(rows(&search(&format!("from={today}&to={today}"))), 8);
    assert_eq!(rows(&search("from=2020-01-01&to=2020-01-02")), 0);
    // Filters combine.
    assert_eq!(rows(&search(&format!("gate={north_id}&decision=allow&unit=2-202"))), 1, "V at north");
    // A bad date is a clear 400, not an empty page.
    let (status, body) = get(&browser, &format!("{base}/entries?from=yesterday"));
    assert_eq!(status, 400);
    assert!(body.contains("2026-11-29"), "{body}");
    // The export carries the words beside the codes.
    let (_, csv) = get(&browser, &format!("{base}/export.csv?from=2020-01-01&to={today}"));
    assert!(csv.lines().next().unwrap().ends_with(",reason_words"));
    assert!(csv.lines().any(|l| l.contains(",fever,") && l.ends_with(",Fever")), "{csv}");
    // In Chinese too.
    get(&browser, &format!("{base}/lang/zh"));
    let body = search("reason=fever");
    assert!(results(&body).contains(">体温异常</td>"), "{body}");
}

#[test]
fn trends_chart_the_last_days_by_gate_reason_and_hour() {
    let t = compound();
    // Two of the south gate's entries were made three days ago.
    let south = t.server.count("SELECT COUNT(*) FROM devices WHERE gate_name = 'South gate'");
    assert_eq!(south, 1);
    t.server.exec(
        "UPDATE entries SET wall_ms = wall_ms - 3 * 86400000 WHERE seq <= 2 AND device = (SELECT id FROM devices WHERE gate_name = 'South gate')",
        &[],
    );
    let (browser, _) = login(&t.server);
    let day = |back: i64| shoumen_server::web::fmt_ms(now_ms() - back * 86_400_000, 480)[5..10].to_string();
    for days in [7, 30] {
        let (status, page) = get(&browser, &format!("{}/trends?days={days}", t.server.url()));
        assert_eq!(status, 200);
        let chart = |id: &str| {
            let at = page
                .find(&format!("<svg id=\"{id}\""))
                .or_else(|| page.find(&format!("<svg id={id}")))
                .unwrap_or_else(|| panic!("no {id} chart"));
            page[at..at + page[at..].find("</svg>").unwrap()].to_string()
        };
        let per_day = chart("per-day");
        assert!(per_day.contains(&format!("{} North gate: 4", day(0))), "{per_day}");
        assert!(per_day.contains(&format!("{} South gate: 2", day(0))), "{per_day}");
        assert!(per_day.contains(&format!("{} South gate: 2", day(3))), "{per_day}");
        assert!(per_day.matches("<text").count() >= if days == 7 { 7 } else { 10 });
        assert!(chart("fevers").contains(&format!("{} Fever: 1", day(0))));
        // Refusals are HTML bars, each titled with its words and count.
        let refusals = &page[page.find("id=\"refusals\"").expect("the refusals")..];
        assert!(refusals[..refusals.find("</div></div>").unwrap()].contains("title=\"Fever: 1\""), "{refusals}");
        let hours: i64 = chart("hours")
            .split("<title>")
            .skip(1)
            .map(|t| t[t.find(": ").unwrap() + 2..t.find('<').unwrap()].parse::<i64>().unwrap())
            .sum();
        assert_eq!(hours, 8, "every entry in some hour");
    }
}
