//! The Summary page: a day's figures as the committee sends them up every
//! morning (yesterday by default), and the same as CSV.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::reports::summary::{self, Daily};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/summary", "summary").get("/summary", Perm::ReadCompound, page).get(
        "/summary.csv",
        Perm::ReadCompound,
        csv,
    )
}

#[derive(serde::Deserialize)]
pub struct Day {
    #[serde(default)]
    day: String,
}

/// The day asked for, or yesterday: (its local midnight in ms, label).
fn day_of(q: &Day, offset: i32) -> Option<i64> {
    if q.day.is_empty() {
        return Some(crate::reports::day_start(now_ms(), offset) - 86_400_000);
    }
    parse_day(&q.day, offset).map(|s| s * 1000)
}

async fn load(app: &AppState, m: &Member, q: &Day) -> Result<Daily, Response> {
    let offset = app.config.utc_offset_min;
    let Some(from_ms) = day_of(q, offset) else {
        return Err(message(&m.session, "summary", "dates must look like 2026-11-29", StatusCode::BAD_REQUEST));
    };
    let community = m.community.clone();
    app.db.call(move |conn| summary::daily(conn, &community, from_ms, offset)).await.map_err(server_error)
}

pub async fn page(State(app): State<AppState>, m: Member, Query(q): Query<Day>) -> Response {
    let lang = m.session.lang;
    let d = match load(&app, &m, &q).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let mut body = format!(
        "<form class=\"card noprint\" method=get action=/summary><label>{day_l}<input type=date name=day value=\"{day}\"></label><button>{show}</button></form>\
<p class=noprint><a href=\"/summary.csv?day={day}\">CSV</a> · {sent}</p><table id=summary>",
        day_l = t(lang, "day"),
        day = esc(&d.day),
        show = t(lang, "show"),
        sent = t(lang, "summary_sent_at"),
    );
    for (key, value) in d.figures() {
        let _ = write!(body, "<tr><th>{}</th><td>{value}</td></tr>", t(lang, key));
    }
    body.push_str("</table>");
    let title = format!("{} {}", t(lang, "summary"), d.day);
    layout(lang, &title, Some(&m.session), &body).into_response()
}

pub async fn csv(State(app): State<AppState>, m: Member, Query(q): Query<Day>) -> Response {
    let d = match load(&app, &m, &q).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"summary-{}.csv\"", d.day)),
        ],
        summary::csv(&d, m.session.lang),
    )
        .into_response()
}
