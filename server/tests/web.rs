//! The committee's pages over real HTTP: login, CSRF, injection, passes,
//! quarantine, visitors, entries, alerts and CSV export.

mod common;

use common::*;

#[test]
fn pages_need_a_login_and_a_wrong_password_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let b = browser();
    for page in [
        "/",
        "/residents",
        "/passes",
        "/quarantine",
        "/entries",
        "/alerts",
        "/gates",
        "/export.csv?from=2026-01-01&to=2026-01-02",
    ] {
        let r = b.get(format!("{base}{page}")).send().unwrap();
        assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/login"), "{page}");
    }
    let (_, page) = get(&b, &format!("{base}/login"));
    let (status, body, _) =
        post(&b, &format!("{base}/login"), &[("user", ADMIN), ("password", "wrong"), ("csrf", &csrf(&page))]);
    assert_eq!(status, 401);
    assert!(body.contains("Wrong user name or password") || body.contains("用户名或密码错误"));
    // A login post without the form's token is refused before the password is looked at.
    let fresh = browser();
    let (status, _, _) =
        post(&fresh, &format!("{base}/login"), &[("user", ADMIN), ("password", PASSWORD), ("csrf", "x")]);
    assert_eq!(status, 403);
    assert_eq!(fresh.get(format!("{base}/")).send().unwrap().status(), 303);
}

#[test]
fn posts_without_the_csrf_token_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, token) = login(&server);
    for (url, form) in [
        ("/residents", vec![("name", "Li Lei"), ("unit", "3-502")]),
        ("/passes", vec![("role", "staff"), ("days", "30")]),
        ("/quarantine", vec![("unit", "3-502"), ("from", "2026-01-01"), ("until", "2026-01-14")]),
        ("/gates/token", vec![("gate", "North")]),
    ] {
        let (status, _, _) = post(&b, &format!("{base}{url}"), &form);
        assert_eq!(status, 403, "{url} without a token");
        let mut wrong = form.clone();
        wrong.push(("csrf", "0123456789abcdef0123456789abcdef"));
        assert_eq!(post(&b, &format!("{base}{url}"), &wrong).0, 403, "{url} with a wrong token");
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM residents"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM passes"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM enroll_tokens"), 0);
    // With the token it works.
    let (status, _, _) =
        post(&b, &format!("{base}/residents"), &[("name", "Li Lei"), ("unit", "3-502"), ("csrf", &token)]);
    assert_eq!(status, 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM residents"), 1);
    // Logging out ends the session.
    assert_eq!(post(&b, &format!("{base}/logout"), &[("csrf", &token)]).0, 303);
    assert_eq!(b.get(format!("{base}/residents")).send().unwrap().status(), 303);
}

#[test]
fn sql_and_html_injection_in_every_field_are_stored_as_text_and_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, token) = login(&server);
    let evil = ["<script>alert(1)</script>", "x'); DROP TABLE residents; --", "\" onmouseover=\"alert(1)", "1 OR 1=1"];
    for e in evil {
        let unit: String = e.chars().take(12).collect();
        post(&b, &format!("{base}/residents"), &[("name", e), ("unit", &unit), ("phone", e), ("csrf", &token)]);
        post(
            &b,
            &format!("{base}/quarantine"),
            &[("unit", &unit), ("from", "2026-01-01"), ("until", "2026-01-02"), ("note", e), ("csrf", &token)],
        );
        post(&b, &format!("{base}/passes"), &[("role", e), ("unit", &unit), ("days", e), ("csrf", &token)]);
        post(&b, &format!("{base}/gates/token"), &[("gate", e), ("csrf", &token)]);
        post(&b, &format!("{base}/passes/{e}/revoke"), &[("csrf", &token)]);
    }
    // The public forms: login and a gate's visitor form.
    let mut k = Kiosk::new(dir.path(), "gate");
    k.enroll(&base, &server.token("Gate"));
    let visitor_url = k.store.sync_credentials().unwrap().unwrap().visitor_url;
    for e in evil {
        let stranger = browser();
        let (_, page) = get(&stranger, &format!("{base}/login"));
        let (status, body, _) =
            post(&stranger, &format!("{base}/login"), &[("user", e), ("password", e), ("csrf", &csrf(&page))]);
        assert_eq!(status, 401);
        assert!(!body.contains("<script>alert"));
        let (_, form) = get(&stranger, &visitor_url);
        let (status, body, _) = post(&stranger, &visitor_url, &[("unit", e), ("name", e), ("csrf", &csrf(&form))]);
        // Only "1 OR 1=1" is short enough to have become a real unit above.
        let known_unit = e.chars().count() <= 12;
        assert_eq!(status, if known_unit { 303 } else { 400 }, "{e}");
        assert!(!body.contains("<script>alert"));
        let (status, _) = get(&stranger, &format!("{base}/v/{}", urlencode(e)));
        assert_eq!(status, 404);
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM residents"), 4, "every name stored verbatim, no table dropped");
    assert_eq!(server.count("SELECT COUNT(*) FROM users"), 1);
    let (_, page) = get(&b, &format!("{base}/residents"));
    assert!(!page.contains("<script>alert"), "script tags are escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("\" onmouseover=\""));
    let (_, gates) = get(&b, &format!("{base}/gates"));
    assert!(!gates.contains("<script>alert"));
    assert_eq!(
        server.count("SELECT COUNT(*) FROM passes WHERE role <> 'visitor'"),
        0,
        "bad role and days were refused"
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM passes WHERE role = 'visitor' AND unit = '1 OR 1=1'"), 1);
}

#[test]
fn a_committee_member_issues_a_pass_a_visitor_registers_and_a_kiosk_entry_shows_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, token) = login(&server);

    post(&b, &format!("{base}/residents"), &[("name", "王芳"), ("unit", "3-502"), ("csrf", &token)]);
    let resident: i64 = server.count("SELECT id FROM residents");
    let (status, _, card) = post(
        &b,
        &format!("{base}/passes"),
        &[("resident_id", &resident.to_string()), ("role", "resident"), ("days", "365"), ("csrf", &token)],
    );
    assert_eq!(status, 303);
    let card = card.unwrap();
    let (_, html) = get(&b, &format!("{base}{card}"));
    assert!(html.contains("<svg") && html.contains("3-502") && html.contains("王芳"));
    let link = html[html.find("/p/").unwrap()..].split('"').next().unwrap().to_string();
    // The phone link works without a login and shows the QR.
    let (status, phone) = get(&browser(), &format!("{base}{link}"));
    assert_eq!(status, 200);
    assert!(phone.contains("<svg"));

    // A kiosk enrolls; its visitor page links to the public form.
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&base, &server.token("North gate"));
    let creds = k.store.sync_credentials().unwrap().unwrap();
    let visitor = browser();
    let (status, form) = get(&visitor, &creds.visitor_url);
    assert_eq!(status, 200);
    assert!(form.contains("North gate"));
    let (status, _, _) = post(&visitor, &creds.visitor_url, &[("unit", "9-999"), ("csrf", &csrf(&form))]);
    assert_eq!(status, 400, "an unknown unit gets no pass");
    let (status, _, location) =
        post(&visitor, &creds.visitor_url, &[("unit", "3-502"), ("name", "Zhang"), ("csrf", &csrf(&form))]);
    assert_eq!(status, 303);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM audit WHERE actor = 'visitor (public form)' AND action = 'visitor.register' AND detail LIKE '%|3-502|North gate'"),
        1,
        "the registration is in the trail, without the visitor's name"
    );
    let (status, qr) = get(&visitor, &format!("{base}{}", location.unwrap()));
    assert_eq!(status, 200);
    assert!(qr.contains("<svg"));
    // The visitor pass verifies at the kiosk, for four hours, as a visitor.
    let text: String = server
        .db
        .call_blocking(|c| c.query_row("SELECT text FROM passes WHERE role = 'visitor'", &[], |r| r.get(0)))
        .unwrap();
    k.sync().unwrap();
    let claims =
        shoumen_protocol::pass::verify(&text, &k.store.trust().unwrap(), shoumen_server::db::now_ms() / 1000, 0)
            .unwrap();
    assert_eq!(
        (claims.role, claims.unit.as_str(), claims.expires_at - claims.not_before),
        (shoumen_protocol::Role::Visitor, "3-502", 4 * 3600)
    );

    // An entry from the kiosk appears on the entries page and in the CSV.
    k.add(10);
    k.sync().unwrap();
    let (_, entries) = get(&b, &format!("{base}/entries"));
    assert_eq!(entries.matches("<tr data-seq=").count(), 10);
    let (_, alerts) = get(&b, &format!("{base}/alerts"));
    assert!(alerts.contains("alert-fever") && alerts.contains("fever (pass 0000000a), 37.9 °C"));
    let day = shoumen_server::web::fmt_ms(shoumen_server::db::now_ms(), 480)[..10].to_string();
    let r = b.get(format!("{base}/export.csv?from={day}&to={day}")).send().unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().unwrap();
    assert_eq!(csv.lines().count(), 11, "{csv}");
    let (_, gates) = get(&b, &format!("{base}/gates"));
    assert!(gates.contains("North gate") && gates.contains("<td>0</td>"), "queue 0 after sync");

    // Revoking the pass from the page: the phone link stops working.
    let pass_id: String = server
        .db
        .call_blocking(|c| c.query_row("SELECT pass_id FROM passes WHERE role = 'resident'", &[], |r| r.get(0)))
        .unwrap();
    assert_eq!(post(&b, &format!("{base}/passes/{pass_id}/revoke"), &[("csrf", &token)]).0, 303);
    assert_eq!(get(&browser(), &format!("{base}{link}")).0, 410);
}

#[test]
fn pages_speak_chinese_by_default_and_english_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let b = browser();
    let zh = b.get(format!("{base}/login")).send().unwrap().text().unwrap();
    assert!(zh.contains("lang=\"zh-CN\"") && zh.contains("登录"));
    let r = b.get(format!("{base}/lang/en")).send().unwrap();
    assert_eq!(r.status(), 303);
    let en = b.get(format!("{base}/login")).send().unwrap().text().unwrap();
    assert!(en.contains("lang=\"en\"") && en.contains("Log in"));
}

#[test]
fn the_language_switch_returns_only_to_pages_of_this_site() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let b = browser();
    let back = |referer: &str| {
        let r = b.get(format!("{base}/lang/en")).header("Referer", referer).send().unwrap();
        r.headers()["location"].to_str().unwrap().to_string()
    };
    assert_eq!(back(&format!("{base}/passes")), "/passes");
    assert_eq!(back(&format!("{base}//evil.example/x")), "/");
    assert_eq!(back("not a url"), "/");
}

#[test]
fn a_pass_for_someone_who_needs_help_at_the_gate_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, token) = login(&server);
    let base = server.url();
    let (status, _, _) = post(
        &b,
        &format!("{base}/passes"),
        &[("role", "resident"), ("unit", "8-1604"), ("days", "30"), ("needs_assistance", "on"), ("csrf", &token)],
    );
    assert_eq!(status, 303);
    let (status, _, _) = post(
        &b,
        &format!("{base}/passes"),
        &[("role", "resident"), ("unit", "8-1605"), ("days", "30"), ("csrf", &token)],
    );
    assert_eq!(status, 303);
    let community = server.db.call_blocking(|c| shoumen_server::db::community(c, COMMUNITY)).unwrap();
    let trust = shoumen_protocol::TrustList::new(vec![shoumen_protocol::TrustedKey {
        issuer: community.id.clone(),
        key: community.key.verifying_key(),
    }]);
    for (unit, assisted) in [("8-1604", true), ("8-1605", false)] {
        let u = unit.to_string();
        let text: String = server
            .db
            .call_blocking(move |c| {
                c.query_row("SELECT text FROM passes WHERE unit = ?1", shoumen_server::vals![u], |r| r.get(0))
            })
            .unwrap();
        let claims = shoumen_protocol::pass::verify_signature(&text, &trust).unwrap();
        assert_eq!(claims.flags.has(shoumen_protocol::PassFlags::NEEDS_ASSISTANCE), assisted, "{unit}");
    }
}
