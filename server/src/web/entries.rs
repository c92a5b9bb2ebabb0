//! The Entries page (the latest entries, live) and the CSV export.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::*;
use crate::reports::{self, EntryRow};

#[derive(serde::Deserialize)]
pub struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub async fn page(State(app): State<AppState>, m: Member, Query(range): Query<Range>) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let rows = match app.db.call(move |conn| reports::recent_entries(conn, &community, 200)).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let from = if range.from.is_empty() { today.clone() } else { range.from.clone() };
    let to = if range.to.is_empty() { today } else { range.to.clone() };
    let mut body = format!(
        "<form class=card method=get action=/export.csv><label>{f}<input type=date name=from value=\"{from}\"></label>\
<label>{u}<input type=date name=to value=\"{to}\"></label><button>{export}</button></form>\
<div class=scroll><table><tr><th>{time}</th><th>{gate}</th><th>{dir}</th><th>{dec}</th><th>{reason}</th><th>{unit}</th><th>{temp}</th><th>{note}</th></tr>",
        f = t(lang, "from"),
        u = t(lang, "until"),
        from = esc(&from),
        to = esc(&to),
        export = t(lang, "export"),
        time = t(lang, "time"),
        gate = t(lang, "gate"),
        dir = t(lang, "direction"),
        dec = t(lang, "decision"),
        reason = t(lang, "reason"),
        unit = t(lang, "unit"),
        temp = t(lang, "temperature"),
        note = t(lang, "note"),
    );
    for e in &rows {
        body.push_str(&row(lang, e, offset));
    }
    body.push_str("</table></div>");
    let mut html = layout(lang, t(lang, "entries"), Some(&m.session), &body).0;
    // Live view: reload every 10 s.
    html = html.replacen("<head>", "<head><meta http-equiv=refresh content=10>", 1);
    Html(html).into_response()
}

fn row(lang: Lang, e: &EntryRow, offset: i32) -> String {
    let word = |k: &str| if ["in", "out", "allow", "deny", "guard"].contains(&k) { t(lang, k).to_string() } else { esc(k) };
    let mut out = String::new();
    let _ = write!(
        out,
        "<tr data-seq=\"{seq}\"><td>{time}{mark}</td><td>{gate}</td><td>{dir}</td><td class=\"{cls}\">{dec}</td><td>{reason}</td><td>{unit}</td><td>{temp}</td><td>{note}</td></tr>",
        seq = e.seq,
        time = fmt_ms(e.shown_ms, offset),
        mark = if e.clock_synced { String::new() } else { format!(" <span title=\"{}\">*</span>", t(lang, "corrected")) },
        gate = esc(&e.gate),
        dir = word(&e.direction),
        cls = if e.decision == "allow" { "ok" } else { "bad" },
        dec = word(&e.decision),
        reason = esc(&e.reason),
        unit = esc(e.unit.as_deref().unwrap_or("")),
        temp = e.temp_centi.map_or(String::new(), |c| format!("{:.1} °C", c as f64 / 100.0)),
        note = esc(e.note.as_deref().unwrap_or("")),
    );
    out
}

pub async fn export(State(app): State<AppState>, m: Member, Query(range): Query<Range>) -> Response {
    let offset = app.config.utc_offset_min;
    let (Some(from), Some(to)) = (parse_day(&range.from, offset), parse_day(&range.to, offset)) else {
        return message(&m.session, "export", "dates must look like 2026-11-29", StatusCode::BAD_REQUEST);
    };
    let (from_ms, to_ms) = (from * 1000, (to + 86_400) * 1000);
    // A read connection of its own on its own thread: the export streams
    // from a snapshot while kiosks push, and never holds up the writer.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(8);
    let (db, community) = (app.db.clone(), m.community.clone());
    let slot = match db.reader().await {
        Ok(slot) => slot,
        Err(e) => return message(&m.session, "export", &e.to_string(), StatusCode::SERVICE_UNAVAILABLE),
    };
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let result = db.read_blocking(|conn| {
            reports::export_csv(conn, &community, from_ms, to_ms, offset, &mut |chunk| tx.blocking_send(Ok(chunk)).is_ok())
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"entries-{}-{}.csv\"", range.from, range.to)),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
