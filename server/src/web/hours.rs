//! Volunteers' hours (issue 32): a month's shifts per volunteer with what
//! each counts for, as CSV and XLSX for the volunteer platform's bulk
//! upload, and a printable certificate of thanks.
//!
//! The export's columns are those volunteer platforms' hour-import sheets
//! ask for (志愿汇, 中国志愿服务网): 姓名, 手机号, 服务日期, 开始时间,
//! 结束时间, 服务时长（小时）, 服务岗位, 备注, one row per shift served,
//! with Chinese headings whatever the page's language, since the
//! platform reads them. A platform that matches people by ID number needs
//! that column added by the committee: the roster keeps no ID numbers.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::{fmt_ms, frame, t, Lang, Member, WebError};
use crate::db::now_ms;
use crate::reports::roster::{hours, ShiftWorked};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .get("/roster/hours", Perm::ReadRecords, page)
        .get("/roster/hours.csv", Perm::EditRecords, csv)
        .get("/roster/hours.xlsx", Perm::EditRecords, xlsx)
        .get("/roster/volunteers/{id}/certificate", Perm::ReadRecords, certificate)
}

/// The export's headings, in order (see the module's comment for why).
pub const COLUMNS: [&str; 8] =
    ["姓名", "手机号", "服务日期", "开始时间", "结束时间", "服务时长（小时）", "服务岗位", "备注"];

#[derive(serde::Deserialize)]
pub struct Month {
    month: Option<String>,
}

/// The month `YYYY-MM` (or this one) as [start, end) in ms, local time,
/// and its name.
fn month_range(month: Option<&str>, now: i64, offset: i32) -> Option<(i64, i64, String)> {
    let name = match month {
        Some(m) => m.trim().to_string(),
        None => fmt_ms(now, offset)[..7].to_string(),
    };
    let start = super::parse_day(&format!("{name}-01"), offset)?;
    // The 1st of the next month: 32 days on, then back to its 1st.
    let next = fmt_ms((start + 32 * 86_400) * 1000, offset)[..7].to_string();
    let end = super::parse_day(&format!("{next}-01"), offset)?;
    Some((start * 1000, end * 1000, name))
}

async fn month_of(app: &AppState, m: &Member, month: Option<&str>) -> Result<(Vec<ShiftWorked>, String), WebError> {
    let offset = app.config.utc_offset_min;
    let Some((from, to, name)) = month_range(month, now_ms(), offset) else {
        return Err(WebError::invalid(&m.session, "volunteer_hours", t(m.session.lang, "err_month")));
    };
    let community = m.community.clone();
    let rows = app.db.call(move |conn| crate::reports::roster::worked(conn, &community, from, to, now_ms())).await?;
    Ok((rows, name))
}

/// A shift's flag in words: not signed out, no-show, or nothing.
fn flag(lang: Lang, w: &ShiftWorked) -> &'static str {
    if w.no_show {
        t(lang, "hours_no_show")
    } else if w.worked.not_signed_out {
        t(lang, "hours_not_signed_out")
    } else if w.worked.out_without_in {
        t(lang, "hours_out_without_in")
    } else {
        ""
    }
}

pub async fn page(State(app): State<AppState>, m: Member, Query(q): Query<Month>) -> Result<Markup, WebError> {
    let (rows, month) = month_of(&app, &m, q.month.as_deref()).await?;
    let (lang, offset) = (m.session.lang, app.config.utc_offset_min);
    let mut totals: Vec<(i64, &str, i64, usize)> = Vec::new();
    for r in &rows {
        match totals.iter_mut().find(|t| t.0 == r.volunteer_id) {
            Some(t) => (t.2, t.3) = (t.2 + r.worked.minutes(), t.3 + usize::from(r.worked.ms > 0)),
            None => totals.push((r.volunteer_id, &r.name, r.worked.minutes(), usize::from(r.worked.ms > 0))),
        }
    }
    let body = html! {
        form.card.noprint method="get" action="/roster/hours" {
            label { (t(lang, "month")) input type="month" name="month" value=(month); }
            button { (t(lang, "show")) }
        }
        @if m.session.may_post("/roster/volunteers") {
            p.noprint {
                a href={ "/roster/hours.csv?month=" (month) } { (t(lang, "export_csv")) } " · "
                a href={ "/roster/hours.xlsx?month=" (month) } { (t(lang, "export_xlsx")) }
            }
        }
        h2 { (t(lang, "hours_per_volunteer")) }
        div.scroll { table #hours-totals {
            tr { th { (t(lang, "name")) } th { (t(lang, "hours_shifts")) } th { (t(lang, "hours")) } th {} }
            @for (id, name, minutes, shifts) in &totals {
                tr {
                    td { (name) } td { (shifts) } td { (format!("{:.2}", *minutes as f64 / 60.0)) }
                    td { a href={ "/roster/volunteers/" (id) "/certificate?month=" (month) } { (t(lang, "certificate")) } }
                }
            }
        } }
        h2 { (t(lang, "hours_shifts")) }
        div.scroll { table #hours-shifts {
            tr {
                th { (t(lang, "name")) } th { (t(lang, "gate")) } th { (t(lang, "shift")) }
                th { (t(lang, "hours_signed_in")) } th { (t(lang, "hours")) } th {}
            }
            @for r in &rows {
                tr {
                    td { (r.name) } td { (r.gate) }
                    td { (fmt_ms(r.start_ms, offset)[..16].to_string()) "–" (fmt_ms(r.end_ms, offset)[11..16].to_string()) }
                    td { (r.worked.first_in_ms.map_or(String::from("—"), |at| fmt_ms(at, offset)[11..16].to_string())) }
                    td { (hours(&r.worked)) }
                    td { span.bad { (flag(lang, r)) } }
                }
            }
        } }
    };
    Ok(frame(lang, &format!("{} · {month}", t(lang, "volunteer_hours")), Some(&m.session), body))
}

/// The export's rows: one per shift that counts for something, its start
/// and end those of the service counted (the shift clipped to the
/// volunteer's sign-in and sign-out), so that they agree with its hours.
fn export_rows(rows: &[ShiftWorked], offset: i32) -> Vec<[String; 8]> {
    rows.iter()
        .filter_map(|r| r.worked.served.map(|served| (r, served)))
        .map(|(r, (from, to))| {
            let (start, end) = (fmt_ms(from, offset), fmt_ms(to, offset));
            let note = if r.worked.not_signed_out { "未签退，按排班结束时间计" } else { "" };
            [
                r.name.clone(),
                r.phone.clone(),
                start[..10].to_string(),
                start[11..16].to_string(),
                end[11..16].to_string(),
                hours(&r.worked),
                r.gate.clone(),
                note.to_string(),
            ]
        })
        .collect()
}

/// Records who exported the month's hours (names and phone numbers).
async fn audit_export(app: &AppState, m: &Member, month: &str) -> Result<(), WebError> {
    let (actor, detail) = (m.actor(), crate::leaves::detail::enc("hours_export_detail", &[&month]));
    app.db.call(move |conn| crate::records::audit::record(conn, &actor, "hours.export", &detail, now_ms())).await?;
    Ok(())
}

pub async fn csv(State(app): State<AppState>, m: Member, Query(q): Query<Month>) -> Result<Response, WebError> {
    let (rows, month) = month_of(&app, &m, q.month.as_deref()).await?;
    audit_export(&app, &m, &month).await?;
    let mut out = String::new();
    let mut sink = |chunk: String| {
        out.push_str(&chunk);
        true
    };
    let mut w = crate::leaves::csv::CsvChunks::new(&COLUMNS.join(","), &mut sink);
    for row in export_rows(&rows, app.config.utc_offset_min) {
        w.row(&row[..]);
    }
    w.finish();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"volunteer-hours-{month}.csv\"")),
        ],
        // A BOM, so that spreadsheet programs read the Chinese as UTF-8.
        format!("\u{feff}{out}"),
    )
        .into_response())
}

pub async fn xlsx(State(app): State<AppState>, m: Member, Query(q): Query<Month>) -> Result<Response, WebError> {
    let (rows, month) = month_of(&app, &m, q.month.as_deref()).await?;
    audit_export(&app, &m, &month).await?;
    let book = workbook(&export_rows(&rows, app.config.utc_offset_min)).map_err(WebError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"volunteer-hours-{month}.xlsx\"")),
        ],
        book,
    )
        .into_response())
}

/// The rows as an XLSX workbook, every cell text as the platform takes it.
fn workbook(rows: &[[String; 8]]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("志愿服务时长")?;
    for (c, name) in COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *name)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, cell)?;
        }
    }
    book.save_to_buffer()
}

// No quotes or angle brackets: maud leaves it as it is.
const CERT_CSS: &str =
    ".cert{background:#fff;border:6px double #b3261e;padding:2em;max-width:40em;margin:1em auto;text-align:center}\
.cert h2{font-size:2em;color:#b3261e}.cert .big{font-size:1.6em;font-weight:700}";

/// A printable certificate of thanks for one volunteer's hours in a month.
pub async fn certificate(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Query(q): Query<Month>,
) -> Result<Markup, WebError> {
    let (rows, month) = month_of(&app, &m, q.month.as_deref()).await?;
    let lang = m.session.lang;
    let theirs: Vec<&ShiftWorked> = rows.iter().filter(|r| r.volunteer_id == id && r.worked.ms > 0).collect();
    let community = m.community.clone();
    let (place, volunteer) = app
        .db
        .call(move |conn| {
            Ok((
                crate::records::community::place(conn, &community)?,
                crate::records::roster::get(conn, &community, id)?,
            ))
        })
        .await?;
    let Some(v) = volunteer else { return Err(WebError::not_found(&m.session)) };
    let minutes: i64 = theirs.iter().map(|r| r.worked.minutes()).sum();
    let body = html! {
        style { (CERT_CSS) }
        div.cert #certificate {
            h2 { (t(lang, "certificate_title")) }
            p.big { (v.name) }
            p { (t(lang, "certificate_text")) }
            p.big { (format!("{:.2}", minutes as f64 / 60.0)) " " (t(lang, "hours")) }
            p { (month) " · " (t(lang, "shifts_served")) " " (theirs.len()) }
            p { (place.name_or(&m.community)) }
            p { (fmt_ms(now_ms(), app.config.utc_offset_min)[..10].to_string()) }
        }
        p.noprint { (t(lang, "certificate_print")) }
    };
    Ok(frame(lang, t(lang, "certificate"), Some(&m.session), body))
}
