//! The committee's forms as a committee worker meets them (issue 28): what
//! a form is filled with is what gets signed, a date typed is the date
//! shown, and a mistake leaves a way back.

mod common;

use common::*;

/// The textareas of a page's form as a browser would send them.
fn textareas(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("<textarea") {
        rest = &rest[at..];
        let name_at = rest.find("name=\"").unwrap() + 6;
        let name = rest[name_at..name_at + rest[name_at..].find('"').unwrap()].to_string();
        let open = rest.find('>').unwrap() + 1;
        let close = rest.find("</textarea>").unwrap();
        out.push((name, rest[open..close].replace("&amp;", "&").replace("&quot;", "\"")));
        rest = &rest[close..];
    }
    out
}

#[test]
fn a_document_made_from_the_form_says_the_period_it_is_saved_with() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    // The worker leaves the texts as the page fills them, picks a notice
    // and sets the period to 7 days.
    let (_, page) = get(&b, &format!("{base}/returnees/rules"));
    let mut form: Vec<(String, String)> = textareas(&page);
    assert_eq!(form.len(), 2, "the Chinese and English texts");
    for (k, v) in [("name", "七天告知书"), ("kind", "notice"), ("days", "7"), ("csrf", csrf.as_str())] {
        form.push((k.into(), v.into()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(post(&b, &format!("{base}/returnees/documents"), &pairs).0, 303);
    // What the person will sign is a notice of 7 days, nothing of 14.
    let (_, page) = get(&b, &format!("{base}/returnees/rules"));
    let card = &page[page.find("<b>七天告知书</b>").expect("the new document")..];
    let card = &card[..card.find("</div>").unwrap()];
    assert!(card.contains("居家隔离"), "a notice's text, not a pledge's: {card}");
    assert!(!card.contains("14"), "no other period in the text: {card}");
    let stored =
        server.count("SELECT COUNT(*) FROM document_versions WHERE name = '七天告知书' AND body_zh LIKE '%{days}%'");
    assert_eq!(stored, 1, "the period is written as {{days}}, filled where it is shown");

    // A text that names another period is refused, in the worker's words,
    // with a way back to the form.
    let (status, page, _) = post(
        &b,
        &format!("{base}/returnees/documents"),
        &[
            ("name", "承诺书"),
            ("kind", "pledge"),
            ("days", "7"),
            ("body_zh", "本人承诺自抵达之日起 14 天内每日自测体温。"),
            ("body_en", ""),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(status, 400);
    assert!(page.contains("正文写的是 14 天，而期限是 7 天"), "{page}");
    assert!(page.contains("href=\"/returnees/rules\""), "a way back: {page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM document_versions WHERE name = '承诺书'"), 0);
    // A bad region rule says so in Chinese too, not in English.
    let (status, page, _) = post(
        &b,
        &format!("{base}/returnees/rules"),
        &[("prefix", "湖北"), ("document", "七天告知书"), ("from", ""), ("until", ""), ("csrf", &csrf)],
    );
    assert_eq!(status, 400);
    assert!(page.contains("“湖北”不是行政区划代码"), "{page}");
    assert!(!page.contains("is not a division code"), "{page}");
}

#[test]
fn an_end_date_is_shown_as_it_was_typed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    let (status, _, _) = post(
        &b,
        &format!("{base}/quarantine"),
        &[("unit", "3-502"), ("from", "2026-12-01"), ("until", "2026-12-14"), ("note", ""), ("csrf", &csrf)],
    );
    assert_eq!(status, 303);
    let (_, page) = get(&b, &format!("{base}/quarantine"));
    let table = &page[page.find("id=\"quarantines\"").unwrap()..];
    assert!(table.contains("2026-12-14"), "the typed last day: {table}");
    assert!(!table.contains("2026-12-15"), "not the day after: {table}");
    // A region rule's last day likewise.
    let (status, _, _) = post(
        &b,
        &format!("{base}/returnees/documents"),
        &[("name", "P"), ("kind", "pledge"), ("days", "14"), ("body_zh", ""), ("body_en", ""), ("csrf", &csrf)],
    );
    assert_eq!(status, 303);
    let (status, _, _) = post(
        &b,
        &format!("{base}/returnees/rules"),
        &[("prefix", "42"), ("document", "P"), ("from", "2026-12-01"), ("until", "2026-12-31"), ("csrf", &csrf)],
    );
    assert_eq!(status, 303);
    let (_, page) = get(&b, &format!("{base}/returnees/rules"));
    let table = &page[page.find("id=\"rules\"").unwrap()..];
    assert!(table.contains("2026-12-31"), "{table}");
    assert!(!table.contains("2027-01-01"), "{table}");
}

#[test]
fn the_returnee_form_after_a_mistake_shows_the_place_it_will_send() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let b = browser();
    let (_, page) = get(&b, &format!("{base}/r/{COMMUNITY}"));
    let key = "name=\"token\" value=\"";
    let at = page.find(key).unwrap() + key.len();
    let token = page[at..at + page[at..].find('"').unwrap()].to_string();
    let (status, page, _) = post(
        &b,
        &format!("{base}/r/{COMMUNITY}"),
        &[
            ("token", &token),
            ("name", "王芳"),
            ("phone", "12"),
            ("unit", "3-502"),
            ("origin", "420106"),
            ("arrival", "2026-12-01"),
            ("travel", "train"),
            ("temperature", "36.5"),
            ("symptoms", "no"),
            ("contact", "no"),
        ],
    );
    assert_eq!(status, 400, "a phone number of two digits");
    // Wuchang district of Wuhan, Hubei: each list holds its level and
    // shows the choice, and the hidden field sends the same.
    let select = |id: &str| {
        let s = &page[page.find(&format!("id=\"{id}\"")).unwrap()..];
        s[..s.find("</select>").unwrap()].to_string()
    };
    assert!(select("province").contains("value=\"42\" selected"), "{}", select("province"));
    assert!(select("city").contains("value=\"4201\" selected>武汉市"), "{}", select("city"));
    assert!(select("district").contains("value=\"420106\" selected>武昌区"), "{}", select("district"));
    assert!(page.contains("id=\"origin\" type=\"hidden\" name=\"origin\" value=\"420106\""), "{page}");
}

#[test]
fn units_are_stored_one_way_and_import_problems_are_said_in_chinese() {
    use reqwest::blocking::multipart::{Form, Part};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    get(&b, &format!("{base}/lang/zh"));
    // Typed the way people write an address, stored the way the gates read it.
    for typed in ["3号楼2单元502室", "２－１０２"] {
        let (status, _, _) = post(
            &b,
            &format!("{base}/residents"),
            &[("name", "王芳"), ("unit", typed), ("phone", ""), ("csrf", &csrf)],
        );
        assert_eq!(status, 303, "{typed}");
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM residents WHERE unit IN ('3-2-502', '2-102')"), 2);
    let sheet = "姓名,房号,电话\n李四,2号楼101,13800000001\n,3-503,\n王五,3-504,call me\n赵六,12号楼12单元1201室东,\n王芳,3-2-502,\n";
    let form = Form::new()
        .text("csrf", csrf.clone())
        .text("mode", "check")
        .part("file", Part::bytes(sheet.as_bytes().to_vec()).file_name("楼.csv"));
    let r = b.post(format!("{base}/residents/import")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = without_cell_labels(&r.text().unwrap());
    let problems = &page[page.find("id=\"problems\"").expect("a problems table")..];
    let problems = &problems[..problems.find("</table>").unwrap()];
    for said in ["没有姓名。", "电话“call me”不是电话号码。", "太长", "王芳（3-2-502）已是住户。"]
    {
        assert!(problems.contains(said), "{said}: {problems}");
    }
    assert!(!problems.contains("no name") && !problems.contains("is not a phone"), "{problems}");
    // The check shows how a unit written another way will be stored,
    // before anything is.
    let rewritten = &page[page.find("id=\"rewritten\"").expect("the rewritten units")..];
    let rewritten = &rewritten[..rewritten.find("</table>").unwrap()];
    assert!(rewritten.contains("<td>2</td><td>2号楼101</td><td><b>2-101</b></td>"), "{rewritten}");
    assert!(!rewritten.contains("3-503"), "a unit written the compound's way is not listed: {rewritten}");
    assert_eq!(server.count("SELECT COUNT(*) FROM residents WHERE name = '李四'"), 0, "a check writes nothing");
    let form = Form::new()
        .text("csrf", csrf.clone())
        .text("mode", "import")
        .part("file", Part::bytes(sheet.as_bytes().to_vec()).file_name("楼.csv"));
    assert!(b.post(format!("{base}/residents/import")).multipart(form).send().unwrap().status().is_success());
    assert_eq!(server.count("SELECT COUNT(*) FROM residents WHERE name = '李四' AND unit = '2-101'"), 1, "2号楼101");
}

#[test]
fn a_page_shows_only_the_forms_its_reader_may_send() {
    use shoumen_server::leaves::roles::AccountRole;
    use shoumen_server::records::accounts;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let token = server
        .db
        .call_blocking(|c| Ok(accounts::invite(c, COMMUNITY, AccountRole::Staff, None, ADMIN, now_ms())))
        .unwrap()
        .unwrap();
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    server
        .db
        .call_blocking(move |c| Ok(accounts::accept_invite(c, &token, "staff-1", &hash, now_ms())))
        .unwrap()
        .unwrap();
    let (admin, _) = login(&server);
    let (staff, _) = login_as(&server, "staff-1");
    for (who, b, shown) in [("admin", &admin, true), ("staff", &staff, false)] {
        let (_, home) = get(b, &format!("{base}/"));
        assert!(home.contains("id=\"retention\""), "{who}: everyone reads the policy");
        assert_eq!(home.contains("action=\"/retention\""), shown, "{who}: the retention form");
        let (_, alerts) = get(b, &format!("{base}/alerts"));
        assert_eq!(alerts.contains("action=\"/alerts/webhook\""), shown, "{who}: the robot's form");
    }
}

fn now_ms() -> i64 {
    shoumen_server::db::now_ms()
}

#[test]
fn residents_are_listed_as_units_are_counted_and_can_be_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    for (name, unit, phone) in
        [("甲", "1-1001", "13800000001"), ("乙", "1-101", ""), ("丙", "1-102", ""), ("丁", "2-3", "")]
    {
        let form = [("name", name), ("unit", unit), ("phone", phone), ("csrf", csrf.as_str())];
        assert_eq!(post(&b, &format!("{base}/residents"), &form).0, 303);
    }
    let (_, page) = get(&b, &format!("{base}/residents"));
    let at = |name: &str| page.find(&format!("<td>{name}")).unwrap_or_else(|| panic!("{name} listed"));
    assert!(at("乙") < at("丙") && at("丙") < at("甲") && at("甲") < at("丁"), "1-101, 1-102, 1-1001, 2-3");
    // Found by a unit typed the long way, or by a phone number.
    let (_, found) = get(&b, &format!("{base}/residents?q={}", urlencode("1号楼101")));
    assert!(found.contains("<td>乙") && !found.contains("<td>甲") && !found.contains("<td>丁"), "1-101 only");
    let (_, found) = get(&b, &format!("{base}/residents?q=13800000001"));
    assert!(found.contains("<td>甲") && !found.contains("<td>乙"));
}

/// A compound outside Shanghai (issue 28): its pages say its own name, and
/// 返沪 becomes 返 and its city (本市 until the committee sets one), in the
/// menu, the public form, the poster, the cards and the documents people
/// sign.
#[test]
fn a_compound_names_itself_and_its_city() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    get(&b, &format!("{base}/lang/zh"));
    let (_, page) = get(&b, &format!("{base}/returnees"));
    assert!(page.contains("<h1>返本市人员</h1>"), "本市 until a city is set: {page}");
    assert!(!page.contains("{city}") && !page.contains("返沪"), "{page}");
    // A new community's overview lists what is left to do first.
    let (_, page) = get(&b, &format!("{base}/"));
    let steps = &page[page.find("id=\"first-steps\"").expect("the first steps")..];
    assert!(steps.contains("<a href=\"/#place\">填写小区名称和城市</a>"), "{steps}");
    assert!(steps.contains("<a href=\"/returnees/rules\">设置返本市人员的地区规则</a>"), "{steps}");

    // A name too long is refused in words, with a way back to the form.
    let long = "花".repeat(31);
    let (status, page, _) = post(&b, &format!("{base}/place"), &[("csrf", &csrf), ("name", &long), ("city", "苏")]);
    assert_eq!(status, 400);
    assert!(page.contains("小区名称最多 30 个字") && page.contains("href=\"/#place\""), "{page}");
    let form = [("csrf", csrf.as_str()), ("name", " 莲花小区 "), ("city", "苏")];
    assert_eq!(post(&b, &format!("{base}/place"), &form).0, 303);

    let (_, page) = get(&b, &format!("{base}/"));
    assert!(page.contains("<p class=\"compound\"><b>莲花小区</b></p>"), "every page names the compound: {page}");
    assert!(page.contains("✓ 填写小区名称和城市"), "{page}");
    assert!(page.contains("value=\"莲花小区\"") && page.contains("value=\"苏\""), "the form shows what is set");
    let (_, page) = get(&b, &format!("{base}/returnees"));
    assert!(page.contains("<h1>返苏人员</h1>") && page.contains(">返苏人员</a>"), "title and menu: {page}");
    let (_, page) = get(&b, &format!("{base}/returnees/poster"));
    assert!(page.contains("莲花小区") && page.contains("返苏人员登记"), "{page}");
    let (_, page) = get(&b, &format!("{base}/r/{COMMUNITY}"));
    assert!(page.contains("<h1>返苏人员登记</h1>") && page.contains("<b>莲花小区</b>"), "{page}");
    let (_, page) = get(&b, &format!("{base}/audit"));
    assert!(page.contains("设置小区名称与城市") && page.contains("小区名称“莲花小区”，城市“苏”"), "{page}");

    // A document left to the standard text says the city where it is shown.
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "告知书"),
        ("kind", "notice"),
        ("days", "7"),
        ("body_zh", ""),
        ("body_en", ""),
    ];
    assert_eq!(post(&b, &format!("{base}/returnees/documents"), &form).0, 303);
    let (_, page) = get(&b, &format!("{base}/returnees/rules"));
    assert!(page.contains("自返苏之日起 7 天内请居家隔离"), "{page}");
}
