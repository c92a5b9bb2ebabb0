//! The Entries page (the latest entries, live, or a search by date, gate,
//! unit, pass, decision, reason and kind) and the CSV export.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::{fmt_ms, frame, i18n, live_frame, parse_day, reason_text, record_action, t, Lang, Member, WebError};
use crate::db::now_ms;
use crate::leaves::roles::AccountRole;
use crate::records::devices;
use crate::reports::{self, EntryFilter, EntryRow};
use crate::AppState;

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
    /// An error is the word key of what is wrong.
    fn filter(&self, offset: i32) -> Result<EntryFilter, &'static str> {
        let day = |s: &str, next: bool| -> Result<Option<i64>, &'static str> {
            if s.is_empty() {
                return Ok(None);
            }
            let start = parse_day(s, offset).ok_or("err_date")?;
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

pub async fn page(State(app): State<AppState>, m: Member, Query(search): Query<Search>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let mut filter = search.filter(offset).map_err(|key| WebError::invalid(&m.session, "entries", t(lang, key)))?;
    let scope = scope(&m);
    filter.gate_names = scope.clone();
    let community = m.community.clone();
    let (rows, mut gates) = app
        .db
        .call(move |conn| {
            Ok((reports::search_entries(conn, &community, &filter, SHOWN)?, devices::list(conn, &community)?))
        })
        .await?;
    if let Some(names) = &scope {
        gates.retain(|g| names.contains(&g.name));
    }
    let heads = ["time", "gate", "direction", "decision", "reason", "unit", "temperature", "note"];
    let body = html! {
        (search_form(lang, &search, &gates))
        @if rows.len() == SHOWN { p.msg { (t(lang, "newest_shown").replace("{}", &SHOWN.to_string())) } }
        @if m.may(crate::leaves::roles::Perm::Export) { (export_form(lang, &search, offset)) }
        div.scroll {
            table {
                tr { @for h in heads { th { (t(lang, h)) } } }
                @for e in &rows { (row(lang, e, offset)) }
            }
        }
    };
    // The live view (no search) reloads every 10 s.
    Ok(match search.is_empty() {
        true => live_frame(lang, t(lang, "entries"), &m.session, 10, body),
        false => frame(lang, t(lang, "entries"), Some(&m.session), body),
    })
}

fn search_form(lang: Lang, s: &Search, gates: &[devices::Gate]) -> Markup {
    let select = |name: &str, label: &str, current: &str, options: &[(String, String)]| {
        html! {
            label {
                (t(lang, label))
                select name=(name) {
                    option value="" { (t(lang, "any")) }
                    @for (value, words) in options { option value=(value) selected[value == current] { (words) } }
                }
            }
        }
    };
    let text = |name: &str, label: &str, value: &str, kind: &str| {
        html! { label { (t(lang, label)) input type=(kind) name=(name) value=(value) maxlength="64"; } }
    };
    let gates: Vec<(String, String)> = gates.iter().map(|g| (g.id.clone(), g.name.clone())).collect();
    let decisions: Vec<(String, String)> =
        ["allow", "deny", "guard"].iter().map(|d| (d.to_string(), t(lang, d).to_string())).collect();
    let mut reasons: Vec<(String, String)> = Vec::new();
    for r in shoumen_protocol::Reason::ALL {
        let words = reason_text(lang, r.as_str());
        if !reasons.iter().any(|(_, w)| *w == words) {
            reasons.push((r.as_str().to_string(), words));
        }
    }
    let kinds: Vec<(String, String)> =
        KINDS.iter().map(|k| (k.to_string(), t(lang, &format!("kind_{k}")).to_string())).collect();
    html! {
        form.card method="get" action="/entries" {
            (text("from", "from", &s.from, "date"))
            (text("to", "until", &s.to, "date"))
            (select("gate", "gate", &s.gate, &gates))
            (text("unit", "unit", &s.unit, "text"))
            (text("pass", "pass", &s.pass, "text"))
            (select("decision", "decision", &s.decision, &decisions))
            (select("reason", "reason", &s.reason, &reasons))
            (select("kind", "kind", &s.kind, &kinds))
            button { (t(lang, "search")) }
        }
    }
}

/// The export of a date range (today's by default, or the search's).
fn export_form(lang: Lang, s: &Search, offset: i32) -> Markup {
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let from = if s.from.is_empty() { today.clone() } else { s.from.clone() };
    let to = if s.to.is_empty() { today } else { s.to.clone() };
    html! {
        form.card.noprint method="get" action="/export.csv" {
            label { (t(lang, "from")) input type="date" name="from" value=(from); }
            label { (t(lang, "until")) input type="date" name="to" value=(to); }
            label { (t(lang, "export_reason")) input name="reason" maxlength="200"; }
            button { (t(lang, "export")) }
        }
    }
}

fn row(lang: Lang, e: &EntryRow, offset: i32) -> Markup {
    let word = |k: &str| {
        if ["in", "out", "allow", "deny", "guard"].contains(&k) {
            t(lang, k).to_string()
        } else {
            k.to_string()
        }
    };
    html! {
        tr data-seq=(e.seq) {
            td {
                (fmt_ms(e.shown_ms, offset))
                @if !e.clock_synced { " " span title=(t(lang, "corrected")) { "*" } }
            }
            td { (e.gate) }
            td { (word(&e.direction)) }
            td class=(if e.decision == "allow" { "ok" } else { "bad" }) { (word(&e.decision)) }
            td title=(e.reason) { (reason_text(lang, &e.reason)) }
            td {
                (e.unit.as_deref().unwrap_or(""))
                @if let Some(v) = &e.volunteer { span.volunteer { (t(lang, "duty")) ": " (v) } }
            }
            td { (e.temp_centi.map_or(String::new(), |c| format!("{:.1} °C", c as f64 / 100.0))) }
            td { (e.note.as_deref().unwrap_or("")) }
        }
    }
}

pub async fn export(State(app): State<AppState>, m: Member, Query(range): Query<Range>) -> Result<Response, WebError> {
    let offset = app.config.utc_offset_min;
    let (Some(from), Some(to)) = (parse_day(&range.from, offset), parse_day(&range.to, offset)) else {
        return Err(WebError::invalid(&m.session, "export", t(m.session.lang, "err_date")));
    };
    let (from_ms, to_ms) = (from * 1000, (to + 86_400) * 1000);
    let reason = range.reason.trim().chars().take(200).collect::<String>();
    if reason.is_empty() && m.session.role == AccountRole::Police {
        return Err(WebError::invalid(&m.session, "export", t(m.session.lang, "reason_needed")));
    }
    let scope = scope(&m);
    let gates = scope.as_ref().map_or(String::new(), |g| g.join(", "));
    let detail = crate::leaves::detail::enc("entries_export", &[&range.from, &range.to, &reason, &gates]);
    record_action(&app, &m, "entries.export", detail).await;
    // A read connection of its own on its own thread: the export streams
    // from a snapshot while kiosks push, and never holds up the writer.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(8);
    let (db, community, lang) = (app.db.clone(), m.community.clone(), m.session.lang);
    let slot = db.reader().await?;
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
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"entries-{}-{}.csv\"", range.from, range.to)),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
