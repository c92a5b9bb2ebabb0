//! The district's overview: every community's kiosks, alerts and home
//! quarantines now, and the summary of a day. For district accounts only;
//! a community's account gets 404, as for any record not its own.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::reports::Summary;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new().get("/district", Access::Account, page)
}

#[derive(serde::Deserialize)]
pub struct Day {
    #[serde(default)]
    day: String,
}

pub async fn page(State(app): State<AppState>, session: Session, Query(q): Query<Day>) -> Response {
    if session.community.is_some() {
        return not_found(&session);
    }
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let day = if q.day.is_empty() { today } else { q.day.clone() };
    let Some(from_s) = parse_day(&day, offset) else {
        return message(&session, "district", "dates must look like 2026-11-29", StatusCode::BAD_REQUEST);
    };
    let (from_ms, to_ms) = (from_s * 1000, (from_s + 86_400) * 1000);
    let rows = match app.db.call(move |conn| crate::reports::district(conn, from_ms, to_ms, now_ms())).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let mut body = format!(
        "<form class=card method=get action=/district><label>{day_l}<input type=date name=day value=\"{day}\"></label><button>{show}</button></form>\
<div class=scroll><table><tr><th>{c}</th><th>{k}</th><th>{e}</th><th>{i}</th><th>{o}</th><th>{r}</th><th>{f}</th><th>{a}</th><th>{q}</th><th>{res}</th></tr>",
        day_l = t(lang, "day"),
        day = esc(&day),
        show = t(lang, "show"),
        c = t(lang, "community"),
        k = t(lang, "kiosks"),
        e = t(lang, "entries"),
        i = t(lang, "allowed_in"),
        o = t(lang, "allowed_out"),
        r = t(lang, "refused"),
        f = t(lang, "fever"),
        a = t(lang, "open_alerts"),
        q = t(lang, "units_quarantined"),
        res = t(lang, "residents"),
    );
    let mut total = Summary { community: t(lang, "totals").into(), ..Summary::default() };
    for s in &rows {
        body.push_str(&row(lang, s, false));
        total.kiosks += s.kiosks;
        total.kiosks_silent += s.kiosks_silent;
        total.entries += s.entries;
        total.allowed_in += s.allowed_in;
        total.allowed_out += s.allowed_out;
        total.refused += s.refused;
        total.fever += s.fever;
        total.open_alerts += s.open_alerts;
        total.units_quarantined += s.units_quarantined;
        total.residents += s.residents;
    }
    body.push_str(&row(lang, &total, true));
    body.push_str("</table></div>");
    layout(lang, t(lang, "district"), Some(&session), &body).into_response()
}

fn row(lang: Lang, s: &Summary, total: bool) -> String {
    let bad = |n: i64| if n > 0 { format!("<span class=bad>{n}</span>") } else { n.to_string() };
    let silent = if s.kiosks_silent > 0 {
        format!(" <span class=bad>({} {})</span>", s.kiosks_silent, t(lang, "kiosks_silent"))
    } else {
        String::new()
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<tr{cls}><td>{name}</td><td>{k}{silent}</td><td>{e}</td><td>{i}</td><td>{o}</td><td>{r}</td><td>{f}</td><td>{a}</td><td>{q}</td><td>{res}</td></tr>",
        cls = if total { " class=total style=\"font-weight:600\"" } else { "" },
        name = esc(&s.community),
        k = s.kiosks,
        e = s.entries,
        i = s.allowed_in,
        o = s.allowed_out,
        r = s.refused,
        f = bad(s.fever),
        a = bad(s.open_alerts),
        q = s.units_quarantined,
        res = s.residents,
    );
    out
}
