//! Accounts and roles: every role against every community page and action
//! (allowed, or refused with 403), the audit rows each change writes, the
//! invitation link, a property account's gates, the police's stated
//! reason, two-step login, and a tampered audit trail.

mod common;

use common::*;
use shoumen_server::db::now_ms;
use shoumen_server::leaves::roles::AccountRole;
use shoumen_server::records::accounts;

/// Creates an account of `role` in the first community through an
/// invitation; returns its name (password [`PASSWORD`]).
fn account(server: &TestServer, role: AccountRole, gates: Option<&str>) -> String {
    let name = format!("{}-1", role.as_str());
    let gates = gates.map(str::to_string);
    let token = server
        .db
        .call_blocking(move |c| Ok(accounts::invite(c, COMMUNITY, role, gates.as_deref(), ADMIN, now_ms())))
        .unwrap()
        .unwrap();
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    let n = name.clone();
    server.db.call_blocking(move |c| Ok(accounts::accept_invite(c, &token, &n, &hash, now_ms()))).unwrap().unwrap();
    name
}

fn audit_rows(server: &TestServer, actor: &str, action: &str) -> i64 {
    server.count(&format!("SELECT COUNT(*) FROM audit WHERE actor = '{actor}' AND action = '{action}'"))
}

/// One page or action, who may use it (a letter per role: Admin, Staff,
/// Volunteer, Property, Police; '.' refused) and the audit action an
/// allowed change writes.
struct Case {
    method: &'static str,
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    allowed: &'static str,
    audit: Option<&'static str>,
    /// What a role that may use it gets (a form the test cannot fill in
    /// answers 400 to everyone who passes the role check).
    answers: &'static [u16],
}

const fn case(
    method: &'static str,
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    allowed: &'static str,
    audit: Option<&'static str>,
) -> Case {
    Case { method, path, form, allowed, audit, answers: &[200, 303, 404] }
}

/// Actions on ids that do not exist answer 404 to a role that may take
/// them and 403 to one that may not, so the table needs no fixtures.
const CASES: &[Case] = &[
    // The landing page: a property account is sent on to its gates' entries.
    case("GET", "/", &[], "ASVPP", None),
    case("GET", "/summary", &[], "ASV.P", None),
    case("GET", "/summary.csv", &[], "ASV.P", None),
    case("GET", "/keys", &[], "A....", None),
    case("POST", "/keys/nosuchstep", &[], "A....", None),
    Case { answers: &[400], ..case("POST", "/residents/import", &[("mode", "check")], "AS...", None) },
    Case {
        answers: &[400],
        ..case("POST", "/sensors", &[("name", "nosuchsensor"), ("unit", "99-9999")], "AS...", None)
    },
    case(
        "POST",
        "/returnees/documents",
        &[("kind", "pledge"), ("days", "14"), ("name", "Pledge"), ("body_zh", "我承诺"), ("body_en", "I pledge")],
        "AS...",
        Some("document.save"),
    ),
    case(
        "POST",
        "/returnees/rules",
        &[("prefix", ""), ("document", "Pledge"), ("from", ""), ("until", "")],
        "AS...",
        Some("rule.add"),
    ),
    case("POST", "/returnees/notices/999999/confirm", &[], "AS...", None),
    case("GET", "/residents", &[], "AS..P", None),
    case("GET", "/passes", &[], "AS..P", None),
    case("GET", "/quarantine", &[], "AS..P", None),
    case("GET", "/entries", &[], "ASVPP", None),
    case("GET", "/outside", &[], "ASV.P", None),
    case("GET", "/trends", &[], "ASV.P", None),
    case("GET", "/alerts", &[], "ASV.P", None),
    case("GET", "/gates", &[], "ASV.P", None),
    case("GET", "/accounts", &[], "A....", None),
    case("GET", "/audit", &[], "A...P", None),
    case("GET", "/audit.csv", &[], "A...P", Some("audit.export")),
    case("GET", "/export.csv?from=2026-01-01&to=2026-01-02&reason=case+42", &[], "AS.PP", Some("entries.export")),
    case("GET", "/passes/00000000000000000000000000000000/card", &[], "AS..P", None),
    case("POST", "/residents", &[("name", "Li Wei"), ("unit", "3-502"), ("phone", "")], "AS...", Some("resident.add")),
    case("GET", "/residents/999999", &[], "AS...", None),
    case("POST", "/residents/999999", &[("name", "Li Wei"), ("unit", "3-502"), ("phone", "")], "AS...", None),
    case("POST", "/residents/999999/move-out", &[], "AS...", None),
    case("GET", "/residents/import", &[], "AS...", None),
    case("GET", "/print", &[], "AS..P", None),
    case("GET", "/print/nosuchbuilding", &[], "AS..P", None),
    case("POST", "/print/3/issue", &[], "AS...", Some("pass.issue_building")),
    case("POST", "/requests/999999/approve", &[], "AS...", None),
    case("GET", "/returnees", &[], "AS..P", None),
    case("GET", "/returnees/rules", &[], "AS..P", None),
    case("GET", "/sensors", &[], "AS..P", None),
    case("POST", "/sensors/nosuchsensor/unpair", &[], "AS...", None),
    case("POST", "/sensors/windows", &[("windows", "07:00-09:00")], "AS...", Some("sensor.windows")),
    case("GET", "/checkins", &[], "ASV.P", None),
    case("GET", "/tasks", &[], "ASV.P", None),
    case("POST", "/tasks/999999/take", &[], "ASV..", None),
    case("POST", "/checkins/r999999/call", &[("outcome", "fine"), ("note", "")], "ASV..", None),
    case("GET", "/checkins/r999999/card", &[], "ASV.P", None),
    case("GET", "/returnees/poster", &[], "AS..P", None),
    case("GET", "/returnees/999999", &[], "AS..P", None),
    case("GET", "/returnees.csv?reason=check", &[], "AS..P", Some("returnees.export")),
    case("POST", "/returnees/rules/999999/remove", &[], "AS...", None),
    case("POST", "/passes", &[("role", "resident"), ("unit", "3-502"), ("days", "30")], "AS...", Some("pass.issue")),
    case("POST", "/passes/nosuchpass/revoke", &[], "AS...", None),
    case("POST", "/passes/phone-roles", &[("role", "visitor")], "AS...", Some("pass.phone_roles")),
    case(
        "POST",
        "/quarantine",
        &[("unit", "3-502"), ("from", "2026-11-01"), ("until", "2026-11-14"), ("note", "")],
        "AS...",
        Some("quarantine.add"),
    ),
    case("POST", "/quarantine/999999/remove", &[], "AS...", None),
    case("POST", "/alerts/999999/ack", &[("note", "")], "ASV..", None),
    case("POST", "/alerts/webhook", &[("url", ""), ("format", "json"), ("secret", "")], "A....", Some("webhook.set")),
    case("POST", "/retention", &[("entry_days", "90"), ("visitor_days", "14")], "A....", Some("retention.set")),
    case("POST", "/gates/token", &[("gate", "East gate")], "A....", Some("gate.enroll_token")),
    case("POST", "/gates/nosuchdevice/revoke", &[], "A....", None),
    // A code no kiosk asked for: the page says so.
    Case { answers: &[400], ..case("GET", "/gates/enroll?code=2222-2222", &[], "A....", None) },
    Case {
        answers: &[400],
        ..case("POST", "/gates/enroll", &[("code", "22222222"), ("gate", "East gate")], "A....", None)
    },
    case("POST", "/accounts/invite", &[("role", "volunteer"), ("gates", "")], "A....", Some("account.invite")),
    case("POST", "/accounts/999999/role", &[("role", "staff"), ("gates", "")], "A....", None),
    case("POST", "/accounts/999999/disable", &[], "A....", None),
    case("POST", "/accounts/999999/unlock", &[], "A....", None),
    case("POST", "/accounts/999999/reset", &[], "A....", None),
    case("POST", "/accounts/invites/nosuchinvite/withdraw", &[], "A....", None),
    case("POST", "/place", &[("name", "莲花小区"), ("city", "沪")], "A....", Some("place.set")),
    // The duty roster: volunteers read it; the committee changes it; the
    // volunteers' names and phones and their hours are records.
    case("GET", "/roster", &[], "ASV.P", None),
    case("GET", "/roster/print", &[], "ASV.P", None),
    Case { answers: &[400], ..case("POST", "/roster/shifts", &[("gate", "nosuch gate")], "AS...", None) },
    case("POST", "/roster/shifts/999999/delete", &[], "AS...", None),
    case("POST", "/roster/shifts/999999/people", &[("volunteer", "999999")], "AS...", None),
    case("POST", "/roster/shifts/999999/people/999999/remove", &[], "AS...", None),
    case("GET", "/roster/volunteers", &[], "AS..P", None),
    Case {
        answers: &[400],
        ..case("POST", "/roster/volunteers", &[("name", "Li Wei"), ("phone", "x")], "AS...", None)
    },
    case("POST", "/roster/volunteers/999999/confirm", &[], "AS...", None),
    case("POST", "/roster/volunteers/999999/link", &[], "AS...", None),
    case("POST", "/roster/volunteers/999999/stand-down", &[], "AS...", None),
    case("POST", "/roster/volunteers/999999/renew", &[], "AS...", None),
    case("GET", "/roster/volunteers/999999/certificate", &[], "AS..P", None),
    case("GET", "/roster/hours", &[], "AS..P", None),
    case("GET", "/roster/hours.csv", &[], "AS...", Some("hours.export")),
    case("GET", "/roster/hours.xlsx", &[], "AS...", Some("hours.export")),
];

/// Whether `path` (a request path, maybe with a query) matches the route
/// pattern `pattern` (`{name}` matches one segment).
fn matches(pattern: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (p, q): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len() && p.iter().zip(&q).all(|(p, q)| p.starts_with('{') || p == q)
}

#[test]
fn every_community_route_in_the_pages_tables_has_a_role_case() {
    use shoumen_server::web::site::{routes, Access};
    let missing: Vec<_> = routes()
        .iter()
        .filter(|r| matches!(r.access, Access::Member(_)))
        .filter(|r| !CASES.iter().any(|c| c.method == r.method && matches(r.path, c.path)))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(missing.is_empty(), "community routes with no case in roles.rs CASES: {missing:?}");
}

#[test]
fn every_role_against_every_page_and_action_with_its_audit_rows() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    for (i, role) in AccountRole::ALL.into_iter().enumerate() {
        let user =
            if role == AccountRole::Admin { ADMIN.to_string() } else { account(&server, role, Some("North gate")) };
        let (b, csrf) = login_as(&server, &user);
        for c in CASES {
            let may = c.allowed.as_bytes()[i] != b'.';
            let before = c.audit.map(|a| audit_rows(&server, &user, a));
            let status = if c.method == "GET" {
                get(&b, &format!("{base}{}", c.path)).0
            } else {
                let mut form = c.form.to_vec();
                form.push(("csrf", &csrf));
                post(&b, &format!("{base}{}", c.path), &form).0
            };
            let label = format!("{} {} as {}", c.method, c.path, role.as_str());
            if may && c.answers != [200, 303, 404] {
                assert!(c.answers.contains(&status), "{label}: allowed, got {status}");
            } else if may {
                assert!([200, 303, 404].contains(&status), "{label}: allowed, got {status}");
                assert_eq!(
                    status == 404,
                    c.path.contains("nosuch") || c.path.contains("999999") || c.path.contains("/00000000"),
                    "{label}: {status}"
                );
            } else {
                assert_eq!(status, 403, "{label}: refused");
            }
            if let (Some(action), Some(before)) = (c.audit, before) {
                let after = audit_rows(&server, &user, action);
                assert_eq!(after - before, i64::from(may), "{label}: audit rows for {action}");
            }
        }
        // Logging in is recorded too; the navigation shows only what the role may open.
        assert!(audit_rows(&server, &user, "login") >= 1, "{}", role.as_str());
        let (_, entries) = get(&b, &format!("{base}/entries"));
        assert_eq!(entries.contains("href=\"/accounts\""), role == AccountRole::Admin, "{}", role.as_str());
        assert_eq!(
            entries.contains("href=\"/residents\""),
            role.may(shoumen_server::leaves::roles::Perm::ReadRecords),
            "{}",
            role.as_str()
        );
    }
    // Every row of the trail still chains.
    let (b, _) = login(&server);
    let (_, audit) = get(&b, &format!("{base}/audit"));
    assert!(audit.contains("The chain is intact"), "{audit}");
}

#[test]
fn an_invitation_link_makes_one_account_once_and_a_disabled_account_is_out_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (admin, csrf) = login(&server);
    let (status, page, _) =
        post(&admin, &format!("{base}/accounts/invite"), &[("role", "staff"), ("gates", ""), ("csrf", &csrf)]);
    assert_eq!(status, 200);
    let at = page.find("/invite/").expect("the page shows the link");
    let path: String = page[at..].chars().take_while(|c| *c != '<').collect();

    let join = |name: &str| {
        let b = browser();
        let (status, form) = get(&b, &format!("{base}{path}"));
        if status != 200 {
            return (b, status, None);
        }
        let (status, _, to) = post(
            &b,
            &format!("{base}{path}"),
            &[("user", name), ("password", PASSWORD), ("password2", PASSWORD), ("csrf", &csrf_of(&form))],
        );
        (b, status, to)
    };
    let (staff, status, to) = join("wang.fang");
    assert_eq!((status, to.as_deref()), (303, Some("/")), "the invited person is logged in");
    let (status, home) = get(&staff, &format!("{base}/residents"));
    assert_eq!(status, 200);
    assert!(home.contains("wang.fang</span>, staff)"), "the page names the account and its role");
    assert_eq!(get(&staff, &format!("{base}/accounts")).0, 403, "staff do not manage accounts");
    // The link works once.
    let (_, status, _) = join("someone.else");
    assert_eq!(status, 404);
    assert_eq!(server.count("SELECT COUNT(*) FROM users WHERE name = 'someone.else'"), 0);
    assert_eq!(audit_rows(&server, "wang.fang", "account.join"), 1);

    // Wrong passwords from many addresses lock the account; the admin sees
    // until when and unlocks it for someone they know.
    server.exec(
        "UPDATE users SET failed_logins = ?1 WHERE name = 'wang.fang'",
        &[(accounts::MAX_ACCOUNT_FAILURES - 1).into()],
    );
    let b = browser();
    let (_, form) = get(&b, &format!("{base}/login"));
    assert_eq!(
        post(&b, &format!("{base}/login"), &[("user", "wang.fang"), ("password", "guess"), ("csrf", &csrf_of(&form))])
            .0,
        401
    );
    let (_, accounts_page) = get(&admin, &format!("{base}/accounts"));
    assert!(
        accounts_page.contains("Locked after wrong passwords until") || accounts_page.contains("锁定至"),
        "{accounts_page}"
    );
    let locked = server.count("SELECT id FROM users WHERE name = 'wang.fang'");
    assert_eq!(post(&admin, &format!("{base}/accounts/{locked}/unlock"), &[("csrf", &csrf)]).0, 303);
    assert_eq!(audit_rows(&server, ADMIN, "account.unlock"), 1);
    let _ = login_as(&server, "wang.fang");

    // The admin makes the account a volunteer, then disables it: its session ends each time.
    let id = server.count("SELECT id FROM users WHERE name = 'wang.fang'");
    let (status, _, _) =
        post(&admin, &format!("{base}/accounts/{id}/role"), &[("role", "volunteer"), ("gates", ""), ("csrf", &csrf)]);
    assert_eq!(status, 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM users WHERE name = 'wang.fang' AND role = 'volunteer'"), 1);
    assert_eq!(get(&staff, &format!("{base}/residents")).0, 303, "the old session is gone: to the login page");
    let (volunteer, _) = login_as(&server, "wang.fang");
    assert_eq!(get(&volunteer, &format!("{base}/residents")).0, 403);
    let (status, _, _) = post(&admin, &format!("{base}/accounts/{id}/disable"), &[("csrf", &csrf)]);
    assert_eq!(status, 303);
    assert_eq!(get(&volunteer, &format!("{base}/entries")).0, 303, "a disabled account is logged out at once");
    let b = browser();
    let (_, form) = get(&b, &format!("{base}/login"));
    let (status, _, _) =
        post(&b, &format!("{base}/login"), &[("user", "wang.fang"), ("password", PASSWORD), ("csrf", &csrf_of(&form))]);
    assert_eq!(status, 401, "and cannot log in again");
    assert_eq!(audit_rows(&server, ADMIN, "account.role"), 1);
    assert_eq!(audit_rows(&server, ADMIN, "account.disable"), 1);
    // An admin cannot lock themselves out.
    let me = server.count(&format!("SELECT id FROM users WHERE name = '{ADMIN}'"));
    assert_eq!(post(&admin, &format!("{base}/accounts/{me}/disable"), &[("csrf", &csrf)]).0, 400);
}

/// Passwords after the first (issue 28): an account changes its own; an
/// admin makes a one-time reset link for someone who forgot theirs, and
/// withdraws a link sent to the wrong person.
#[test]
fn a_forgotten_password_is_reset_by_a_link_and_a_wrong_invitation_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (admin, csrf) = login(&server);
    let name = account(&server, AccountRole::Staff, None);
    let (staff, staff_csrf) = login_as(&server, &name);
    let (other_browser, _) = login_as(&server, &name);
    get(&staff, &format!("{base}/lang/en"));

    // Changing one's own password needs the current one.
    let change = |current: &str, new: &str, again: &str| {
        let form = [("csrf", staff_csrf.as_str()), ("current", current), ("password", new), ("password2", again)];
        let (status, page, _) = post(&staff, &format!("{base}/account/password"), &form);
        (status, page)
    };
    let (status, page) = change("not my password", "a new long password", "a new long password");
    assert!(status == 400 && page.contains("The current password is not right."), "{page}");
    let (status, page) = change(PASSWORD, "a new long password", "another long password");
    assert!(status == 400 && page.contains("differ"), "{page}");
    let (status, page) = change(PASSWORD, "a new long password", "a new long password");
    assert!(status == 200 && page.contains("Password changed."), "{page}");
    assert_eq!(get(&staff, &format!("{base}/residents")).0, 200, "this browser stays logged in");
    assert_eq!(get(&other_browser, &format!("{base}/residents")).0, 303, "another one is logged out");
    let try_login = |password: &str| {
        let b = browser();
        let (_, form) = get(&b, &format!("{base}/login"));
        post(&b, &format!("{base}/login"), &[("user", &name), ("password", password), ("csrf", &csrf_of(&form))]).0
    };
    assert_eq!(try_login(PASSWORD), 401);
    assert_eq!(try_login("a new long password"), 303);
    assert_eq!(audit_rows(&server, &name, "account.password"), 1);

    // An invitation sent to the wrong person is listed and withdrawn.
    let (_, page, _) =
        post(&admin, &format!("{base}/accounts/invite"), &[("role", "volunteer"), ("gates", ""), ("csrf", &csrf)]);
    let link = |page: &str| {
        let at = page.find("/invite/").expect("the page shows the link");
        page[at..].chars().take_while(|c| *c != '<').collect::<String>()
    };
    let invitation = link(&page);
    let (_, page) = get(&admin, &format!("{base}/accounts"));
    assert!(page.contains("Invitations and reset links not used yet (1)"), "{page}");
    let at = page.find("/accounts/invites/").unwrap();
    let withdraw: String = page[at..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(post(&admin, &format!("{base}{withdraw}"), &[("csrf", &csrf)]).0, 303);
    assert_eq!(get(&browser(), &format!("{base}{invitation}")).0, 404, "a withdrawn link works no more");
    assert_eq!(audit_rows(&server, ADMIN, "invite.withdraw"), 1);

    // The admin makes a reset link; the person opens it and sets a password.
    let id = server.count(&format!("SELECT id FROM users WHERE name = '{name}'"));
    let (status, page, _) = post(&admin, &format!("{base}/accounts/{id}/reset"), &[("csrf", &csrf)]);
    assert_eq!(status, 200);
    let reset = link(&page);
    let b = browser();
    let (status, form) = get(&b, &format!("{base}{reset}"));
    assert!(status == 200 && form.contains(&format!("A new password for account {name}.")), "{form}");
    let new =
        [("csrf", csrf_of(&form)), ("password", "forgot it again".into()), ("password2", "forgot it again".into())];
    let new: Vec<(&str, &str)> = new.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, to) = post(&b, &format!("{base}{reset}"), &new);
    assert_eq!((status, to.as_deref()), (303, Some("/")), "set and logged in");
    assert_eq!(get(&b, &format!("{base}/residents")).0, 200);
    assert_eq!(get(&staff, &format!("{base}/residents")).0, 303, "every earlier browser is logged out");
    assert_eq!(try_login("a new long password"), 401);
    assert_eq!(try_login("forgot it again"), 303);
    assert_eq!(get(&browser(), &format!("{base}{reset}")).0, 404, "the link works once");
    assert_eq!(server.count("SELECT COUNT(*) FROM users"), 2, "a reset link makes no account");
    assert_eq!(audit_rows(&server, ADMIN, "account.reset"), 1);
    assert_eq!(audit_rows(&server, &name, "account.password"), 2);
}

fn csrf_of(html: &str) -> String {
    csrf(html)
}

#[test]
fn a_property_account_reads_only_its_gates_and_the_police_export_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let mut north = Kiosk::new(dir.path(), "north");
    north.enroll(&base, &server.token("North gate"));
    north.add(3);
    north.sync().unwrap();
    let mut south = Kiosk::new(dir.path(), "south");
    south.enroll(&base, &server.token("South gate"));
    south.add(2);
    south.sync().unwrap();

    let property = account(&server, AccountRole::Property, Some("North gate"));
    let (b, _) = login_as(&server, &property);
    assert_eq!(get(&b, &format!("{base}/")).0, 303, "its home is the entries page");
    let (status, entries) = get(&b, &format!("{base}/entries"));
    assert_eq!(status, 200);
    assert!(entries.contains("North gate"), "its own gate's entries");
    assert!(!entries.contains("South gate"), "no other gate's, not even in the gate list");
    let day = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
    let (status, csv) = get(&b, &format!("{base}/export.csv?from=2020-01-01&to={day}"));
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 3, "a header and the north gate's 3 entries: {csv}");
    assert!(!csv.contains("South gate"));

    let police = account(&server, AccountRole::Police, None);
    let (b, _) = login_as(&server, &police);
    let (status, _) = get(&b, &format!("{base}/export.csv?from=2020-01-01&to={day}"));
    assert_eq!(status, 400, "the police state a reason");
    let (status, csv) = get(&b, &format!("{base}/export.csv?from=2020-01-01&to={day}&reason=case+2026-1187"));
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 5);
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE actor = 'police-1' AND action = 'entries.export' AND detail LIKE '%case 2026-1187%'"), 1);
}

#[test]
fn two_step_login_needs_the_current_code_once_turned_on() {
    use totp_rs::{Algorithm, Secret, TOTP};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (admin, _) = login(&server);
    let (_, page) = get(&admin, &format!("{base}/totp"));
    let secret = totp_secret_of(&page);
    let code = |s: &str| {
        TOTP::new(Algorithm::SHA1, 6, 1, 30, Secret::Encoded(s.to_string()).to_bytes().unwrap())
            .unwrap()
            .generate_current()
            .unwrap()
    };
    let csrf = csrf(&page);
    // A wrong code leaves it off, and the page keeps its form and the
    // secret the authenticator already holds; so does opening it again.
    let (status, again, _) = post(&admin, &format!("{base}/totp"), &[("code", "000000x"), ("csrf", &csrf)]);
    assert_eq!(status, 400);
    assert!(again.contains("验证码不正确") && again.contains("name=\"code\""), "{again}");
    assert_eq!(totp_secret_of(&again), secret, "the same secret after a wrong code");
    assert_eq!(totp_secret_of(&get(&admin, &format!("{base}/totp")).1), secret, "the same secret on a reload");
    assert_eq!(server.count("SELECT COUNT(*) FROM users WHERE totp_secret IS NOT NULL"), 0);
    assert_eq!(post(&admin, &format!("{base}/totp"), &[("code", &code(&secret)), ("csrf", &csrf)]).0, 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM users WHERE totp_secret IS NOT NULL"), 1);

    let try_login = |code: &str| {
        let b = browser();
        let (_, form) = get(&b, &format!("{base}/login"));
        post(
            &b,
            &format!("{base}/login"),
            &[("user", ADMIN), ("password", PASSWORD), ("code", code), ("csrf", &csrf_of(&form))],
        )
        .0
    };
    assert_eq!(try_login(""), 401, "the password alone no longer logs in");
    // Said as a missing code, not as a wrong password.
    let b = browser();
    let (_, form) = get(&b, &format!("{base}/login"));
    let (_, page, _) = post(
        &b,
        &format!("{base}/login"),
        &[("user", ADMIN), ("password", PASSWORD), ("code", ""), ("csrf", &csrf_of(&form))],
    );
    assert!(page.contains("此账号已开启两步验证") && !page.contains("用户名或密码错误"), "{page}");
    assert_eq!(try_login("123456"), 401);
    // The code that turned it on is spent; the next one logs in.
    let next = TOTP::new(Algorithm::SHA1, 6, 1, 30, Secret::Encoded(secret.clone()).to_bytes().unwrap())
        .unwrap()
        .generate((now_ms() as u64 / 1000 / 30 + 1) * 30);
    assert_eq!(try_login(&next), 303);
    assert_eq!(audit_rows(&server, ADMIN, "account.totp_on"), 1);
}

#[test]
fn a_deleted_or_edited_audit_row_breaks_the_chain_where_it_happened() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    for unit in ["1-101", "1-102", "1-103", "1-104"] {
        let (status, _, _) = post(
            &b,
            &format!("{base}/residents"),
            &[("name", "Zhang San"), ("unit", unit), ("phone", ""), ("csrf", &csrf)],
        );
        assert_eq!(status, 303);
    }
    let (_, page) = get(&b, &format!("{base}/audit"));
    assert!(page.contains("The chain is intact (5)"), "a login and four residents: {page}");
    assert!(page.contains("resident.add") && page.contains("unit 1-103"));
    let (status, csv) = get(&b, &format!("{base}/audit.csv"));
    assert_eq!(status, 200);
    assert!(csv.starts_with("seq,time,actor,ip,action,detail,hash\n") && csv.contains("127.0.0.1"), "{csv}");

    server
        .db
        .call_blocking(|c| c.execute("UPDATE audit SET detail = 'resident 3, unit 9-999' WHERE seq = 4", &[]))
        .unwrap();
    let (_, page) = get(&b, &format!("{base}/audit"));
    assert!(page.contains("The chain is broken (a row was deleted or changed) at row 4"), "{page}");
    server.db.call_blocking(|c| c.execute("DELETE FROM audit WHERE seq = 4", &[])).unwrap();
    let (_, page) = get(&b, &format!("{base}/audit"));
    assert!(page.contains("at row 4"), "a gap shows where the row was: {page}");
}

/// A change and its row in the audit trail are one transaction: when the
/// trail cannot take the row, the change is not stored either (issue 26),
/// from the pages and from the command line's operations alike.
#[test]
fn a_change_whose_audit_row_cannot_be_written_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (admin, csrf) = login(&server);
    server
        .db
        .call_blocking(|c| {
            shoumen_server::records::community::add_resident(c, COMMUNITY, "王芳", "3-502", "", now_ms())
                .map(|_| ())
                .map_err(|e| shoumen_server::DbError::Engine(e.to_string()))
        })
        .unwrap();
    let fail = if on_postgres() {
        "CREATE FUNCTION audit_fails() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'the trail is unavailable'; END $$ LANGUAGE plpgsql;
         CREATE TRIGGER audit_fails BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_fails();"
    } else {
        "CREATE TRIGGER audit_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'the trail is unavailable'); END;"
    };
    server.db.call_blocking(|c| c.batch(fail)).unwrap();
    let quarantine =
        [("unit", "3-502"), ("from", "2026-11-01"), ("until", "2026-11-14"), ("note", ""), ("csrf", &csrf)];
    let (status, _, _) = post(&admin, &format!("{base}/quarantine"), &quarantine);
    assert_eq!(status, 500, "the change fails with its row");
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine"), 0, "and is not stored");
    let (status, _, _) =
        post(&admin, &format!("{base}/sensors"), &[("name", "door-3-502"), ("unit", "3-502"), ("csrf", &csrf)]);
    assert_eq!(status, 500);
    assert_eq!(server.count("SELECT COUNT(*) FROM sensors"), 0);
    let community = server.community(COMMUNITY);
    let actor =
        shoumen_server::records::audit::Actor { community: COMMUNITY.into(), user: "test".into(), ip: "local".into() };
    let req = shoumen_server::records::community::PassRequest {
        role: shoumen_protocol::Role::Resident,
        unit: "3-502".into(),
        resident_id: None,
        valid_from: now_ms() / 1000,
        valid_s: 86_400,
        flags: 0,
        visitor_name: None,
        gate: None,
    };
    let issued = server
        .db
        .call_blocking(|c| Ok(shoumen_server::ops::passes::issue(c, &actor, &community, &req, "unit 3-502")))
        .unwrap();
    assert!(issued.is_err(), "the command line's operation fails too");
    assert_eq!(server.count("SELECT COUNT(*) FROM passes"), 0);
    // With the trail back, the same change is stored with its row.
    let drop = if on_postgres() {
        "DROP TRIGGER audit_fails ON audit; DROP FUNCTION audit_fails();"
    } else {
        "DROP TRIGGER audit_fails;"
    };
    server.db.call_blocking(|c| c.batch(drop)).unwrap();
    let (status, _, _) = post(&admin, &format!("{base}/quarantine"), &quarantine);
    assert_eq!(status, 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM quarantine"), 1);
    assert_eq!(audit_rows(&server, ADMIN, "quarantine.add"), 1);
}
