//! The overview of one community: entries today, open alerts, the last 24
//! hours. A district account is sent to the district's overview instead.

use std::fmt::Write;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::*;

pub async fn page(State(app): State<AppState>, session: Session) -> Response {
    let Some(community) = session.community.clone() else {
        return state_redirect("/district");
    };
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let d = match app.db.call(move |conn| crate::reports::dashboard(conn, &community, now_ms(), offset)).await {
        Ok(d) => d,
        Err(e) => return server_error(e),
    };
    let mut body = format!(
        "<div class=stat><b>{today}</b>{}</div><div class=stat><b class=\"{}\">{open}</b><a href=/alerts>{}</a></div><h2>{}</h2>",
        t(lang, "entries_today"),
        if d.open_alerts > 0 { "bad" } else { "ok" },
        t(lang, "open_alerts"),
        t(lang, "per_hour"),
        today = d.today,
        open = d.open_alerts,
    );
    body.push_str(&hour_chart(&d.hours, d.hour_start, offset));
    layout(lang, t(lang, "dashboard"), Some(&session), &body).into_response()
}

/// A bar chart of entries per hour as inline SVG (no scripts needed).
fn hour_chart(hours: &[i64; 24], start_ms: i64, offset: i32) -> String {
    let max = hours.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from("<svg viewBox=\"0 0 480 170\" role=img aria-label=\"entries per hour\" style=\"width:100%;max-width:720px;background:#fff\">");
    for (i, n) in hours.iter().enumerate() {
        let h = (*n as f64 / max as f64 * 130.0).round();
        let x = 4 + i * 20;
        let hour = &fmt_ms(start_ms + i as i64 * 3_600_000, offset)[11..13];
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"16\" height=\"{h}\" fill=\"#0b5d3b\"><title>{hour}:00 — {n}</title></rect>",
            y = 140.0 - h
        );
        if i % 3 == 0 {
            let _ = write!(svg, "<text x=\"{x}\" y=\"158\" font-size=\"10\">{hour}</text>");
        }
        if *n > 0 {
            let _ = write!(svg, "<text x=\"{x}\" y=\"{}\" font-size=\"9\">{n}</text>", 137.0 - h);
        }
    }
    svg.push_str("</svg>");
    svg
}
