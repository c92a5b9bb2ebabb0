//! Residents in a committee's week: a 5,000-row import from XLSX and from
//! CSV with a dry run that names every bad row, editing and moving out (a
//! move-out revokes the passes, and the kiosks' revocation list says so),
//! households whose head asks for passes, and a building's cards.

mod common;

use std::time::Instant;

use common::*;
use reqwest::blocking::multipart::{Form, Part};

const ROWS: usize = 5_000;

/// The import's rows: 5,000 residents of buildings 1–25, with 20 bad rows
/// at known lines (the header is line 1): 5 without a name, 5 with a unit
/// too long for a pass, 5 with a phone that is not one, 5 repeating an
/// earlier row. Returns (rows, bad lines).
fn rows() -> (Vec<[String; 3]>, Vec<usize>) {
    let mut rows = Vec::with_capacity(ROWS);
    let mut bad = Vec::new();
    for i in 0..ROWS {
        let line = i + 2;
        let unit = format!("{}-{}", i % 25 + 1, 101 + i / 25);
        let mut row = [format!("居民{i:04}"), unit, format!("138{i:08}")];
        match i {
            100 | 900 | 1700 | 2500 | 3300 => row[0] = String::new(),
            200 | 1000 | 1800 | 2600 | 3400 => row[1] = "building-7-room-1201-east-wing".into(),
            300 | 1100 | 1900 | 2700 | 3500 => row[2] = "ask the guard".into(),
            400 | 1200 | 2000 | 2800 | 3600 => {
                let earlier: &[String; 3] = &rows[i - 50];
                row = earlier.clone();
            }
            _ => {}
        }
        if [
            100, 900, 1700, 2500, 3300, 200, 1000, 1800, 2600, 3400, 300, 1100, 1900, 2700, 3500, 400, 1200, 2000,
            2800, 3600,
        ]
        .contains(&i)
        {
            bad.push(line);
        }
        rows.push(row);
    }
    bad.sort();
    (rows, bad)
}

fn xlsx(rows: &[[String; 3]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["姓名", "房号", "电话"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, &row[0]).unwrap();
        sheet.write_string(r, 1, &row[1]).unwrap();
        // Phone numbers typed as numbers, as a spreadsheet user would.
        match row[2].parse::<f64>() {
            Ok(n) => sheet.write_number(r, 2, n).unwrap(),
            Err(_) => sheet.write_string(r, 2, &row[2]).unwrap(),
        };
    }
    book.save_to_buffer().unwrap()
}

fn csv(rows: &[[String; 3]]) -> Vec<u8> {
    let mut out = String::from("\u{feff}name,unit,phone\n");
    for r in rows {
        out.push_str(&format!("{},{},{}\n", r[0], r[1], r[2]));
    }
    out.into_bytes()
}

fn upload(server: &TestServer, b: &Browser, csrf: &str, file: Vec<u8>, name: &str, mode: &str) -> (u16, String) {
    let form = Form::new()
        .text("csrf", csrf.to_string())
        .text("mode", mode.to_string())
        .part("file", Part::bytes(file).file_name(name.to_string()));
    let r = b
        .post(format!("{}/residents/import", server.url()))
        .header("Accept-Language", "en")
        .multipart(form)
        .send()
        .unwrap();
    (r.status().as_u16(), without_cell_labels(&r.text().unwrap()))
}

/// The line numbers in the page's problems table.
fn problem_lines(page: &str) -> Vec<usize> {
    let Some(at) = page.find("<table id=\"problems\">") else { return Vec::new() };
    let table = &page[at..page[at..].find("</table>").unwrap() + at];
    table.split("<tr><td>").skip(1).map(|cell| cell[..cell.find('<').unwrap()].parse().unwrap()).collect()
}

fn import_both_ways(file: Vec<u8>, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let (_, bad) = rows();

    let (status, page) = upload(&server, &b, &csrf, file.clone(), name, "check");
    assert_eq!(status, 200, "{page}");
    assert_eq!(problem_lines(&page), bad, "the dry run names exactly the 20 bad rows");
    assert!(page.contains("4980 rows are ready to import"), "{}", &page[..page.len().min(2000)]);
    assert!(
        page.contains("No name.")
            && page.contains("too long")
            && page.contains("is not a phone number")
            && page.contains("appears twice")
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM residents"), 0, "a dry run writes nothing");

    let started = Instant::now();
    let (status, page) = upload(&server, &b, &csrf, file.clone(), name, "import");
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(page.contains("4980 residents imported"), "{}", &page[..page.len().min(2000)]);
    println!("import of {name}: 4,980 of 5,000 rows in {:.2} s (upload, parse, check and insert)", took.as_secs_f64());
    assert_eq!(server.count("SELECT COUNT(*) FROM residents"), 4980);
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM residents WHERE name = '居民0007' AND unit = '8-101' AND phone = '13800000007'"
        ),
        1
    );
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM audit WHERE action = 'resident.import' AND detail = '@resident_import|4980|20'"
        ),
        1
    );

    // The same file again: every row is now either bad or already there.
    let (_, page) = upload(&server, &b, &csrf, file, name, "check");
    assert!(page.contains("0 rows are ready to import"));
    assert!(page.contains("is already a resident"));
}

#[test]
fn a_5000_row_spreadsheet_with_20_bad_rows_dry_run_then_import() {
    let (rows, _) = rows();
    import_both_ways(xlsx(&rows), "residents.xlsx");
}

#[test]
fn a_5000_row_csv_with_20_bad_rows_dry_run_then_import() {
    let (rows, _) = rows();
    import_both_ways(csv(&rows), "residents.csv");
}

#[test]
fn a_file_without_the_columns_is_refused_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let (status, page) = upload(&server, &b, &csrf, b"who,where\nLi,3-502\n".to_vec(), "x.csv", "import");
    assert_eq!(status, 400);
    assert!(page.contains("first row must name the columns"), "{page}");
    let (status, page) = upload(&server, &b, &csrf, b"PK\x03\x04 not really a spreadsheet".to_vec(), "x.xlsx", "check");
    assert_eq!(status, 400);
    assert!(page.contains("cannot be read"), "{page}");
    assert_eq!(server.count("SELECT COUNT(*) FROM residents"), 0);
}

/// The revoked pass ids in the community's current list bundle.
fn revoked_in_bundle(server: &TestServer) -> String {
    let community = server.db.call_blocking(|c| shoumen_server::db::community(c, COMMUNITY)).unwrap();
    let (_, bundle) =
        server.db.call_blocking(move |c| shoumen_server::records::community::bundle(c, &community, now_s())).unwrap();
    serde_json::to_string(&bundle).unwrap()
}

fn now_s() -> i64 {
    shoumen_server::db::now_ms() / 1000
}

#[test]
fn moving_out_revokes_the_passes_and_a_new_unit_needs_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    get(&b, &format!("{base}/lang/en"));
    for (name, unit) in [("Zhao Lei", "2-301"), ("Qian Min", "2-302")] {
        post(&b, &format!("{base}/residents"), &[("name", name), ("unit", unit), ("phone", ""), ("csrf", &csrf)]);
    }
    let id = |name: &str| server.count(&format!("SELECT id FROM residents WHERE name = '{name}'"));
    let pass_of = |name: &str| {
        let (status, _, to) = post(
            &b,
            &format!("{base}/passes"),
            &[("resident_id", &id(name).to_string()), ("role", "resident"), ("days", "365"), ("csrf", &csrf)],
        );
        assert_eq!(status, 303);
        to.unwrap().trim_start_matches("/passes/").trim_end_matches("/card").to_string()
    };
    let (zhao, qian) = (pass_of("Zhao Lei"), pass_of("Qian Min"));

    // Qian moves to another unit: the old pass (which names 2-302) is revoked.
    let (status, page, _) = post(
        &b,
        &format!("{base}/residents/{}", id("Qian Min")),
        &[("name", "Qian Min"), ("unit", "5-101"), ("phone", "139"), ("csrf", &csrf)],
    );
    assert_eq!(status, 200);
    assert!(page.contains("1 old passes were revoked"), "{page}");
    assert!(revoked_in_bundle(&server).contains(&qian), "the kiosks learn it with the next lists");
    // Zhao moves out: gone from the list, the pass revoked, the record kept.
    let (status, _, _) = post(&b, &format!("{base}/residents/{}/move-out", id("Zhao Lei")), &[("csrf", &csrf)]);
    assert_eq!(status, 303);
    let (_, list) = get(&b, &format!("{base}/residents"));
    assert!(!list.contains("Zhao Lei") && list.contains("Qian Min"));
    assert!(revoked_in_bundle(&server).contains(&zhao));
    assert_eq!(server.count("SELECT COUNT(*) FROM residents WHERE name = 'Zhao Lei' AND moved_out_ms IS NOT NULL"), 1);
    // No new pass for someone who moved out, and no second move-out.
    let (status, _, _) = post(
        &b,
        &format!("{base}/passes"),
        &[("resident_id", &id("Zhao Lei").to_string()), ("role", "resident"), ("days", "365"), ("csrf", &csrf)],
    );
    assert_eq!(status, 404);
    assert_eq!(post(&b, &format!("{base}/residents/{}/move-out", id("Zhao Lei")), &[("csrf", &csrf)]).0, 404);
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE action IN ('resident.edit', 'resident.move_out')"), 2);
}

#[test]
fn the_head_of_a_household_asks_for_a_members_pass_and_the_committee_approves() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    for name in ["Sun Hua", "Sun Li", "Sun Yu"] {
        post(&b, &format!("{base}/residents"), &[("name", name), ("unit", "7-1201"), ("phone", ""), ("csrf", &csrf)]);
    }
    let id = |name: &str| server.count(&format!("SELECT id FROM residents WHERE name = '{name}'"));
    // Sun Hua becomes the head and gets a pass; its phone link shows the household.
    let (status, _, _) = post(
        &b,
        &format!("{base}/residents/{}", id("Sun Hua")),
        &[("name", "Sun Hua"), ("unit", "7-1201"), ("phone", ""), ("head", "on"), ("csrf", &csrf)],
    );
    assert_eq!(status, 303);
    post(
        &b,
        &format!("{base}/passes"),
        &[("resident_id", &id("Sun Hua").to_string()), ("role", "resident"), ("days", "365"), ("csrf", &csrf)],
    );
    let link =
        server.db.call_blocking(|c| c.query_row("SELECT link_token FROM passes", &[], |r| r.get::<String>(0))).unwrap();
    let phone = browser();
    let (_, page) = get(&phone, &format!("{base}/p/{link}"));
    assert!(page.contains("Household") && page.contains("Sun Li") && page.contains("Sun Yu"), "{page}");
    let (status, _, _) = post(&phone, &format!("{base}/p/{link}/request/{}", id("Sun Li")), &[]);
    assert_eq!(status, 303);
    post(&phone, &format!("{base}/p/{link}/request/{}", id("Sun Li")), &[]);
    assert_eq!(server.count("SELECT COUNT(*) FROM pass_requests"), 1, "one open request per member");
    // A member of another household cannot be asked for.
    post(
        &b,
        &format!("{base}/residents"),
        &[("name", "Neighbour"), ("unit", "7-1202"), ("phone", ""), ("csrf", &csrf)],
    );
    assert_eq!(post(&phone, &format!("{base}/p/{link}/request/{}", id("Neighbour")), &[]).0, 404);

    // The committee sees it on the Passes page and approves: Sun Li has a year's pass.
    let (_, passes) = get(&b, &format!("{base}/passes"));
    assert!(passes.contains("<table id=\"requests\">") && passes.contains("Sun Li"));
    let request = server.count("SELECT id FROM pass_requests");
    assert_eq!(post(&b, &format!("{base}/requests/{request}/approve"), &[("csrf", &csrf)]).0, 303);
    assert_eq!(
        server
            .count(&format!("SELECT COUNT(*) FROM passes WHERE resident_id = {} AND revoked_ms IS NULL", id("Sun Li"))),
        1
    );
    let (_, page) = get(&phone, &format!("{base}/p/{link}"));
    assert!(page.contains("Has a pass"));
    assert_eq!(post(&b, &format!("{base}/requests/{request}/approve"), &[("csrf", &csrf)]).0, 404, "decided once");
    assert_eq!(server.count("SELECT COUNT(*) FROM audit WHERE action = 'request.approve'"), 1);
}

#[test]
fn a_buildings_cards_on_one_page_after_issuing_the_missing_passes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let (b, csrf) = login(&server);
    for (name, unit) in [("Wu A", "3-101"), ("Wu B", "3-102"), ("Wu C", "3-201"), ("Other", "4-101")] {
        post(&b, &format!("{base}/residents"), &[("name", name), ("unit", unit), ("phone", ""), ("csrf", &csrf)]);
    }
    let (_, page) = get(&b, &format!("{base}/print/3"));
    assert!(page.contains("3 residents of this building have no valid pass"), "{page}");
    assert_eq!(post(&b, &format!("{base}/print/3/issue"), &[("csrf", &csrf)]).0, 303);
    let (status, page) = get(&b, &format!("{base}/print/3"));
    assert_eq!(status, 200);
    assert_eq!(page.matches("<div class=\"pcard\">").count(), 3, "one card per resident of building 3");
    assert_eq!(page.matches("<svg").count(), 3);
    assert!(page.contains("Wu A") && page.contains("3-201") && !page.contains("Other"));
    assert!(!page.contains("have no valid pass"));
    assert_eq!(server.count("SELECT COUNT(*) FROM passes WHERE unit = '4-101'"), 0, "only building 3");
}

/// A workbook of the given parts, stored or deflated.
fn zipped(parts: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method).compression_level(Some(9));
    for (name, body) in parts {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

/// The review's file: cells A1 and XFD1048576, so a dense reader asks
/// for 2^34 cells.
fn far_cell_workbook() -> Vec<u8> {
    let sheet = br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>"#;
    zipped(
        &[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/worksheets/sheet1.xml", sheet),
        ],
        true,
    )
}

#[test]
fn a_small_spreadsheet_that_asks_for_half_a_terabyte_or_unpacks_to_gigabytes_is_refused_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (b, csrf) = login(&server);
    let far = far_cell_workbook();
    assert!(far.len() < 2048, "the review's file is {} bytes", far.len());
    let (status, page) = upload(&server, &b, &csrf, far, "far.xlsx", "dry-run");
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("More than 20000 rows"), "{page}");
    // A sheet whose one string unpacks to 256 MiB from well under a MiB.
    let huge = vec![b'a'; 256 << 20];
    let strings = [br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>"#.as_slice(), &huge, b"</t></si></sst>"].concat();
    let sheet = br#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>"#;
    let bomb = zipped(
        &[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/sharedStrings.xml", &strings),
            ("xl/worksheets/sheet1.xml", sheet),
        ],
        true,
    );
    drop((huge, strings));
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let (status, page) = upload(&server, &b, &csrf, bomb, "bomb.xlsx", "dry-run");
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("unpacks to more than 64 MB"), "{page}");
    // A cell longer than any name, unit or phone: refused, saying where.
    let long = format!("name,unit\n{},3-502\n", "王".repeat(600));
    let (status, page) = upload(&server, &b, &csrf, long.into_bytes(), "long.csv", "dry-run");
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Row 2, column 1"), "{page}");
    // The server is still up and the writer free.
    let (status, _) = get(&b, &format!("{}/residents", server.url()));
    assert_eq!(status, 200);
}
