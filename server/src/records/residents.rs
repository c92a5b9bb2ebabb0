//! Residents beyond adding one: editing, moving out (which revokes their
//! passes), households (a unit's members, one of them its head, who may ask
//! for passes for the others), a building's pass cards, and the bulk import
//! from a spreadsheet or CSV with a dry run that names every bad row.

use std::collections::HashSet;
use std::io::Cursor;

use thiserror::Error;

use shoumen_protocol::Role;

use crate::db::{Community, Conn, DbError};
use crate::records::community::{self, check_unit, CommunityError, IssuedPass, PassRequest, PassRow};
use crate::vals;

/// One resident, as the edit form shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct Resident {
    pub id: i64,
    pub name: String,
    pub unit: String,
    pub phone: String,
    /// The head of the household, who may ask for passes for its members.
    pub head: bool,
    pub moved_out: bool,
}

pub fn resident(conn: &mut dyn Conn, community: &str, id: i64) -> Result<Option<Resident>, DbError> {
    conn.query_opt(
        "SELECT id, name, unit, phone, head, moved_out_ms IS NOT NULL FROM residents WHERE id = ?1 AND community = ?2",
        vals![id, community],
        |r| {
            Ok(Resident {
                id: r.get(0)?,
                name: r.get(1)?,
                unit: r.get(2)?,
                phone: r.get(3)?,
                head: r.get(4)?,
                moved_out: r.get(5)?,
            })
        },
    )
}

/// Checks a resident's fields as the form and the import both need them.
pub fn check(name: &str, unit: &str, phone: &str) -> Result<(String, String, String), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(crate::leaves::detail::enc("err_no_name", &[]));
    }
    if name.chars().count() > 64 {
        return Err(crate::leaves::detail::enc("err_name_length", &[]));
    }
    if name.chars().any(|c| c.is_control() || crate::leaves::text::is_bidi_control(c)) {
        return Err(crate::leaves::detail::enc("err_name_control", &[]));
    }
    let unit = check_unit(unit.trim()).map_err(|e| e.to_string())?;
    if unit.is_empty() {
        return Err(crate::leaves::detail::enc("err_no_unit", &[]));
    }
    let phone = phone.trim();
    if phone.chars().count() > 32 || !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')) {
        return Err(crate::leaves::detail::enc("err_phone", &[&phone]));
    }
    Ok((name.to_string(), unit, phone.to_string()))
}

/// Revokes every live pass of resident `id`; returns how many.
fn revoke_passes_of(conn: &mut dyn Conn, community: &str, id: i64, now_ms: i64) -> Result<u64, DbError> {
    conn.execute(
        "UPDATE passes SET revoked_ms = ?1 WHERE resident_id = ?2 AND community = ?3 AND revoked_ms IS NULL",
        vals![now_ms, id, community],
    )
}

/// A resident's fields as the committee edits them.
#[derive(Clone, Copy, Debug)]
pub struct Edit<'a> {
    pub name: &'a str,
    pub unit: &'a str,
    pub phone: &'a str,
    /// The head of the household (the unit).
    pub head: bool,
}

/// Changes a resident. A pass names its unit (signed), so a move to another
/// unit revokes the resident's passes; returns how many were revoked.
pub fn update(conn: &mut dyn Conn, community: &str, id: i64, edit: &Edit, now_ms: i64) -> Result<u64, CommunityError> {
    let head = edit.head;
    let (name, unit, phone) = check(edit.name, edit.unit, edit.phone).map_err(CommunityError::Invalid)?;
    conn.transaction(true, |tx| {
        let old = resident(tx, community, id)?.filter(|r| !r.moved_out).ok_or(CommunityError::NotFound("resident"))?;
        tx.execute(
            "UPDATE residents SET name = ?1, unit = ?2, phone = ?3, head = ?4 WHERE id = ?5 AND community = ?6",
            vals![&name, &unit, &phone, head, id, community],
        )?;
        if head {
            // One head per household.
            tx.execute(
                "UPDATE residents SET head = 0 WHERE community = ?1 AND unit = ?2 AND id <> ?3",
                vals![community, &unit, id],
            )?;
        }
        Ok(if old.unit != unit { revoke_passes_of(tx, community, id, now_ms)? } else { 0 })
    })
}

/// Moves a resident out: kept for the records, no longer listed, every
/// pass revoked. Returns how many passes were revoked.
pub fn move_out(conn: &mut dyn Conn, community: &str, id: i64, now_ms: i64) -> Result<u64, CommunityError> {
    conn.transaction(true, |tx| {
        let moved = tx.execute(
            "UPDATE residents SET moved_out_ms = ?1, head = 0 WHERE id = ?2 AND community = ?3 AND moved_out_ms IS NULL",
            vals![now_ms, id, community],
        )?;
        if moved == 0 {
            return Err(CommunityError::NotFound("resident"));
        }
        tx.execute("UPDATE pass_requests SET decided_ms = ?1, decided_by = 'moved out' WHERE resident_id = ?2 AND decided_ms IS NULL", vals![now_ms, id])?;
        Ok(revoke_passes_of(tx, community, id, now_ms)?)
    })
}

// ---- households and the head's requests ----

/// A member of the household a phone pass belongs to.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: i64,
    pub name: String,
    pub live_passes: i64,
    pub requested: bool,
}

/// Whom to call about `unit`: its head of household (else its first
/// resident with a phone) as "name phone"; empty if nobody is listed.
pub fn unit_contact(conn: &mut dyn Conn, community: &str, unit: &str) -> Result<String, DbError> {
    let found = conn.query_opt(
        "SELECT name, phone FROM residents WHERE community = ?1 AND unit = ?2 AND moved_out_ms IS NULL
         ORDER BY head DESC, CASE WHEN phone = '' THEN 1 ELSE 0 END, id LIMIT 1",
        vals![community, unit],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?;
    Ok(found.map_or_else(String::new, |(name, phone)| format!("{name} {phone}").trim().to_string()))
}

/// The household of the pass behind `link_token`, if its holder is the
/// head: (community, unit, the other members).
pub fn household_of_head(
    conn: &mut dyn Conn,
    link_token: &str,
    now_s: i64,
) -> Result<Option<(String, String, Vec<Member>)>, DbError> {
    let head = conn.query_opt(
        "SELECT r.community, r.unit, r.id FROM passes p JOIN residents r ON r.id = p.resident_id
         WHERE p.link_token = ?1 AND p.revoked_ms IS NULL AND p.expires_at > ?2 AND r.head = 1 AND r.moved_out_ms IS NULL",
        vals![link_token, now_s],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?)),
    )?;
    let Some((community, unit, head_id)) = head else { return Ok(None) };
    let members = conn.query_map(
        "SELECT r.id, r.name,
                (SELECT COUNT(*) FROM passes p WHERE p.resident_id = r.id AND p.revoked_ms IS NULL AND p.expires_at > ?4),
                EXISTS (SELECT 1 FROM pass_requests q WHERE q.resident_id = r.id AND q.decided_ms IS NULL)
         FROM residents r WHERE r.community = ?1 AND r.unit = ?2 AND r.id <> ?3 AND r.moved_out_ms IS NULL ORDER BY r.name",
        vals![&community, &unit, head_id, now_s],
        |r| Ok(Member { id: r.get(0)?, name: r.get(1)?, live_passes: r.get(2)?, requested: r.get(3)? }),
    )?;
    Ok(Some((community, unit, members)))
}

/// The head behind `link_token` asks for a pass for member `resident_id`.
/// One open request per member, so a head cannot flood the committee.
pub fn request_pass(
    conn: &mut dyn Conn,
    link_token: &str,
    resident_id: i64,
    now_ms: i64,
) -> Result<(), CommunityError> {
    let Some((community, _, members)) = household_of_head(conn, link_token, now_ms / 1000)? else {
        return Err(CommunityError::NotFound("household"));
    };
    let member = members.iter().find(|m| m.id == resident_id).ok_or(CommunityError::NotFound("resident"))?;
    if member.requested {
        return Ok(());
    }
    let by: String =
        conn.query_row("SELECT pass_id FROM passes WHERE link_token = ?1", vals![link_token], |r| r.get(0))?;
    conn.execute(
        "INSERT INTO pass_requests (community, resident_id, by_pass, created_ms) VALUES (?1, ?2, ?3, ?4)",
        vals![&community, resident_id, by, now_ms],
    )?;
    Ok(())
}

/// An open request on the Passes page.
#[derive(Clone, Debug)]
pub struct Request {
    pub id: i64,
    pub resident_id: i64,
    pub name: String,
    pub unit: String,
    pub created_ms: i64,
}

pub fn open_requests(conn: &mut dyn Conn, community: &str) -> Result<Vec<Request>, DbError> {
    conn.query_map(
        "SELECT q.id, r.id, r.name, r.unit, q.created_ms FROM pass_requests q JOIN residents r ON r.id = q.resident_id
         WHERE q.community = ?1 AND q.decided_ms IS NULL ORDER BY q.created_ms",
        vals![community],
        |r| {
            Ok(Request {
                id: r.get(0)?,
                resident_id: r.get(1)?,
                name: r.get(2)?,
                unit: r.get(3)?,
                created_ms: r.get(4)?,
            })
        },
    )
}

/// Closes request `id` of `community` (approved or declined by `by`);
/// returns its resident, or `None` if there is no such open request.
pub fn close_request(
    conn: &mut dyn Conn,
    community: &str,
    id: i64,
    by: &str,
    pass_id: Option<&str>,
    now_ms: i64,
) -> Result<Option<i64>, DbError> {
    let resident = conn.query_opt(
        "SELECT resident_id FROM pass_requests WHERE id = ?1 AND community = ?2 AND decided_ms IS NULL",
        vals![id, community],
        |r| r.get::<i64>(0),
    )?;
    if resident.is_some() {
        conn.execute(
            "UPDATE pass_requests SET decided_ms = ?1, decided_by = ?2, pass_id = ?3 WHERE id = ?4",
            vals![now_ms, by, pass_id, id],
        )?;
    }
    Ok(resident)
}

/// Notes the pass an approved request `id` of `community` was given.
pub fn set_request_pass(conn: &mut dyn Conn, community: &str, id: i64, pass_id: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE pass_requests SET pass_id = ?1 WHERE id = ?2 AND community = ?3",
        vals![pass_id, id, community],
    )?;
    Ok(())
}

/// A year's resident pass for resident `id` (of `unit`).
pub fn issue_year_pass(
    conn: &mut dyn Conn,
    community: &Community,
    id: i64,
    unit: &str,
    now_ms: i64,
) -> Result<IssuedPass, CommunityError> {
    let req = PassRequest {
        role: Role::Resident,
        unit: unit.to_string(),
        resident_id: Some(id),
        valid_from: now_ms / 1000 - 60,
        valid_s: 365 * 86_400,
        flags: 0,
        visitor_name: None,
        gate: None,
    };
    community::issue_pass(conn, community, &req)
}

// ---- a building's cards ----

/// The building of a unit: what comes before its first '-' ("3" of "3-502").
pub fn building_of(unit: &str) -> &str {
    unit.split_once('-').map_or(unit, |(b, _)| b)
}

/// The buildings of `community` with how many residents each.
pub fn buildings(conn: &mut dyn Conn, community: &str) -> Result<Vec<(String, i64)>, DbError> {
    let units = conn.query_map(
        "SELECT unit FROM residents WHERE community = ?1 AND moved_out_ms IS NULL",
        vals![community],
        |r| r.get::<String>(0),
    )?;
    let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
    for u in &units {
        *counts.entry(building_of(u).to_string()).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}

/// The live resident passes of building `building`, by unit, for printing.
pub fn building_passes(
    conn: &mut dyn Conn,
    community: &str,
    building: &str,
    now_s: i64,
) -> Result<Vec<PassRow>, DbError> {
    let all = community::resident_passes(conn, community, now_s)?;
    Ok(all.into_iter().filter(|p| building_of(&p.unit) == building).collect())
}

/// The residents of `building` without a live pass: (id, unit).
pub fn without_pass(
    conn: &mut dyn Conn,
    community: &str,
    building: &str,
    now_s: i64,
) -> Result<Vec<(i64, String)>, DbError> {
    let rows = conn.query_map(
        "SELECT r.id, r.unit FROM residents r WHERE r.community = ?1 AND r.moved_out_ms IS NULL
           AND NOT EXISTS (SELECT 1 FROM passes p WHERE p.resident_id = r.id AND p.revoked_ms IS NULL AND p.expires_at > ?2)
         ORDER BY r.unit, r.name",
        vals![community, now_s],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
    )?;
    Ok(rows.into_iter().filter(|(_, u)| building_of(u) == building).collect())
}

// ---- the bulk import ----

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("the file is larger than {0} MB; split it by building")]
    TooLarge(usize),
    #[error("the spreadsheet cannot be read: {0}; save it as .xlsx or .csv (UTF-8) and try again")]
    Unreadable(String),
    #[error(
        "the first row must name the columns: name (姓名) and unit (房号), optionally phone (电话) and head (户主)"
    )]
    NoHeader,
    #[error("more than {0} rows; split the file by building")]
    TooManyRows(usize),
    #[error(
        "the spreadsheet unpacks to more than {0} MB; save only the residents' sheet as .xlsx or .csv and try again"
    )]
    Unpacked(usize),
    #[error("row {0}, column {1} holds more than {2} characters; a resident's name, unit or phone is short")]
    CellTooLong(u32, u32, usize),
}

impl ImportError {
    /// The page's message: a detail key and its arguments (`leaves::detail`).
    pub fn message(&self) -> String {
        use crate::leaves::detail::enc;
        match self {
            ImportError::TooLarge(mb) => enc("err_import_large", &[mb]),
            ImportError::Unreadable(why) => enc("err_import_unreadable", &[why]),
            ImportError::NoHeader => enc("err_import_header", &[]),
            ImportError::TooManyRows(n) => enc("err_import_rows", &[n]),
            ImportError::Unpacked(mb) => enc("err_import_unpacked", &[mb]),
            ImportError::CellTooLong(row, col, n) => enc("err_import_cell", &[row, col, n]),
        }
    }
}

pub const MAX_IMPORT_BYTES: usize = 5 << 20;
pub const MAX_IMPORT_ROWS: usize = 20_000;
/// Columns read; cells further right are ignored (a roster has a few).
pub const MAX_IMPORT_COLUMNS: u32 = 64;
/// Characters in one cell.
pub const MAX_CELL_CHARS: usize = 500;
/// What an XLSX file may unpack to, all parts together (a sheet of 20,000
/// residents is a few MB of XML).
pub const MAX_UNPACKED_BYTES: u64 = 64 << 20;
/// Parts in an XLSX file (a workbook has a dozen).
const MAX_ZIP_ENTRIES: usize = 1_000;

/// The cells of a CSV or XLSX file (the first sheet), as text. Bounded
/// before anything is allocated: the file's size, what its parts unpack
/// to (counted while unpacking, not taken from the zip's word), the rows
/// and columns read, and each cell's length. CPU work: call it off the
/// async workers and outside any database call.
pub fn read_table(bytes: &[u8]) -> Result<Vec<Vec<String>>, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge(MAX_IMPORT_BYTES >> 20));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes);
    }
    // Spreadsheets save CSV with a byte-order mark; it is not part of the header.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ImportError::Unreadable(e.to_string()))?;
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(ImportError::TooManyRows(MAX_IMPORT_ROWS));
        }
        let mut row = Vec::new();
        for (col, cell) in record.iter().take(MAX_IMPORT_COLUMNS as usize).enumerate() {
            if cell.chars().count() > MAX_CELL_CHARS {
                return Err(ImportError::CellTooLong(line as u32 + 1, col as u32 + 1, MAX_CELL_CHARS));
            }
            row.push(cell.to_string());
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Unpacks every part of a zip into nothing, counting, so a part that
/// unpacks to more than the limit (whatever the zip's directory claims)
/// stops the import before calamine reads it into memory.
fn check_unpacked(bytes: &[u8]) -> Result<(), ImportError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ImportError::Unreadable(e.to_string()))?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(ImportError::Unreadable(format!("{} parts in one workbook", zip.len())));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| ImportError::Unreadable(e.to_string()))?;
        if part.size() > MAX_UNPACKED_BYTES - total {
            return Err(ImportError::Unpacked((MAX_UNPACKED_BYTES >> 20) as usize));
        }
        let mut limited = std::io::Read::take(part, MAX_UNPACKED_BYTES - total + 1);
        let n =
            std::io::copy(&mut limited, &mut std::io::sink()).map_err(|e| ImportError::Unreadable(e.to_string()))?;
        total += n;
        if total > MAX_UNPACKED_BYTES {
            return Err(ImportError::Unpacked((MAX_UNPACKED_BYTES >> 20) as usize));
        }
    }
    Ok(())
}

/// The first sheet, cell by cell as calamine streams it (never the dense
/// range a far cell like XFD1048576 would ask for).
fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, ImportError> {
    use calamine::Reader;
    check_unpacked(bytes)?;
    let unreadable = |e: calamine::XlsxError| ImportError::Unreadable(e.to_string());
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let first = book.sheet_names().first().cloned().ok_or(ImportError::NoHeader)?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(unreadable)?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        if row as usize > MAX_IMPORT_ROWS {
            return Err(ImportError::TooManyRows(MAX_IMPORT_ROWS));
        }
        if col >= MAX_IMPORT_COLUMNS {
            continue;
        }
        let text = cell_text(cell.get_value());
        if text.chars().count() > MAX_CELL_CHARS {
            return Err(ImportError::CellTooLong(row + 1, col + 1, MAX_CELL_CHARS));
        }
        if rows.len() <= row as usize {
            rows.resize(row as usize + 1, Vec::new());
        }
        let r = &mut rows[row as usize];
        if r.len() <= col as usize {
            r.resize(col as usize + 1, String::new());
        }
        r[col as usize] = text;
    }
    Ok(rows)
}

/// A cell as text: whole numbers (phone numbers typed as numbers) without
/// a decimal point.
fn cell_text(cell: &calamine::DataRef<'_>) -> String {
    match calamine::Data::from(cell.clone()) {
        calamine::Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        other => other.to_string(),
    }
}

/// A row that will become a resident.
#[derive(Clone, Debug, PartialEq)]
pub struct NewResident {
    /// The row's line in the file (the header is line 1).
    pub line: usize,
    pub name: String,
    pub unit: String,
    pub phone: String,
    pub head: bool,
}

/// What an import would do: the rows it would add and every other row's
/// problem.
#[derive(Debug, Default)]
pub struct Plan {
    pub good: Vec<NewResident>,
    pub problems: Vec<(usize, String)>,
    /// Units written another way in the file and how they will be stored
    /// (3号楼2单元502室 → 3-2-502): (line, as typed, as stored).
    pub rewritten: Vec<(usize, String, String)>,
}

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

/// Checks every row against the rules and against the residents already
/// stored; writes nothing.
pub fn plan(conn: &mut dyn Conn, community: &str, rows: &[Vec<String>]) -> Result<Result<Plan, ImportError>, DbError> {
    let Some((header, body)) = rows.split_first() else { return Ok(Err(ImportError::NoHeader)) };
    if body.len() > MAX_IMPORT_ROWS {
        return Ok(Err(ImportError::TooManyRows(MAX_IMPORT_ROWS)));
    }
    let (Some(name_col), Some(unit_col)) =
        (column(header, &["name", "姓名"]), column(header, &["unit", "房号", "房间号"]))
    else {
        return Ok(Err(ImportError::NoHeader));
    };
    let phone_col = column(header, &["phone", "电话", "手机", "手机号"]);
    let head_col = column(header, &["head", "户主"]);
    let existing: HashSet<(String, String)> = conn
        .query_map(
            "SELECT name, unit FROM residents WHERE community = ?1 AND moved_out_ms IS NULL",
            vals![community],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    let mut plan = Plan::default();
    for (i, row) in body.iter().enumerate() {
        let line = i + 2;
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).map_or("", |s| s.as_str());
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let (name, unit, phone) = match check(cell(Some(name_col)), cell(Some(unit_col)), cell(phone_col)) {
            Ok(v) => v,
            Err(why) => {
                plan.problems.push((line, why));
                continue;
            }
        };
        let head = matches!(cell(head_col).trim().to_lowercase().as_str(), "1" | "y" | "yes" | "true" | "是" | "户主");
        let key = (name.clone(), unit.clone());
        if existing.contains(&key) {
            plan.problems.push((line, crate::leaves::detail::enc("err_already_resident", &[&name, &unit])));
        } else if !seen.insert(key) {
            plan.problems.push((line, crate::leaves::detail::enc("err_twice_in_file", &[&name, &unit])));
        } else {
            let typed = cell(Some(unit_col)).trim();
            if typed != unit {
                plan.rewritten.push((line, typed.to_string(), unit.clone()));
            }
            plan.good.push(NewResident { line, name, unit, phone, head });
        }
    }
    Ok(Ok(plan))
}

/// Adds the plan's good rows in one transaction: all or nothing.
pub fn apply(conn: &mut dyn Conn, community: &str, plan: &Plan, now_ms: i64) -> Result<usize, DbError> {
    conn.transaction(true, |tx| {
        for r in &plan.good {
            tx.execute(
                "INSERT INTO residents (name, unit, phone, created_ms, community, head) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vals![&r.name, &r.unit, &r.phone, now_ms, community, r.head],
            )?;
        }
        Ok(plan.good.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_with_a_byte_order_mark_and_quotes() {
        let rows = read_table("\u{feff}姓名,房号,电话\n\"Li, Wei\",3-502,13800138000\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![vec!["姓名", "房号", "电话"], vec!["Li, Wei", "3-502", "13800138000"]]);
    }

    #[test]
    fn checks_say_what_is_wrong() {
        let said = |e: String| crate::leaves::words::detail_text(crate::leaves::words::Lang::En, &e, 0);
        assert_eq!(said(check("", "3-502", "").unwrap_err()), "No name.");
        assert!(said(check("Li", "", "").unwrap_err()).starts_with("A unit is needed"));
        assert!(said(check("Li", "3-502", "call me").unwrap_err()).ends_with("is not a phone number."));
        assert_eq!(check("Li", "3号楼2单元502室", "").unwrap().1, "3-2-502", "a unit in its one form");
        assert_eq!(check(" Li ", "3-502", "+86 138").unwrap(), ("Li".into(), "3-502".into(), "+86 138".into()));
        assert_eq!(building_of("12-1201"), "12");
        assert_eq!(building_of("A"), "A");
    }
}
