//! Returnee registration end to end (issue 17): the phone's form, the
//! signature, the receipt and its proof, the notice's home quarantine in
//! the gates' lists, bad input that stores nothing, retention that keeps
//! the log verifiable, and two kiosks shown different histories.

mod common;

use common::*;
use shoumen_protocol::evidence::Receipt;
use shoumen_protocol::Role;
use shoumen_server::records::community::{self, PassRequest};
use shoumen_server::records::returnees::{self, Kind};

/// A compound with a resident in 3-502 (and a pass), a notice for Hubei
/// (14 days of home quarantine) and a pledge everywhere else.
fn scene(server: &TestServer) -> String {
    server
        .db
        .call_blocking(|c| {
            community::add_resident(c, COMMUNITY, "王芳", "3-502", "13800000000", now()).unwrap();
            returnees::save_document(
                c,
                COMMUNITY,
                "Pledge",
                Kind::Pledge,
                7,
                "本人承诺自我健康监测 {days} 天。",
                "I will watch my health for {days} days.",
                "t",
                now(),
            )
            .unwrap();
            returnees::save_document(
                c,
                COMMUNITY,
                "Hubei notice",
                Kind::Notice,
                14,
                "请居家隔离 {days} 天。",
                "Stay home for {days} days.",
                "t",
                now(),
            )
            .unwrap();
            returnees::add_rule(c, COMMUNITY, "", "Pledge", None, None, now()).unwrap();
            returnees::add_rule(c, COMMUNITY, "42", "Hubei notice", None, None, now()).unwrap();
            let community = shoumen_server::db::community(c, COMMUNITY)?;
            let req = PassRequest {
                role: Role::Resident,
                unit: "3-502".into(),
                resident_id: None,
                valid_from: now() / 1000 - 60,
                valid_s: 86_400 * 30,
                flags: 0,
                visitor_name: None,
                gate: None,
            };
            Ok(community::issue_pass(c, &community, &req).unwrap().pass_id.to_hex())
        })
        .unwrap()
}

fn now() -> i64 {
    shoumen_server::db::now_ms()
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// The hidden `name` field's value in a page.
fn hidden(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = page.find(&key).unwrap_or_else(|| panic!("no {name} in {page}")) + key.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

/// The form as a phone fills it in, from Wuchang, Wuhan.
fn filled(token: &str) -> Vec<(String, String)> {
    [
        ("token", token),
        ("name", "王芳"),
        ("phone", "13800000000"),
        ("unit", "3-502"),
        ("origin", "420106"),
        ("arrival", &today()),
        ("travel", "train"),
        ("temperature", "36.5"),
        ("symptoms", "no"),
        ("contact", "no"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn post_pairs(b: &Browser, url: &str, form: &[(String, String)]) -> (u16, String, Option<String>) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post(b, url, &pairs)
}

/// Posts a form larger than the server reads. The server answers before
/// the body is in and closes; on a busy machine the client may still be
/// writing and see a broken pipe instead of the answer, so it asks again.
fn post_oversized(b: &Browser, url: &str, form: &[(String, String)]) -> (u16, String) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut last = None;
    for _ in 0..5 {
        match b.post(url).form(&pairs).send() {
            Ok(r) => return (r.status().as_u16(), r.text().unwrap_or_default()),
            Err(e) => last = Some(e),
        }
    }
    panic!("no answer in five tries: {last:?}");
}

/// Fills in the form and signs: the sign step's fields.
fn signed(server: &TestServer, b: &Browser) -> Vec<(String, String)> {
    let base = server.url();
    get(b, &format!("{base}/lang/en"));
    let (status, page) = get(b, &format!("{base}/r/{COMMUNITY}"));
    assert_eq!(status, 200, "{page}");
    let mut form = filled(&hidden(&page, "token"));
    let (status, page, _) = post_pairs(b, &format!("{base}/r/{COMMUNITY}"), &form);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Hubei notice") && page.contains("Stay home for 14 days."), "the notice for Wuchang: {page}");
    for (k, v) in [("document", hidden(&page, "document")), ("version", hidden(&page, "version"))] {
        form.push((k.into(), v));
    }
    for (k, v) in [("signature", "M10 20 L30 40 L50 45 M60 20 L70 60"), ("signed_name", "王芳"), ("confirm", "yes")] {
        form.push((k.into(), v.into()));
    }
    form
}

#[test]
fn a_returnee_signs_on_the_phone_gets_a_verifiable_receipt_and_the_notice_closes_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let pass = scene(&server);
    let b = browser();
    let form = signed(&server, &b);
    let (status, _, location) = post_pairs(&b, &format!("{base}/r/{COMMUNITY}/sign"), &form);
    assert_eq!(status, 303);
    let receipt_url = format!("{base}{}", location.unwrap());
    let (status, page) = get(&b, &receipt_url);
    assert_eq!(status, 200);
    assert!(page.contains("Home quarantine until") && page.contains("3-502"), "{page}");
    assert!(page.contains("Hubei notice</b> v1"), "{page}");

    // The receipt file checks against the log's public key, offline.
    let receipt = Receipt::parse(&b.get(format!("{receipt_url}/json")).send().unwrap().text().unwrap()).unwrap();
    let key = get(&b, &format!("{base}/log/{COMMUNITY}/key")).1;
    let head = receipt.verify(key.trim()).unwrap();
    assert_eq!((receipt.index, head.size), (0, 1));
    assert!(receipt.record.contains("\"signature\":\"M10 20 L30 40"), "{}", receipt.record);
    // ...and on the public page, where a changed character fails with its reason.
    let text = serde_json::to_string(&receipt).unwrap();
    let (status, page, _) = post(&b, &format!("{base}/verify"), &[("receipt", &text)]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Verified: Record 1 of 1"), "{page}");
    let (status, page, _) = post(&b, &format!("{base}/verify"), &[("receipt", &text.replace("3-502", "3-503"))]);
    assert_eq!(status, 422);
    assert!(page.contains("inclusion proof fails"), "{page}");

    // The notice asks for home quarantine of the unit, linked to the record,
    // but only pending: a stranger's form keeps nobody in.
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine WHERE unit = '3-502' AND until_s - from_s = 14 * 86400 AND status = 'pending'"), 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations r JOIN quarantine q ON q.id = r.quarantine_id"), 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE action = 'returnee.register'"), 1);
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM alerts WHERE kind = 'returnee_notice' AND device = 'unit 3-502' AND acked = 0"
        ),
        1
    );
    // After one sync the gate knows of it, unconfirmed, and keeps nobody in.
    let mut kiosk = Kiosk::new(dir.path(), "north");
    kiosk.enroll(&base, &server.token("North gate"));
    kiosk.sync().unwrap();
    let lists = kiosk.store.lists().unwrap();
    let holds = |l: &Option<shoumen_protocol::ListSnapshot>| {
        l.as_ref().is_some_and(|l| l.items.iter().any(|i| i.pass_id.to_hex() == pass))
    };
    assert!(!holds(&lists.quarantine), "an unconfirmed notice is not enforced: {:?}", lists.quarantine);
    assert!(holds(&lists.unconfirmed), "the gate can tell the guard: {:?}", lists.unconfirmed);
    // The committee confirms it on the Returnees page; the next sync keeps the home in.
    let (admin, csrf) = login(&server);
    let (_, page) = get(&admin, &format!("{base}/returnees"));
    assert!(page.contains("id=\"pending-notices\"") && page.contains("3-502"), "{page}");
    let qid = server.count("SELECT id FROM quarantine WHERE status = 'pending'");
    let (status, _, _) = post(&admin, &format!("{base}/returnees/notices/{qid}/confirm"), &[("csrf", &csrf)]);
    assert_eq!(status, 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine WHERE status = 'confirmed' AND decided_by = 'admin'"), 1);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM audit WHERE action = 'returnee.confirm_notice' AND actor = 'admin'"),
        1
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'returnee_notice' AND acked = 1"),
        1,
        "its alert is seen to"
    );
    kiosk.sync().unwrap();
    let lists = kiosk.store.lists().unwrap();
    assert!(holds(&lists.quarantine), "{:?}", lists.quarantine);
    assert!(!holds(&lists.unconfirmed));
    assert_eq!(
        post(&admin, &format!("{base}/returnees/notices/{qid}/confirm"), &[("csrf", &csrf)]).0,
        404,
        "decided once"
    );
    // The kiosk's visitor page shows a second code that leads here.
    let r = b.get(format!("{base}/v/{}/returnee", kiosk.store.device_id())).send().unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (303, format!("/r/{COMMUNITY}").as_str())
    );
    // The kiosk also took the log's checkpoint, and reports it.
    let view = kiosk.store.evidence_view().unwrap().expect("a checkpoint");
    assert_eq!((view.head.size, view.head.fault), (1, None));

    // The committee's list: by region and kind, the record with its
    // evidence checked, the CSV; another community sees none of it.
    let (_, list) = get(&admin, &format!("{base}/returnees?region=42&kind=notice&ending=30"));
    assert!(list.contains("王芳") && list.contains("武昌区"), "{list}");
    assert!(list.contains(&receipt.code), "{list}");
    let (_, none) = get(&admin, &format!("{base}/returnees?kind=pledge"));
    assert!(!none.contains("王芳"), "a notice is not a pledge");
    let (_, none) = get(&admin, &format!("{base}/returnees?region=31"));
    assert!(!none.contains("王芳"), "Hubei is not Shanghai");
    let id = server.count("SELECT id FROM registrations");
    let (_, detail) = get(&admin, &format!("{base}/returnees/{id}"));
    assert!(
        detail.contains("id=\"evidence\">✓")
            && detail.contains("Stay home for 14 days.")
            && detail.contains("<path d=\"M10 20 L30 40"),
        "{detail}"
    );
    let (status, csv) = get(&admin, &format!("{base}/returnees.csv?region=42"));
    assert_eq!(status, 200);
    assert!(
        csv.starts_with("code,arrival,name") && csv.contains(&format!("{},", receipt.code)) && csv.contains("王芳"),
        "{csv}"
    );
    // Today's summary counts the registration (the server shows UTC+8).
    let day = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d");
    let (_, summary) = get(&admin, &format!("{base}/summary?day={day}"));
    assert!(
        summary.contains("<tr><th>Returnees registered (notice, home quarantine)</th><td>1</td></tr>"),
        "{summary}"
    );
    assert!(summary.contains("<tr><th>Returnees registered (pledge)</th><td>0</td></tr>"), "{summary}");
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    server.db.call_blocking(|c| shoumen_server::db::init(c, "plum-court", "plum", &hash, now())).unwrap();
    let (plum, _) = login_as(&server, "plum");
    assert_eq!(get(&plum, &format!("{base}/returnees/{id}")).0, 404);
    assert!(!get(&plum, &format!("{base}/returnees")).1.contains("王芳"));

    // The same form again is refused and stores nothing.
    let (status, page, _) = post_pairs(&b, &format!("{base}/r/{COMMUNITY}/sign"), &form);
    assert_eq!(status, 400);
    assert!(page.contains("already submitted"), "{page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations"), 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM tlog_leaves"), 1);
}

#[test]
fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    scene(&server);
    let b = browser();
    let good = signed(&server, &b);
    type Change<'a> = &'a dyn Fn(&mut Vec<(String, String)>);
    let sign = |change: Change| {
        let mut form = good.clone();
        change(&mut form);
        post_pairs(&b, &format!("{base}/r/{COMMUNITY}/sign"), &form)
    };
    let set = |key: &'static str, value: String| {
        move |f: &mut Vec<(String, String)>| {
            for (k, v) in f.iter_mut() {
                if k == key {
                    *v = value.clone();
                }
            }
        }
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("origin", "429999".into(), "choose a province, then a city, then a district"),
        ("origin", "42".into(), "choose a province, then a city, then a district"),
        ("signature", String::new(), "Sign in the box"),
        ("signature", "M1 1".into(), "Sign in the box"),
        ("signed_name", "李四".into(), "typed name must be the name"),
        ("confirm", String::new(), "I have read and agree"),
        ("token", "0123.456.789".into(), "has expired or is not valid"),
        ("unit", "9-999".into(), "no such unit"),
        ("arrival", "2020-01-01".into(), "within the last 31 days"),
        ("temperature", "45".into(), "a number from 34 to 43"),
    ];
    for (key, value, says) in cases {
        let (status, page, _) = sign(&set(key, value.clone()));
        assert_eq!(status, 400, "{key}={value}: {page}");
        assert!(page.contains(says), "{key}={value} should say {says:?}: {page}");
    }
    // Script in every field: refused, and never echoed as markup.
    let script = "<script>alert(1)</script>";
    for key in [
        "token",
        "name",
        "phone",
        "unit",
        "origin",
        "arrival",
        "travel",
        "temperature",
        "symptoms",
        "contact",
        "document",
        "version",
        "signature",
        "signed_name",
        "confirm",
    ] {
        let (status, page, _) = sign(&set(key, script.into()));
        assert!(status == 400, "{key}: {status} {page}");
        assert!(!page.contains(script), "{key} echoed as markup");
    }
    // 10 MB of signature: refused before it is read, with a sentence.
    let (status, page) = announce_huge(&base, &format!("/r/{COMMUNITY}/sign"), 10 << 20);
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("larger than this address takes"), "{page}");
    // A megabyte of signature in a form: the same refusal.
    let mut form = good.clone();
    form.push(("signature".into(), format!("M0 0{}", " L1 1".repeat(200_000))));
    let (status, page) = post_oversized(&b, &format!("{base}/r/{COMMUNITY}/sign"), &form);
    assert_eq!(status, 413, "{}", &page[..page.len().min(300)]);
    assert!(page.contains("larger than this address takes"), "{page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM tlog_leaves"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine"), 0);
    // And the good form still goes through.
    assert_eq!(sign(&|_| {}).0, 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations"), 1);
}

/// Sends only the headers of a POST announcing `len` bytes; returns the
/// server's answer (the body is never sent).
fn announce_huge(base: &str, path: &str, len: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let _ = s.read_to_string(&mut answer);
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, answer)
}

#[test]
fn retention_deletes_the_person_but_the_receipt_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    scene(&server);
    let b = browser();
    let mut form = signed(&server, &b);
    // From Shanghai (the pledge, 7 days), arrived 20 days ago.
    let arrived = (chrono::Utc::now() - chrono::Duration::days(20)).format("%Y-%m-%d").to_string();
    for (k, v) in form.iter_mut() {
        match k.as_str() {
            "origin" => *v = "310115".into(),
            "arrival" => *v = arrived.clone(),
            "document" => *v = "Pledge".into(),
            _ => {}
        }
    }
    let (status, page, location) = post_pairs(&b, &format!("{base}/r/{COMMUNITY}/sign"), &form);
    assert_eq!(status, 303, "{page}");
    let receipt_url = format!("{base}{}", location.unwrap());
    assert!(get(&b, &receipt_url).1.contains("Self-monitoring until"));
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine"), 0, "a pledge quarantines nobody");
    let kept = b.get(format!("{receipt_url}/json")).send().unwrap().text().unwrap();
    // The committee keeps personal fields 28 days after the period: not yet.
    let pruned = server.db.call_blocking(|c| shoumen_server::ops::retention::prune(c, COMMUNITY, now())).unwrap();
    assert_eq!(pruned.returnees, 0);
    server.exec("UPDATE communities SET returnee_days = 7", &[]);
    let pruned = server.db.call_blocking(|c| shoumen_server::ops::retention::prune(c, COMMUNITY, now())).unwrap();
    assert_eq!(pruned.returnees, 1);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM registrations WHERE record IS NULL AND salt IS NULL AND origin = '31'"),
        1
    );
    let (_, page) = get(&b, &receipt_url);
    assert!(page.contains("was deleted"), "{page}");
    assert!(!page.contains("王芳"));
    assert!(
        server.count(
            "SELECT COUNT(*) FROM audit WHERE action = 'retention.prune' AND detail LIKE '@retention_prune|%|1'"
        ) == 1
    );
    // The person's own copy still verifies, on the page and by key.
    let (status, page, _) = post(&b, &format!("{base}/verify"), &[("receipt", &kept)]);
    assert_eq!(status, 200, "{page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM tlog_leaves"), 1);
}

#[test]
fn two_kiosks_shown_different_trees_of_one_size_raise_a_split_view_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let append = |tag: &str| {
        let tag = tag.to_string();
        server
            .db
            .call_blocking(move |c| {
                Ok(shoumen_server::records::evidence::append(c, COMMUNITY, tag.as_bytes(), now()).unwrap())
            })
            .unwrap();
    };
    for i in 0..5 {
        append(&format!("record {i}"));
    }
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));
    let mut south = Kiosk::new(dir.path(), "south");
    south.enroll(&base, &server.token("South gate"));
    north.sync().unwrap();
    north.sync().unwrap();
    south.sync().unwrap();
    south.sync().unwrap();
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view'"), 0, "one history: no alert");
    // The log grows; both see it extend what they hold.
    let hashes_of_five = server.count("SELECT COUNT(*) FROM tlog_hashes");
    append("record 5");
    north.sync().unwrap();
    assert_eq!(north.store.evidence_view().unwrap().unwrap().head.size, 6);
    // Now the server rewrites its history (the same size, another record 5)
    // and shows it to the south gate only.
    server.exec("DELETE FROM tlog_hashes WHERE idx >= ?1", &[hashes_of_five.into()]);
    server.exec("DELETE FROM tlog_leaves WHERE n = 5", &[]);
    append("another record 5");
    south.sync().unwrap();
    assert_eq!(south.store.evidence_view().unwrap().unwrap().head.size, 6);
    south.sync().unwrap();
    north.sync().unwrap();
    let alerts = server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view'");
    assert!(alerts >= 1, "a split view is raised");
    let (b, _) = login(&server);
    let (_, page) = get(&b, &format!("{base}/alerts"));
    assert!(
        page.contains("different trees of 6 records") || page.contains("whose root the log does not have"),
        "{page}"
    );
    // The north gate refused the rewritten checkpoint and says why.
    let view = north.store.evidence_view().unwrap().unwrap();
    assert!(view.head.fault.is_some_and(|f| f.contains("split view")), "the north gate's fault");
    // Seen to, the alerts stay acknowledged while the gates go on reporting
    // the same heads (each gate's view of the split is raised once).
    north.sync().unwrap();
    south.sync().unwrap();
    let seen = server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view'");
    server.exec("UPDATE alerts SET acked = 1 WHERE kind = 'split_view'", &[]);
    for _ in 0..2 {
        north.sync().unwrap();
        south.sync().unwrap();
    }
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view' AND acked = 0"),
        0,
        "not raised again every heartbeat"
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'split_view'"), seen);
}

/// A browser whose requests come, through the trusted proxy, from `ip`.
fn browser_from(ip: &str) -> Browser {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("x-forwarded-for", ip.parse().unwrap());
    Browser::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(h)
        .build()
        .unwrap()
}

/// Fills in and signs the notice for 3-502 with `phone`, from `b`.
fn register(server: &TestServer, b: &Browser, phone: &str) -> (u16, String) {
    let mut form = signed(server, b);
    for (k, v) in form.iter_mut() {
        if k == "phone" {
            *v = phone.into();
        }
    }
    let (status, page, _) = post_pairs(b, &format!("{}/r/{COMMUNITY}/sign", server.url()), &form);
    (status, page)
}

#[test]
fn a_stranger_cannot_keep_a_home_in_and_the_household_head_confirms_from_the_pass() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let pass = scene(&server);
    let hook = Receiver::start(0);
    let (u, h) = (hook.url.clone(), shoumen_server::webhook::Format::WeCom);
    server
        .db
        .call_blocking(move |c| {
            shoumen_server::webhook::set(
                c,
                COMMUNITY,
                Some(&shoumen_server::webhook::Webhook { url: u, format: h, secret: String::new() }),
            )
        })
        .unwrap();
    // The head of 3-502 and of 4-101, each with a pass and its phone link.
    let head_link = |unit: &'static str, name: &'static str| {
        server
            .db
            .call_blocking(move |c| {
                let id = community::add_resident(c, COMMUNITY, name, unit, "13900000000", now()).unwrap();
                c.execute("UPDATE residents SET head = 1 WHERE id = ?1", &[id.into()])?;
                let community = shoumen_server::db::community(c, COMMUNITY)?;
                let req = PassRequest {
                    role: Role::Resident,
                    unit: unit.into(),
                    resident_id: Some(id),
                    valid_from: now() / 1000 - 60,
                    valid_s: 86_400 * 30,
                    flags: 0,
                    visitor_name: None,
                    gate: None,
                };
                Ok(community::issue_pass(c, &community, &req).unwrap().link_token)
            })
            .unwrap()
    };
    let head = head_link("3-502", "王大明");
    let stranger = head_link("4-101", "赵六");
    // Three notices for 3-502 from three phones: one pending quarantine, one alert, one message.
    for phone in ["13800000001", "13800000002", "13800000003"] {
        assert_eq!(register(&server, &browser(), phone).0, 303);
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine WHERE unit = '3-502' AND status = 'pending'"), 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine WHERE status <> 'pending'"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'returnee_notice'"), 1);
    assert!(hook.wait_for("3-502").is_some_and(|m| m.contains("返本市人员页面")), "the committee's robot hears of it");
    let mut kiosk = Kiosk::new(dir.path(), "north");
    kiosk.enroll(&base, &server.token("North gate"));
    kiosk.sync().unwrap();
    let quarantined = kiosk.store.lists().unwrap().quarantine.unwrap();
    assert!(
        !quarantined.items.iter().any(|i| i.pass_id.to_hex() == pass),
        "nobody confirmed: the gate keeps nobody in"
    );
    // The head of another unit sees nothing to confirm, and cannot.
    let b = browser();
    let qid = server.count("SELECT id FROM quarantine WHERE status = 'pending'");
    assert!(!get(&b, &format!("{base}/p/{stranger}")).1.contains("pending-notice"));
    assert_eq!(post(&b, &format!("{base}/p/{stranger}/notice/{qid}"), &[]).0, 404);
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine WHERE status = 'pending'"), 1);
    // The head of 3-502 sees the dates on the pass page and confirms.
    let (_, page) = get(&b, &format!("{base}/p/{head}"));
    assert!(page.contains("id=\"pending-notice\""), "{page}");
    assert_eq!(post(&b, &format!("{base}/p/{head}/notice/{qid}"), &[]).0, 303);
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM quarantine WHERE status = 'confirmed' AND decided_by = 'household head (pass link)'"
        ),
        1
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE action = 'returnee.confirm_notice' AND actor = 'household head (pass link)'"), 1);
    kiosk.sync().unwrap();
    let quarantined = kiosk.store.lists().unwrap().quarantine.unwrap();
    let item =
        quarantined.items.iter().find(|i| i.pass_id.to_hex() == pass).expect("confirmed: the gate keeps the home in");
    assert_eq!(item.source, Some(shoumen_protocol::QuarantineSource::Notice), "and says where it came from");
}

#[test]
fn the_public_form_bounds_each_client_and_a_busy_unit_raises_an_alert_without_refusing_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.registrations = shoumen_server::records::registrations::Limits {
            per_phone_day: 2,
            per_address_day: 3,
            unit_alert_after: 4,
        };
    });
    scene(&server);
    // One phone: twice, then refused, whatever the address.
    assert_eq!(register(&server, &browser_from("198.51.100.1"), "13700000001").0, 303);
    assert_eq!(register(&server, &browser_from("198.51.100.2"), "13700000001").0, 303);
    let (status, page) = register(&server, &browser_from("198.51.100.3"), "13700000001");
    assert_eq!(status, 400);
    assert!(page.contains("limit of registrations"), "{page}");
    // One address: three, then refused, whatever the phone.
    for phone in ["13700000002", "13700000003", "13700000004"] {
        assert_eq!(register(&server, &browser_from("198.51.100.3"), phone).0, 303);
    }
    assert_eq!(register(&server, &browser_from("198.51.100.3"), "13700000010").0, 400);
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations"), 5);
    // More for the unit from other people: none refused, the committee told once.
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'unusual_registrations'"), 1);
    for (i, phone) in ["13700000005", "13700000006", "13700000007"].iter().enumerate() {
        assert_eq!(
            register(&server, &browser_from(&format!("203.0.113.{i}")), phone).0,
            303,
            "a genuine returnee of a busy unit"
        );
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations WHERE unit = '3-502'"), 8);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'unusual_registrations'"),
        1,
        "one alert, counting"
    );
    assert_eq!(server.count("SELECT count FROM alerts WHERE kind = 'unusual_registrations'"), 4);
    // A signature far larger than a finger's is refused, and stores nothing.
    let b = browser_from("203.0.113.50");
    let mut form = signed(&server, &b);
    for (k, v) in form.iter_mut() {
        match k.as_str() {
            "signature" => *v = format!("M0 0{}", " L100 100 L0 0".repeat(1_500)),
            "phone" => *v = "13700000099".into(),
            _ => {}
        }
    }
    let (status, page, _) = post_pairs(&b, &format!("{}/r/{COMMUNITY}/sign", server.url()), &form);
    assert_eq!(status, 400);
    assert!(page.contains("too large") || page.contains("signature"), "{page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM registrations"), 8);
}

#[test]
fn everyone_in_a_period_is_watched_however_many_registrations_arrive_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    scene(&server);
    // A genuine returnee who arrived three days ago, from Shanghai (a pledge).
    let b = browser();
    let mut form = signed(&server, &b);
    let arrived = (chrono::Utc::now() - chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
    for (k, v) in form.iter_mut() {
        match k.as_str() {
            "origin" => *v = "310115".into(),
            "arrival" => *v = arrived.clone(),
            "document" => *v = "Pledge".into(),
            _ => {}
        }
    }
    assert_eq!(post_pairs(&b, &format!("{base}/r/{COMMUNITY}/sign"), &form).0, 303);
    let genuine = server.count("SELECT id FROM registrations");
    // Then 5,000 more arrive today (as a flood would), newer than them.
    server
        .db
        .call_blocking(|c| {
            let today = now() / 1000;
            c.transaction(true, |tx| {
                for i in 0..5_000i64 {
                    tx.execute(
                        "INSERT INTO registrations (community, code, token_sha256, nonce, leaf_index, record, salt, unit, origin, arrival_s, document, version, kind, until_s, signed_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, '{\"name\":\"x\",\"phone\":\"1\"}', '00', '3-502', '310115', ?6, 'Pledge', 1, 'pledge', ?7, ?8)",
                        &[COMMUNITY.into(), format!("F{i:07}").into(), format!("t{i}").into(), format!("n{i}").into(), (i + 1).into(), today.into(), (today + 7 * 86_400).into(), now().into()],
                    )?;
                }
                Ok::<_, shoumen_server::DbError>(())
            })
        })
        .unwrap();
    let watched =
        server.db.call_blocking(|c| shoumen_server::records::checkins::watched(c, COMMUNITY, now() / 1000)).unwrap();
    assert_eq!(watched.len(), 5_001);
    // The genuine returnee's own link still opens their page.
    let token = server
        .db
        .call_blocking(move |c| shoumen_server::records::checkins::token(c, COMMUNITY, &format!("n{genuine}")))
        .unwrap();
    let (status, page) = get(&b, &format!("{base}/c/{COMMUNITY}/{token}"));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("王芳"), "{page}");
}
