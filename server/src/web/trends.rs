//! The Trends page: the last 7 or 30 days as server-rendered SVG charts
//! (entries per day per gate, fevers per day, refusals by reason, peak
//! hours). No scripts: it prints and works on any browser.

use axum::extract::{Query, State};
use maud::{html, Markup};

use super::chart::stacked;
use super::{fmt_ms, frame, reason_text, t, Lang, Member, WebError};
use crate::db::now_ms;
use crate::reports::{self, Trends};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/trends", "trends").get("/trends", Perm::ReadCompound, page)
}

#[derive(serde::Deserialize)]
pub struct Span {
    days: Option<usize>,
}

pub async fn page(State(app): State<AppState>, m: Member, Query(span): Query<Span>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let days = if span.days == Some(30) { 30 } else { 7 };
    let community = m.community.clone();
    let found = app.db.call(move |conn| reports::trends(conn, &community, days, now_ms(), offset)).await?;
    let day_labels: Vec<String> =
        (0..days).map(|d| fmt_ms(found.start_ms + d as i64 * 86_400_000, offset)[5..10].to_string()).collect();
    let hour_labels: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let body = html! {
        p.noprint {
            a href="/trends?days=7" { (t(lang, "last_7_days")) } " · " a href="/trends?days=30" { (t(lang, "last_30_days")) }
        }
        h2 { (t(lang, "entries_per_day")) }
        (stacked("per-day", &day_labels, &found.per_gate))
        h2 { (t(lang, "fevers_per_day")) }
        (stacked("fevers", &day_labels, &[(t(lang, "fever").to_string(), found.fevers.clone())]))
        h2 { (t(lang, "refusals_by_reason")) }
        (refusals(lang, &found))
        h2 { (t(lang, "peak_hours")) }
        (stacked("hours", &hour_labels, &[(t(lang, "entries").to_string(), found.hours.to_vec())]))
    };
    let span = if days == 30 { t(lang, "last_30_days") } else { t(lang, "last_7_days") };
    Ok(frame(lang, &format!("{} · {span}", t(lang, "trends")), Some(&m.session), body))
}

/// Refusals by reason as horizontal bars, in words.
fn refusals(lang: Lang, found: &Trends) -> Markup {
    let max = found.refusals.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    // Bars as HTML: the words wrap on a phone and stay readable.
    html! {
        @if found.refusals.is_empty() {
            p { (t(lang, "no_rows")) }
        } @else {
            div #refusals .hbars role="img" {
                @for (reason, n) in &found.refusals {
                    @let words = reason_text(lang, reason);
                    div.hbar title={ (words) ": " (n) } {
                        span { (words) }
                        i style={ "width:" (format!("{:.1}", *n as f64 / max as f64 * 40.0)) "%" } {}
                        span { (n) }
                    }
                }
            }
        }
    }
}
