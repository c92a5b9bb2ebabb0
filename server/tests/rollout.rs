//! A district's software rollout (issue 31) through the kiosk API: 50
//! kiosks in 10 compounds beat, take the release their stage offers,
//! fetch it in parts, check it against the signed note and report how the
//! install went. A release that fails its self-test stops after the first
//! stage; a good one reaches all 50, stage by stage, on the district page.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use shoumen_protocol::release::{self, Outcome, Release, UpdateReport, PART_BYTES};
use shoumen_server::records::updates::{self, Step};

const COMPOUNDS: usize = 10;
const GATES: usize = 5;

/// A kiosk under a package manager of pretend: what it is offered it
/// fetches and checks for real, then "installs" (or fails, for the bad
/// release) and reports.
struct Gate {
    kiosk: Kiosk,
    client: shoumen_client::sync::Client,
    community: String,
    installed: String,
    last: Option<Outcome>,
    /// (version, round) of every offer it took.
    offers: Vec<(String, usize)>,
}

impl Gate {
    fn beat(&mut self, round: usize, vkey: &str, bad: &str) {
        let mut hb = self.kiosk.heartbeat();
        hb.update = Some(UpdateReport {
            arch: "arm64".into(),
            installed: self.installed.clone(),
            last: self.last.clone(),
            waiting: None,
        });
        let answer = self.client.heartbeat(&hb).unwrap();
        let Some(offer) = answer.update else { return };
        let rel = Release::open(&offer.note, &[vkey.to_string()]).unwrap();
        assert_eq!(rel.version, offer.version);
        let mut bytes = Vec::new();
        for part in 0..rel.size.div_ceil(PART_BYTES) {
            bytes.extend(self.client.release_part(&rel.version, "arm64", part).unwrap());
        }
        rel.check_file(&bytes).unwrap();
        self.offers.push((rel.version.clone(), round));
        let at_ms = shoumen_server::db::now_ms();
        self.last = Some(if rel.version == bad {
            Outcome::RolledBack {
                failed: rel.version,
                restored: self.installed.clone(),
                why: "self-test: camera: no frames".into(),
                at_ms,
            }
        } else {
            self.installed = rel.version.clone();
            Outcome::Installed { version: rel.version, at_ms }
        });
    }
}

fn package(version: &str, size: usize) -> Vec<u8> {
    (0..size).map(|i| (i as u8) ^ version.len() as u8).collect()
}

#[test]
fn a_bad_release_stops_after_the_first_stage_and_a_good_one_reaches_every_gate() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.silent_check_every = Duration::from_millis(100);
        c.rollout_hold = Duration::ZERO;
    });
    let compounds: Vec<String> =
        (0..COMPOUNDS).map(|i| if i == 0 { COMMUNITY.to_string() } else { format!("compound-{i}") }).collect();
    for c in &compounds[1..] {
        init_community(dir.path(), c, &format!("admin-{c}"));
    }
    let mut gates = Vec::new();
    for c in &compounds {
        for g in 0..GATES {
            let mut kiosk = Kiosk::new(dir.path(), &format!("{c}-{g}"));
            kiosk.enroll(&server.url(), &server.token_of(c, &format!("gate {g}")));
            let client = kiosk.client();
            gates.push(Gate {
                kiosk,
                client,
                community: c.clone(),
                installed: "0.1.0-1".into(),
                last: None,
                offers: Vec::new(),
            });
        }
    }
    // One gate was installed by hand, not from the package: it sends no
    // report and no rollout counts on it.
    let mut by_hand = Kiosk::new(dir.path(), "by-hand");
    by_hand.enroll(&server.url(), &server.token_of(COMMUNITY, "workshop"));

    let (skey, vkey) = release::generate_key(&mut rand::rngs::OsRng, "shoumen-release.test");
    let add = |version: &str, size: usize, signer: &str| {
        let deb = package(version, size);
        let note = Release::of_file("shoumen", version, "arm64", &deb).sign(signer).unwrap();
        let keys = vec![vkey.clone()];
        server.db.call_blocking(move |c| Ok(updates::add_release(c, &note, &deb, &keys, 0))).unwrap()
    };
    // A note the district's key did not sign is not stored.
    let (other, _) = release::generate_key(&mut rand::rngs::OsRng, "someone-else");
    assert!(matches!(add("9.9.9-1", 10, &other), Err(updates::UpdateError::Release(_))));
    // The bad one spans three parts, the good one two and a bit.
    add("0.2.0-1", 2 * PART_BYTES as usize + 17, &skey).unwrap();
    add("0.3.0-1", PART_BYTES as usize * 5 / 2, &skey).unwrap();
    let rounds = |gates: &mut Vec<Gate>, bad: &str, until: &dyn Fn() -> bool| -> usize {
        for round in 1..=30 {
            for g in gates.iter_mut() {
                g.beat(round, &vkey, bad);
            }
            // The promotion look runs every 100 ms.
            std::thread::sleep(Duration::from_millis(350));
            if until() {
                return round;
            }
        }
        panic!("the rollout did not end in 30 rounds");
    };
    let latest = || server.db.call_blocking(updates::latest).unwrap().unwrap();
    // Every gate has beaten (and said what it runs) before a rollout starts.
    for g in gates.iter_mut() {
        g.beat(0, &vkey, "");
    }

    // The bad release: only stage-one gates (one per compound at most) are
    // offered it; the first to roll back halts the rollout.
    server
        .db
        .call_blocking(|c| Ok(updates::start(c, "0.2.0-1", 40, "test", shoumen_server::db::now_ms())))
        .unwrap()
        .unwrap();
    rounds(&mut gates, "0.2.0-1", &|| latest().0.halted.is_some());
    let took: Vec<&Gate> = gates.iter().filter(|g| g.offers.iter().any(|(v, _)| v == "0.2.0-1")).collect();
    let per_compound: BTreeSet<&str> = took.iter().map(|g| g.community.as_str()).collect();
    assert!(!took.is_empty() && took.len() <= COMPOUNDS, "{} gates took the bad release", took.len());
    assert_eq!(per_compound.len(), took.len(), "two gates of one compound took it in stage one");
    let (r, steps) = latest();
    assert!(r.halted.as_deref().unwrap().contains("camera: no frames"), "{:?}", r.halted);
    assert_eq!(steps.iter().map(|s| s.1).collect::<Vec<_>>(), [Step::Started, Step::Halted]);
    assert!(gates.iter().all(|g| g.installed == "0.1.0-1"), "every gate still runs 0.1.0");
    // Halted stays halted: more beats, no more offers.
    let before = took.len();
    rounds(&mut gates, "0.2.0-1", &|| true);
    assert_eq!(gates.iter().filter(|g| g.offers.iter().any(|(v, _)| v == "0.2.0-1")).count(), before);

    // The good release: stage one (10), stage two (40% of 5 = 2 per
    // compound: 10 more), then the other 30.
    server
        .db
        .call_blocking(|c| Ok(updates::start(c, "0.3.0-1", 40, "test", shoumen_server::db::now_ms())))
        .unwrap()
        .unwrap();
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    server
        .db
        .call_blocking(|c| shoumen_server::db::add_user(c, "street-office", &hash, None, shoumen_server::db::now_ms()))
        .unwrap();
    let (district, token) = login_as(&server, "street-office");
    let mut stages_seen = BTreeSet::new();
    for round in 1..=30 {
        for g in gates.iter_mut() {
            g.beat(round, &vkey, "0.2.0-1");
        }
        std::thread::sleep(Duration::from_millis(350));
        let (status, page) = get(&district, &format!("{}/updates", server.url()));
        assert_eq!(status, 200);
        if let Some(at) = page.find("<li class=\"current\"><b>") {
            stages_seen.insert(page[at..].split("</b>").next().unwrap().to_string());
        }
        if latest().0.ended_ms.is_some() {
            break;
        }
    }
    let (r, steps) = latest();
    assert_eq!((r.halted.as_deref(), r.ended_ms.is_some()), (None, true));
    assert!(gates.iter().all(|g| g.installed == "0.3.0-1"), "every gate runs 0.3.0");
    let details: Vec<(Step, &str)> = steps.iter().map(|s| (s.1, s.2.as_str())).collect();
    assert_eq!(
        details,
        [(Step::Started, "test"), (Step::Promoted, "10 / 50"), (Step::Promoted, "20 / 50"), (Step::Done, "50 / 50")]
    );
    // Stage by stage: each compound's first gate in one round, its second
    // in a later one, the rest later still.
    let mut rounds_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for g in &gates {
        let round = g.offers.iter().find(|(v, _)| v == "0.3.0-1").unwrap().1;
        rounds_of.entry(g.community.as_str()).or_default().push(round);
    }
    for (c, mut r) in rounds_of {
        r.sort();
        assert!(r[0] < r[1] && r[1] < r[2] && r[2..].iter().all(|&x| x == r[2]), "{c}: offered in rounds {r:?}");
    }
    // The district page showed each stage as it ran.
    assert_eq!(stages_seen.len(), 3, "{stages_seen:?}");
    let (_, page) = get(&district, &format!("{}/updates", server.url()));
    assert!(page.contains("Done: every gate runs it") && page.contains("50 / 50"), "the page says it is done");
    assert!(page.contains("cannot be updated remotely"), "the gate installed by hand is shown as not updatable");

    // From the page: a newer rollout started and stopped by a person; a
    // compound's admin cannot reach either.
    add("0.4.0-1", 100, &skey).unwrap();
    let (status, _, to) = post(
        &district,
        &format!("{}/updates/start", server.url()),
        &[("csrf", &token), ("version", "0.4.0-1"), ("percent", "20")],
    );
    assert_eq!((status, to.as_deref()), (303, Some("/updates")));
    assert_eq!(latest().0.version, "0.4.0-1");
    let (status, page, _) = post(
        &district,
        &format!("{}/updates/start", server.url()),
        &[("csrf", &token), ("version", "0.4.0-1"), ("percent", "0")],
    );
    assert_eq!(status, 400);
    // (The test's posts ask for no language: the page's own, Chinese.)
    assert!(page.contains("比例应在 1 到 100 之间"), "the share refused, in words");
    let (admin, admin_token) = login(&server);
    let (status, _, _) = post(&admin, &format!("{}/updates/halt", server.url()), &[("csrf", &admin_token)]);
    assert_eq!(status, 404);
    assert_eq!(get(&admin, &format!("{}/updates", server.url())).0, 404);
    let (status, _, _) =
        post(&district, &format!("{}/updates/halt", server.url()), &[("csrf", &token), ("why", "wrong day")]);
    assert_eq!(status, 303);
    assert_eq!(latest().0.halted.as_deref(), Some("wrong day (street-office)"));
}
