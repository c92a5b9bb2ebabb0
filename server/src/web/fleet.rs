//! The Fleet page: every gate accounted for, on a phone. A district account
//! sees every community's gates; a community's account (whose role reads
//! gates) sees its own. Down gates first, then by community and gate; a
//! tap sorts by version, clock or queue.

use axum::extract::{Query, State};
use maud::{html, Markup};
use shoumen_protocol::time::TimeTrust;

use super::{fmt_ms, frame, t, Lang, Session, WebError};
use crate::db::now_ms;
use crate::leaves::roles::Perm;
use crate::records::devices::{self, FleetKiosk};
use crate::AppState;

/// A gate silent this long is down (a running kiosk beats every 30 s).
pub const DOWN_AFTER_MS: i64 = 180_000;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new().get("/fleet", Access::Account, page)
}

#[derive(serde::Deserialize)]
pub struct Sort {
    #[serde(default)]
    sort: String,
}

/// The orders a reader can pick: (query value, word key).
const SORTS: [(&str, &str); 4] =
    [("", "fleet_sort_down"), ("version", "version"), ("clock", "fleet_clock"), ("queue", "queue")];

pub async fn page(State(app): State<AppState>, session: Session, Query(q): Query<Sort>) -> Result<Markup, WebError> {
    if session.community.is_some() && !session.role.may(Perm::ReadGates) {
        return Err(WebError::not_found(&session));
    }
    let lang = session.lang;
    let community = session.community.clone();
    let mut rows = app.db.call(move |conn| devices::fleet(conn, community.as_deref())).await?;
    let now = now_ms();
    let down = |k: &FleetKiosk| k.last_seen_ms.is_none_or(|t| now - t > DOWN_AFTER_MS);
    match q.sort.as_str() {
        "version" => rows.sort_by(|a, b| a.version.cmp(&b.version)),
        "clock" => rows.sort_by_key(|k| (k.time_trust != Some(TimeTrust::Uncertain), -k.skew_ms.unwrap_or(0).abs())),
        "queue" => rows.sort_by_key(|k| -k.queue.unwrap_or(0)),
        _ => rows.sort_by_key(|k| !down(k)),
    }
    let down_count = rows.iter().filter(|k| down(k)).count();
    let uncertain = rows.iter().filter(|k| k.time_trust == Some(TimeTrust::Uncertain)).count();
    let waiting: i64 = rows.iter().filter_map(|k| k.queue).sum();
    let district = session.community.is_none();
    let offset = app.config.utc_offset_min;
    let body = html! {
        p {
            span.stat { b { (rows.len() - down_count) } (t(lang, "fleet_up")) }
            span.stat { b.bad[down_count > 0] { (down_count) } (t(lang, "fleet_down")) }
            span.stat { b.bad[uncertain > 0] { (uncertain) } (t(lang, "time_uncertain")) }
            span.stat { b { (waiting) } (t(lang, "fleet_waiting")) }
        }
        p.sorts {
            (t(lang, "fleet_sort")) " "
            @for (key, word) in SORTS {
                @if key == q.sort { b.sort { (t(lang, word)) } }
                @else { a.sort href={ "/fleet" @if !key.is_empty() { "?sort=" (key) } } { (t(lang, word)) } }
            }
        }
        ul.fleet {
            @for k in &rows { (gate(lang, k, down(k), district, offset)) }
        }
    };
    Ok(frame(lang, t(lang, "fleet"), Some(&session), body))
}

/// One gate: a card of two lines, so a phone needs no sideways scroll.
fn gate(lang: Lang, k: &FleetKiosk, down: bool, district: bool, offset: i32) -> Markup {
    html! {
        li.down[down] {
            b { @if district { (k.community) " · " } (k.gate) }
            " "
            @if down {
                span.bad {
                    (t(lang, "fleet_down"))
                    @if let Some(at) = k.last_seen_ms { " " (t(lang, "fleet_since")) " " (fmt_ms(at, offset)) }
                    @else { " · " (t(lang, "never")) }
                }
            } @else { span.ok { (t(lang, "fleet_up")) } }
            br;
            small {
                (t(lang, "version")) " " (k.version.as_deref().unwrap_or("—"))
                " · " (t(lang, "fleet_clock")) " "
                @match k.time_trust {
                    Some(TimeTrust::Server) => span.ok { (t(lang, "time_server")) },
                    Some(TimeTrust::Ntp) => span { (t(lang, "time_ntp")) },
                    Some(TimeTrust::Uncertain) => span.bad { (t(lang, "time_uncertain")) },
                    None => "—",
                }
                @if let Some(s) = k.skew_ms { " (" (format!("{:+.0} s", s as f64 / 1000.0)) ")" }
                " · " (t(lang, "queue")) " "
                @match k.queue { Some(q) if q > 0 => span.bad { (q) }, Some(q) => (q), None => "—" }
            }
        }
    }
}
