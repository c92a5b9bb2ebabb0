//! The Out now page: who is outside the compound now, per unit and in
//! total, and the visitors still inside after their pass ended.

use axum::extract::State;
use maud::{html, Markup};

use super::{fmt_ms, frame, role_text, t, Lang, Member, WebError};
use crate::db::now_ms;
use crate::records::devices;
use crate::reports::{self, OutRow};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/outside", "outside").get("/outside", Perm::ReadCompound, page)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let (outside, gates) = app
        .db
        .call(move |conn| Ok((reports::outside(conn, &community, now_ms())?, devices::list(conn, &community)?)))
        .await?;
    // Exits through a button are not recorded per pass.
    let unsure = gates.iter().any(|g| !g.revoked && g.layout.as_ref().is_some_and(|l| !l.checks_exit()));
    let body = html! {
        p { (t(lang, "outside_hint")) }
        div.stat #outside-total { (t(lang, "outside_total")) b { (outside.out.len()) } }
        @if unsure { p.msg { (t(lang, "outside_unsure")) } }
        @if !outside.per_unit.is_empty() {
            div.scroll {
                table #per-unit {
                    tr { th { (t(lang, "unit")) } th { (t(lang, "people")) } }
                    @for (unit, n) in &outside.per_unit { tr { td { (unit) } td { (n) } } }
                }
            }
        }
        (people(lang, "outside", "left_at", &outside.out, offset))
        @if !outside.overstaying.is_empty() {
            h2 { (t(lang, "overstaying")) }
            (people(lang, "overstaying", "time", &outside.overstaying, offset))
        }
    };
    Ok(frame(lang, t(lang, "outside"), Some(&m.session), body))
}

/// A table of passes with the time of their last passage.
fn people(lang: Lang, id: &str, time_key: &str, rows: &[OutRow], offset: i32) -> Markup {
    html! {
        @if rows.is_empty() {
            p id=(id) { (t(lang, "no_rows")) }
        } @else {
            div.scroll {
                table id=(id) {
                    tr {
                        th { (t(lang, "unit")) } th { (t(lang, "name")) } th { (t(lang, "role")) }
                        th { (t(lang, time_key)) } th { (t(lang, "gate")) }
                    }
                    @for o in rows {
                        tr data-pass=(o.pass_id) {
                            td { (o.unit) } td { (o.name.as_deref().unwrap_or("")) } td { (role_text(lang, &o.role)) }
                            td { (fmt_ms(o.at_ms, offset)) } td { (o.gate.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}
