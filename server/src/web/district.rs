//! The district's overview: every community's kiosks, alerts and home
//! quarantines now, and the summary of a day. For district accounts only;
//! a community's account gets 404, as for any record not its own.

use axum::extract::{Query, State};
use maud::{html, Markup};

use super::{fmt_ms, frame, parse_day, t, Lang, Session, WebError};
use crate::db::now_ms;
use crate::reports::Summary;
use crate::AppState;

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

pub async fn page(State(app): State<AppState>, session: Session, Query(q): Query<Day>) -> Result<Markup, WebError> {
    if session.community.is_some() {
        return Err(WebError::not_found(&session));
    }
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let day = if q.day.is_empty() { today } else { q.day.clone() };
    let Some(from_s) = parse_day(&day, offset) else {
        return Err(WebError::invalid(&session, "district", t(session.lang, "err_date")));
    };
    let (from_ms, to_ms) = (from_s * 1000, (from_s + 86_400) * 1000);
    let rows = app.db.call(move |conn| crate::reports::district(conn, from_ms, to_ms, now_ms())).await?;
    let (keys, witnessed) = app.db.call(logs).await?;
    let mut total = Summary { community: t(lang, "totals").into(), ..Summary::default() };
    for s in &rows {
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
    let heads = [
        "community",
        "kiosks",
        "entries",
        "allowed_in",
        "allowed_out",
        "refused",
        "fever",
        "open_alerts",
        "units_quarantined",
        "residents",
    ];
    let body = html! {
        form.card method="get" action="/district" {
            label { (t(lang, "day")) input type="date" name="day" value=(day); }
            button { (t(lang, "show")) }
        }
        div.scroll {
            table {
                tr { @for h in heads { th { (t(lang, h)) } } }
                @for s in &rows { (row(lang, s, false)) }
                (row(lang, &total, true))
            }
        }
        h2 { (t(lang, "log_fingerprint")) }
        table #fingerprints {
            tr { th { (t(lang, "community")) } th { (t(lang, "log_fingerprint")) } }
            @for (id, fingerprint) in &keys { tr { td { (id) } td { code { (fingerprint) } } } }
        }
        (witnesses_table(lang, &witnessed))
    };
    Ok(frame(lang, t(lang, "district"), Some(&session), body))
}

/// Each log's key fingerprint, for the street office to hold beside the
/// posters and receipts, and who witnesses each log and how far (issue 29).
type Logs = (Vec<(String, String)>, Vec<(String, crate::records::witnesses::Witness)>);

fn logs(conn: &mut dyn crate::db::Conn) -> Result<Logs, crate::db::DbError> {
    let (mut keys, mut witnessed) = (Vec::new(), Vec::new());
    for id in crate::db::communities(conn)? {
        let key = crate::records::evidence::verifier_key(conn, &id)?;
        keys.push((id.clone(), shoumen_protocol::evidence::fingerprint(&key)));
        for w in crate::records::witnesses::list(conn, &id)? {
            witnessed.push((id.clone(), w));
        }
    }
    Ok((keys, witnessed))
}

fn witnesses_table(lang: Lang, witnessed: &[(String, crate::records::witnesses::Witness)]) -> Markup {
    html! {
        @if !witnessed.is_empty() {
            h2 { (t(lang, "witnesses_title")) }
            div.scroll {
                table #witnesses {
                    tr {
                        th { (t(lang, "community")) } th { (t(lang, "witness")) } th { (t(lang, "witness_fingerprint")) }
                        th { (t(lang, "witness_cosigned_to")) } th { (t(lang, "witness_problem")) }
                    }
                    @for (id, w) in witnessed {
                        tr {
                            td { (id) }
                            td { code { (w.name) } @if w.required { " · " b { (t(lang, "witness_required")) } } }
                            td { code { (shoumen_protocol::evidence::fingerprint(&w.vkey)) } }
                            td { (w.known_size) }
                            td { @if let Some(e) = &w.last_error { span.bad { (e) } } }
                        }
                    }
                }
            }
        }
    }
}

fn row(lang: Lang, s: &Summary, total: bool) -> Markup {
    let bad = |n: i64| html! { @if n > 0 { span.bad { (n) } } @else { (n) } };
    html! {
        tr class=[total.then_some("total")] style=[total.then_some("font-weight:600")] {
            td { (s.community) }
            td {
                (s.kiosks)
                @if s.kiosks_silent > 0 { " " span.bad { "(" (s.kiosks_silent) " " (t(lang, "kiosks_silent")) ")" } }
            }
            td { (s.entries) } td { (s.allowed_in) } td { (s.allowed_out) } td { (s.refused) }
            td { (bad(s.fever)) } td { (bad(s.open_alerts)) } td { (s.units_quarantined) } td { (s.residents) }
        }
    }
}
