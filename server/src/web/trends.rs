//! The Trends page: the last 7 or 30 days as server-rendered SVG charts
//! (entries per day per gate, fevers per day, refusals by reason, peak
//! hours). No scripts: it prints and works on any browser.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::chart::stacked;
use super::*;
use crate::reports::{self, Trends};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/trends", "trends").get("/trends", Perm::ReadCompound, page)
}

#[derive(serde::Deserialize)]
pub struct Span {
    days: Option<usize>,
}

pub async fn page(State(app): State<AppState>, m: Member, Query(span): Query<Span>) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let days = if span.days == Some(30) { 30 } else { 7 };
    let community = m.community.clone();
    let found = match app.db.call(move |conn| reports::trends(conn, &community, days, now_ms(), offset)).await {
        Ok(t) => t,
        Err(e) => return server_error(e),
    };
    let day_labels: Vec<String> =
        (0..days).map(|d| fmt_ms(found.start_ms + d as i64 * 86_400_000, offset)[5..10].to_string()).collect();
    let mut body = format!(
        "<p class=noprint><a href=\"/trends?days=7\">{seven}</a> · <a href=\"/trends?days=30\">{thirty}</a></p>",
        seven = t(lang, "last_7_days"),
        thirty = t(lang, "last_30_days"),
    );
    let _ = write!(body, "<h2>{}</h2>", t(lang, "entries_per_day"));
    body.push_str(&stacked("per-day", &day_labels, &found.per_gate));
    let _ = write!(body, "<h2>{}</h2>", t(lang, "fevers_per_day"));
    body.push_str(&stacked("fevers", &day_labels, &[(t(lang, "fever").to_string(), found.fevers.clone())]));
    let _ = write!(body, "<h2>{}</h2>", t(lang, "refusals_by_reason"));
    body.push_str(&refusals(lang, &found));
    let _ = write!(body, "<h2>{}</h2>", t(lang, "peak_hours"));
    let hour_labels: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    body.push_str(&stacked("hours", &hour_labels, &[(t(lang, "entries").to_string(), found.hours.to_vec())]));
    let title = format!(
        "{} · {}",
        t(lang, "trends"),
        if days == 30 { t(lang, "last_30_days") } else { t(lang, "last_7_days") }
    );
    layout(lang, &title, Some(&m.session), &body).into_response()
}

/// Refusals by reason as horizontal bars, in words.
fn refusals(lang: Lang, found: &Trends) -> String {
    if found.refusals.is_empty() {
        return format!("<p>{}</p>", t(lang, "no_rows"));
    }
    let max = found.refusals.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let height = 24 * found.refusals.len() + 8;
    let mut svg = format!(
        "<svg id=refusals viewBox=\"0 0 720 {height}\" role=img style=\"width:100%;max-width:720px;background:#fff\">"
    );
    for (i, (reason, n)) in found.refusals.iter().enumerate() {
        let y = 6 + i * 24;
        let w = (*n as f64 / max as f64 * 380.0).max(1.0);
        let words = reason_html(lang, reason);
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{}\" font-size=\"12\">{words}</text><rect x=\"300\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#b3261e\"><title>{words}: {n}</title></rect><text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{n}</text>",
            y + 13,
            304.0 + w,
            y + 13,
        );
    }
    svg + "</svg>"
}
