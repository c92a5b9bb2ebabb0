//! The Summary page: a day's figures as the committee sends them up every
//! morning (yesterday by default), and the same as CSV.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::{frame, parse_day, t, Member, WebError};
use crate::db::now_ms;
use crate::reports::summary::{self, Daily};
use crate::AppState;

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

async fn load(app: &AppState, m: &Member, q: &Day) -> Result<Daily, WebError> {
    let offset = app.config.utc_offset_min;
    let Some(from_ms) = day_of(q, offset) else {
        return Err(WebError::invalid(&m.session, "summary", t(m.session.lang, "err_date")));
    };
    let community = m.community.clone();
    Ok(app.db.call(move |conn| summary::daily(conn, &community, from_ms, offset)).await?)
}

pub async fn page(State(app): State<AppState>, m: Member, Query(q): Query<Day>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let d = load(&app, &m, &q).await?;
    let body = html! {
        form.card.noprint method="get" action="/summary" {
            label { (t(lang, "day")) input type="date" name="day" value=(d.day); }
            button { (t(lang, "show")) }
        }
        p.noprint { a href={ "/summary.csv?day=" (d.day) } { "CSV" } " · " (t(lang, "summary_sent_at")) }
        table #summary {
            @for (key, value) in d.figures() { tr { th { (m.session.w(key)) } td { (value) } } }
        }
    };
    let title = format!("{} {}", t(lang, "summary"), d.day);
    Ok(frame(lang, &title, Some(&m.session), body))
}

pub async fn csv(State(app): State<AppState>, m: Member, Query(q): Query<Day>) -> Result<Response, WebError> {
    let d = load(&app, &m, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"summary-{}.csv\"", d.day)),
        ],
        summary::csv(&d, m.session.lang, &m.session.place),
    )
        .into_response())
}
