//! The Entries page (the latest entries, live, or a search by date, gate,
//! unit, pass, decision, reason and kind) and the CSV export.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::*;
use crate::records::devices;
use crate::reports::{self, EntryFilter, EntryRow};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/entries", "entries").get("/entries", Perm::ReadEntries, page).get(
        "/export.csv",
        Perm::Export,
        export,
    )
}

#[derive(serde::Deserialize)]
pub struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Why the export is made (required of police accounts).
    #[serde(default)]
    reason: String,
}

/// The Entries page's search form, as it arrives in the query string.
#[derive(serde::Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    gate: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    pass: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    kind: String,
}

/// Rows one search shows at most.
const SHOWN: usize = 500;

impl Search {
    fn filter(&self, offset: i32) -> Result<EntryFilter, &'static str> {
        let day = |s: &str, next: bool| -> Result<Option<i64>, &'static str> {
            if s.is_empty() {
                return Ok(None);
            }
            let start = parse_day(s, offset).ok_or("dates must look like 2026-11-29")?;
            Ok(Some((start + if next { 86_400 } else { 0 }) * 1000))
        };
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().chars().take(64).collect::<String>());
        let pick = |s: &str, allowed: &[&str]| allowed.contains(&s).then(|| s.to_string());
        Ok(EntryFilter {
            from_ms: day(&self.from, false)?,
            to_ms: day(&self.to, true)?,
            gate: some(&self.gate),
            unit: some(&self.unit),
            pass: some(&self.pass),
            decision: pick(&self.decision, &["allow", "deny", "guard"]),
            reason: some(&self.reason),
            kind: pick(&self.kind, &KINDS),
            gate_names: None,
        })
    }

    fn is_empty(&self) -> bool {
        [&self.from, &self.to, &self.gate, &self.unit, &self.pass, &self.decision, &self.reason, &self.kind]
            .iter()
            .all(|s| s.is_empty())
    }
}

/// The gates a property account may read (`None`: every gate).
fn scope(m: &Member) -> Option<Vec<String>> {
    (m.session.role == AccountRole::Property).then(|| m.session.gates.clone().unwrap_or_default())
}

const KINDS: [&str; 4] = ["scan", "manual", "exit_button", "alarm"];

pub async fn page(State(app): State<AppState>, m: Member, Query(search): Query<Search>) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let mut filter = match search.filter(offset) {
        Ok(f) => f,
        Err(why) => return message(&m.session, "entries", why, StatusCode::BAD_REQUEST),
    };
    let scope = scope(&m);
    filter.gate_names = scope.clone();
    let community = m.community.clone();
    let found = app
        .db
        .call(move |conn| {
            Ok((reports::search_entries(conn, &community, &filter, SHOWN)?, devices::list(conn, &community)?))
        })
        .await;
    let (rows, mut gates) = match found {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    if let Some(names) = &scope {
        gates.retain(|g| names.contains(&g.name));
    }
    let mut body = search_form(lang, &search, &gates);
    if rows.len() == SHOWN {
        let _ = write!(body, "<p class=msg>{}</p>", t(lang, "newest_shown").replace("{}", &SHOWN.to_string()));
    }
    if m.may(crate::leaves::roles::Perm::Export) {
        body.push_str(&export_form(lang, &search, offset));
    }
    let _ = write!(
        body,
        "<div class=scroll><table><tr><th>{time}</th><th>{gate}</th><th>{dir}</th><th>{dec}</th><th>{reason}</th><th>{unit}</th><th>{temp}</th><th>{note}</th></tr>",
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
    // The live view (no search) reloads every 10 s.
    if search.is_empty() {
        html = html.replacen("<head>", "<head><meta http-equiv=refresh content=10>", 1);
    }
    Html(html).into_response()
}

fn search_form(lang: Lang, s: &Search, gates: &[devices::Gate]) -> String {
    let select = |name: &str, current: &str, options: &[(String, String)]| {
        let mut out =
            format!("<label>{}<select name={name}><option value=\"\">{}</option>", t(lang, name), t(lang, "any"));
        for (value, label) in options {
            let selected = if value == current { " selected" } else { "" };
            let _ = write!(out, "<option value=\"{}\"{selected}>{}</option>", esc(value), esc(label));
        }
        out + "</select></label>"
    };
    let gates: Vec<(String, String)> = gates.iter().map(|g| (g.id.clone(), g.name.clone())).collect();
    let decisions: Vec<(String, String)> =
        ["allow", "deny", "guard"].iter().map(|d| (d.to_string(), t(lang, d).to_string())).collect();
    let mut reasons: Vec<(String, String)> = Vec::new();
    for r in shoumen_protocol::Reason::ALL {
        let words = reason_html(lang, r.as_str());
        if !reasons.iter().any(|(_, w)| *w == words) {
            reasons.push((r.as_str().to_string(), words));
        }
    }
    let kinds: Vec<(String, String)> =
        KINDS.iter().map(|k| (k.to_string(), t(lang, &format!("kind_{k}")).to_string())).collect();
    let text = |name: &str, value: &str, kind: &str| {
        format!("<label>{}<input type={kind} name={name} value=\"{}\" maxlength=64></label>", t(lang, name), esc(value))
    };
    format!(
        "<form class=card method=get action=/entries>{from}{to}{gate}{unit}{pass}{decision}{reason}{kind}<button>{search}</button></form>",
        from = text("from", &s.from, "date"),
        to = text("until", &s.to, "date").replace("name=until", "name=to"),
        gate = select("gate", &s.gate, &gates),
        unit = text("unit", &s.unit, "text"),
        pass = text("pass", &s.pass, "text"),
        decision = select("decision", &s.decision, &decisions),
        reason = select("reason", &s.reason, &reasons),
        kind = select("kind", &s.kind, &kinds),
        search = t(lang, "search"),
    )
}

/// The export of a date range (today's by default, or the search's).
fn export_form(lang: Lang, s: &Search, offset: i32) -> String {
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let from = if s.from.is_empty() { today.clone() } else { s.from.clone() };
    let to = if s.to.is_empty() { today } else { s.to.clone() };
    format!(
        "<form class=\"card noprint\" method=get action=/export.csv><label>{f}<input type=date name=from value=\"{from}\"></label>\
<label>{u}<input type=date name=to value=\"{to}\"></label>\
<label>{why}<input name=reason maxlength=200></label><button>{export}</button></form>",
        why = t(lang, "export_reason"),
        f = t(lang, "from"),
        u = t(lang, "until"),
        from = esc(&from),
        to = esc(&to),
        export = t(lang, "export"),
    )
}

fn row(lang: Lang, e: &EntryRow, offset: i32) -> String {
    let word =
        |k: &str| if ["in", "out", "allow", "deny", "guard"].contains(&k) { t(lang, k).to_string() } else { esc(k) };
    let mut out = String::new();
    let _ = write!(
        out,
        "<tr data-seq=\"{seq}\"><td>{time}{mark}</td><td>{gate}</td><td>{dir}</td><td class=\"{cls}\">{dec}</td><td title=\"{code}\">{reason}</td><td>{unit}</td><td>{temp}</td><td>{note}</td></tr>",
        seq = e.seq,
        time = fmt_ms(e.shown_ms, offset),
        mark = if e.clock_synced { String::new() } else { format!(" <span title=\"{}\">*</span>", t(lang, "corrected")) },
        gate = esc(&e.gate),
        dir = word(&e.direction),
        cls = if e.decision == "allow" { "ok" } else { "bad" },
        dec = word(&e.decision),
        code = esc(&e.reason),
        reason = reason_html(lang, &e.reason),
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
    let reason = range.reason.trim().chars().take(200).collect::<String>();
    if reason.is_empty() && m.session.role == AccountRole::Police {
        return message(&m.session, "export", t(m.session.lang, "reason_needed"), StatusCode::BAD_REQUEST);
    }
    let scope = scope(&m);
    let detail = format!(
        "{} to {}{}; reason: {reason}",
        range.from,
        range.to,
        scope.as_ref().map_or(String::new(), |g| format!("; gates {}", g.join(",")))
    );
    record_action(&app, &m, "entries.export", detail).await;
    // A read connection of its own on its own thread: the export streams
    // from a snapshot while kiosks push, and never holds up the writer.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(8);
    let (db, community, lang) = (app.db.clone(), m.community.clone(), m.session.lang);
    let slot = match db.reader().await {
        Ok(slot) => slot,
        Err(e) => return message(&m.session, "export", &e.to_string(), StatusCode::SERVICE_UNAVAILABLE),
    };
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let result = db.read_blocking(|conn| {
            let words = |code: &str| i18n::reason_text(lang, code);
            reports::export_csv(conn, &community, from_ms..to_ms, offset, &words, scope.as_deref(), &mut |chunk| {
                tx.blocking_send(Ok(chunk)).is_ok()
            })
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
