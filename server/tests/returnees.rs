//! The committee's region rules and documents for returning residents:
//! versions, the most specific rule, the default, and what a bad rule says.

mod common;

use common::*;

#[test]
fn rules_pick_the_document_by_where_a_person_came_from_and_edits_make_versions() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    get(&b, &format!("{base}/lang/en"));
    let doc = |name: &str, kind: &str, days: &str, zh: &str| {
        post(
            &b,
            &format!("{base}/returnees/documents"),
            &[("name", name), ("kind", kind), ("days", days), ("body_zh", zh), ("body_en", ""), ("csrf", &csrf)],
        )
        .0
    };
    assert_eq!(doc("Pledge", "pledge", "14", "本人承诺每日自测体温。"), 303);
    assert_eq!(doc("Hubei notice", "notice", "14", "请居家隔离十四天。"), 303);
    let rule = |prefix: &str, document: &str, from: &str| {
        post(
            &b,
            &format!("{base}/returnees/rules"),
            &[("prefix", prefix), ("document", document), ("from", from), ("until", ""), ("csrf", &csrf)],
        )
    };
    assert_eq!(rule("", "Pledge", "").0, 303);
    assert_eq!(rule("42", "Hubei notice", "2026-01-01").0, 303);
    let applies = |origin: &str, day: &str| {
        let (_, page) = get(&b, &format!("{base}/returnees/rules?origin={origin}&day={day}"));
        let at = page.find("id=\"applies\">").expect("an answer") + "id=\"applies\">".len();
        page[at..at + page[at..].find("</p>").unwrap()].to_string()
    };
    assert!(applies("420106", "2026-11-29").contains("<b>Hubei notice</b> v1"), "Wuchang, Wuhan, Hubei");
    assert!(applies("420106", "2025-12-31").contains("<b>Pledge</b>"), "before the Hubei rule started");
    assert!(applies("310115", "2026-11-29").contains("<b>Pledge</b>"), "everywhere else");
    // A city rule beats the province's.
    assert_eq!(doc("Wuhan pledge", "pledge", "7", "武汉来沪人员七天自我监测。"), 303);
    assert_eq!(rule("4201", "Wuhan pledge", "").0, 303);
    assert!(applies("420106", "2026-11-29").contains("<b>Wuhan pledge</b>"));
    assert!(applies("420500", "2026-11-29").contains("<b>Hubei notice</b>"), "another city of Hubei");
    // An edit is a new version with its own hash; the old one is kept.
    assert_eq!(doc("Pledge", "pledge", "14", "本人承诺每日早晚自测体温。"), 303);
    assert!(applies("310115", "2026-11-29").contains("<b>Pledge</b> v2"));
    assert_eq!(server.count("SELECT COUNT(*) FROM document_versions WHERE name = 'Pledge'"), 2);
    assert_eq!(server.count("SELECT COUNT(DISTINCT sha256) FROM document_versions WHERE name = 'Pledge'"), 2);
    // Bad rules say what is wrong.
    let (status, page, _) = rule("4299", "Pledge", "");
    assert_eq!(status, 400);
    assert!(page.contains("is not a division code"), "{page}");
    assert_eq!(rule("42", "No such document", "").0, 400);
    // Removing the default leaves Shanghai without a rule, and the page says so.
    let default = server.count("SELECT id FROM region_rules WHERE prefix = ''");
    assert_eq!(post(&b, &format!("{base}/returnees/rules/{default}/remove"), &[("csrf", &csrf)]).0, 303);
    assert!(applies("310115", "2026-11-29").contains("No rule applies"));
    assert_eq!(
        server.count("SELECT COUNT(*) FROM audit WHERE action IN ('document.save', 'rule.add', 'rule.remove')"),
        4 + 3 + 1
    );
}
