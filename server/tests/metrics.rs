//! `/metrics` as a district's Prometheus scrapes it: only with its token,
//! in the text format `promtool` accepts, with the fleet's series; and the
//! shipped alert rules and dashboard name only series the server exports.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use common::{Kiosk, TestServer, COMMUNITY};
use shoumen_protocol::release::{self, Release};
use shoumen_server::records::updates;

const TOKEN: &str = "a-metrics-token-for-the-district-0123";

fn scrape(server: &TestServer, token: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::blocking::Client::new().get(format!("{}/metrics", server.url()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let kind = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, resp.text().unwrap())
}

/// The names a page exports, a histogram's three series included.
fn exported(page: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in page.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let mut parts = line.split(' ');
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        names.insert(name.to_string());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

/// Every `shoumen_…` name in a file.
fn named_in(path: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("shoumen_") {
        let start = i + at;
        let end = start
            + text[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len() - start);
        // A whole word: not the tail of another identifier.
        if start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            names.insert(text[start..end].to_string());
        }
        i = end;
    }
    names
}

#[test]
fn the_fleet_is_scraped_with_the_token_only_and_the_rules_and_dashboard_name_what_it_exports() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.metrics_token = Some(TOKEN.into()));
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&server.url(), &server.token("North"));
    k.add(3);
    k.sync().unwrap();
    k.sync().unwrap();
    // A restore drill passed yesterday (its gauge is absent until one has).
    let yesterday = shoumen_server::db::now_ms() - 86_400_000;
    server.db.call_blocking(move |c| shoumen_server::records::drill::record_success(c, yesterday)).unwrap();
    // A rollout a gate failed: the district hears it without opening its page.
    let (skey, vkey) = release::generate_key(&mut rand::rngs::OsRng, "shoumen-release.test");
    let deb = b"not really a package".to_vec();
    let note = Release::of_file("shoumen", "0.3.0-1", "arm64", &deb).sign(&skey).unwrap();
    server
        .db
        .call_blocking(move |c| {
            updates::add_release(c, &note, &deb, &[vkey], 0).unwrap();
            updates::start(c, "0.3.0-1", 20, "test", 0).unwrap();
            updates::halt(c, "North: the self-test failed: camera", 1).unwrap();
            Ok(())
        })
        .unwrap();

    assert_eq!(scrape(&server, None).0, 401, "no token");
    assert_eq!(scrape(&server, Some("a-metrics-token-for-the-district-0124")).0, 401, "a wrong token");
    let (status, kind, page) = scrape(&server, Some(TOKEN));
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let device = k.store.device_id().to_string();
    let labels = format!("{{community=\"{COMMUNITY}\",gate=\"North\",kiosk=\"{device}\"}}");
    for series in [
        "shoumen_kiosk_last_heartbeat_timestamp_seconds",
        "shoumen_kiosk_queue_entries",
        "shoumen_kiosk_clock_offset_seconds",
        "shoumen_kiosk_lists_version",
    ] {
        assert!(page.contains(&format!("{series}{labels} ")), "{series} of the kiosk in:\n{page}");
    }
    // Its second heartbeat came after it took the server's time.
    assert!(page.contains(&format!("shoumen_kiosk_clock_trusted{labels} 1\n")), "{page}");
    assert!(page.contains(&format!("shoumen_kiosk_queue_entries{labels} 0\n")));
    assert!(page.contains("shoumen_http_request_duration_seconds_count{lane=\"kiosk\"}"));
    let drill = format!("shoumen_restore_drill_last_success_timestamp_seconds {}\n", yesterday as f64 / 1000.0);
    assert!(page.contains(&drill), "{drill} in:\n{page}");
    assert!(page.contains("shoumen_rollout_halted{version=\"0.3.0-1\"} 1\n"), "{page}");
    assert!(!page.contains("3-502"), "no unit, pass or person in the metrics");

    let names = exported(&page);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");
    for file in ["prometheus/shoumen-rules.yml", "prometheus/shoumen-rules.test.yml", "grafana/shoumen-fleet.json"] {
        let path = format!("{root}/{file}");
        let missing: Vec<String> = named_in(&path).difference(&names).cloned().collect();
        assert!(missing.is_empty(), "{file} names series /metrics does not export: {missing:?}");
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/grafana/shoumen-fleet.json")).unwrap()).unwrap();
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 6));

    match Command::new("promtool").args(["check", "metrics"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() {
        Ok(mut child) => {
            child.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "promtool check metrics: {}", String::from_utf8_lossy(&out.stdout));
        }
        Err(_) => eprintln!("promtool not installed (Debian: prometheus): the text format was not checked by it"),
    }
}

#[test]
fn without_a_token_configured_there_is_no_metrics_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    assert_eq!(scrape(&server, Some(TOKEN)).0, 404);
}

#[test]
fn the_fleet_page_shows_the_district_every_gate_down_first_and_an_admin_only_its_own() {
    use shoumen_server::db::{self, now_ms};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let hash = shoumen_server::web::argon2_hash(common::PASSWORD).unwrap();
    server.db.call_blocking(|c| db::init(c, "plum-court", "plum", &hash, now_ms())).unwrap();
    server.db.call_blocking(|c| db::add_user(c, "street-office", &hash, None, now_ms())).unwrap();
    let mut ours = Kiosk::new(dir.path(), "north");
    ours.enroll(&server.url(), &server.token("North"));
    ours.sync().unwrap();
    let mut theirs = Kiosk::new(dir.path(), "plum");
    theirs.enroll(&server.url(), &server.token_of("plum-court", "Plum East"));
    theirs.sync().unwrap();
    // Theirs went quiet ten minutes ago.
    let quiet = theirs.store.device_id().to_string();
    server
        .exec("UPDATE devices SET last_seen_ms = ?1 WHERE id = ?2", shoumen_server::vals![now_ms() - 600_000, &quiet]);

    let (district, _) = common::login_as(&server, "street-office");
    let (status, page) = common::get(&district, &format!("{}/fleet", server.url()));
    assert_eq!(status, 200);
    let (east, north) = (page.find("Plum East").expect("their gate"), page.find("North").expect("our gate"));
    assert!(east < north, "a gate that is down comes first");
    assert!(page.contains("plum-court") && page.contains(COMMUNITY), "the district sees every community");
    let card = &page[east..north];
    assert!(card.contains("离线") || card.contains("down"), "{card}");
    let (_, by_queue) = common::get(&district, &format!("{}/fleet?sort=queue", server.url()));
    assert!(by_queue.contains("Plum East") && by_queue.contains("North"));

    let (admin, _) = common::login(&server);
    let (status, own) = common::get(&admin, &format!("{}/fleet", server.url()));
    assert_eq!(status, 200);
    assert!(own.contains("North") && !own.contains("Plum East"), "a community sees its own gates only");
}

/// A load balancer's health check (issue 30): no token, yes or no, and
/// yes only from a process whose database takes writes. (The no of a
/// PostgreSQL standby is for the failover test, which starts one.)
#[test]
fn the_health_check_answers_a_load_balancer_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let resp = reqwest::blocking::get(format!("{}/healthz", server.url())).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().unwrap(), "ok: the database takes writes\n");
}
